"""Classify cog.yaml run commands into typed build steps, without network.

Each run item is read as a POSIX shell would (`shlex`), split on `&&` and `;`, and every
simple command becomes one of: Python requirements (`pip install`), apt packages
(`apt-get install`), a download (`curl`, `wget`, `pget`; hashed later, at lock time), a
filesystem shell step (`mkdir`, `ln`, `chmod`, `cp`, `mv`, `rm`, `touch`, `echo … >`,
`sed -i`), or a dropped command with the reason it has no effect. Anything else is
refused, and every refusal of every item is raised together as one `ConfigError`:

    plan = plan_run_steps([RunItem(Location(path, 7, 7), "pip install torch")], project)
    plan.python_requirements  # ((Location(path, 7, 7), "torch"),)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from cognix.config.settings import RunReplacement
from cognix.errors import ConfigError, Problem
from cognix.resolve._runsteps_fetch import plan_curl, plan_pget, plan_wget
from cognix.resolve._runsteps_files import (
    FILE_PROGRAMS,
    drop_ldconfig,
    drop_prints,
    drop_variables,
    plan_echo,
    plan_files,
)
from cognix.resolve._runsteps_model import (
    Download,
    PlanBuilder,
    Refused,
    RunItem,
    RunPlan,
    ShellStep,
    Step,
    other_program,
    quote,
    relative_path,
)
from cognix.resolve._runsteps_pip import PIP, plan_interpreter, plan_pip, plan_python, plan_uv
from cognix.resolve._runsteps_shell import (
    HOME,
    PYTHON,
    SHELLS,
    check_project_reads,
    check_structure,
    path_candidates,
    program_name,
    program_words,
    resolve,
    show,
    split_commands,
    tokenize,
)
from cognix.resolve._runsteps_system import plan_apt, refuse_conda, refuse_repository

__all__ = ["Download", "RunItem", "RunPlan", "ShellStep", "plan_run_steps"]

Handler = Callable[[Step], None]

_HANDLERS: dict[str, Handler] = {
    "apt-get": plan_apt,
    "apt": plan_apt,
    "add-apt-repository": refuse_repository,
    "apt-add-repository": refuse_repository,
    "apt-key": refuse_repository,
    "conda": refuse_conda,
    "mamba": refuse_conda,
    "micromamba": refuse_conda,
    "curl": plan_curl,
    "wget": plan_wget,
    "pget": plan_pget,
    "uv": plan_uv,
    "echo": plan_echo,
    "printf": plan_echo,
    "ls": drop_prints,
    "pwd": drop_prints,
    "true": drop_prints,
    ":": drop_prints,
    "ldconfig": drop_ldconfig,
    "export": drop_variables,
    "unset": drop_variables,
    "source": plan_interpreter,
    ".": plan_interpreter,
    **dict.fromkeys(SHELLS, plan_interpreter),
    **dict.fromkeys(FILE_PROGRAMS, plan_files),
}
# Only these programs' output can be sent to a file with `>`.
_REDIRECTABLE = frozenset({"echo", "printf", "curl"})


def plan_run_steps(
    items: Sequence[RunItem],
    project_dir: Path,
    replacements: Mapping[int, RunReplacement] | None = None,
) -> RunPlan:
    """Return the build steps of run items, or raise `ConfigError` with every refusal.

    `items` are `build.run` then `pre_install`, in Cog's order; item N (from 1) is the
    one a cognix.toml `[run.N]` table replaces, and `replacements` holds those tables:
    a replaced item is not planned at all. `project_dir` is only looked at to tell
    whether a command reads a project file.
    """
    plan = PlanBuilder()
    for index, item in enumerate(items, start=1):
        replacement = (replacements or {}).get(index)
        if replacement is not None:
            _replace(plan, item, index, replacement)
            continue
        base = Step(plan, item.location, index, project_dir, quote(" ".join(item.command.split())))
        try:
            _plan_item(base, item)
        except Refused as refusal:
            plan.problems.append(Problem(item.location, refusal.message, refusal.hint))
    if plan.problems:
        raise ConfigError(plan.problems)
    return plan.freeze()


def _replace(plan: PlanBuilder, item: RunItem, index: int, replacement: RunReplacement) -> None:
    """Put what cognix.toml `[run.N]` says in place of run item N."""
    download = replacement.download
    if download is not None:
        hashed = Download(download.url, download.dest, download.mode, item.location)
        plan.downloads.append(replace(hashed, sha256=download.sha256))
    for attribute in replacement.nixpkgs or ():
        plan.nixpkgs.append((item.location, attribute))
    if replacement.skip:
        plan.dropped.append((item.location, f"is skipped, as cognix.toml [run.{index}] says"))


def _plan_item(base: Step, item: RunItem) -> None:
    if "secret" in item.mount_types:
        raise _secret(base)
    lines = item.command.strip().splitlines()
    if len(lines) > 1:
        shown = quote(lines[0].strip() + " …")
        message = f"{shown} spans several lines, which Cog does not allow in a run command"
        raise Refused(message, "join the lines with `&&`, or split the item")
    try:
        tokens = tokenize(item.command)
    except ValueError as error:
        message = f"{base.shown} cannot be read as a shell command ({str(error).lower()})"
        raise Refused(message, "check its quotes and backslashes") from None
    if not tokens:
        base.plan.dropped.append((base.location, "the run command is empty, so it does nothing"))
    cwd: str | None = None
    for command in split_commands(tokens):
        step = replace(base, shown=show(command), cwd=cwd)
        try:
            cwd = _plan_command(step, command)
        except Refused as refusal:
            base.plan.problems.append(Problem(base.location, refusal.message, refusal.hint))


def _plan_command(step: Step, tokens: list[str]) -> str | None:
    """Plan one simple command; return the directory the next command starts in."""
    words, redirect = check_structure(step, tokens)
    step = replace(step, argv=tuple(program_words(words)), redirect=redirect)
    program = program_name(step.argv)
    if not step.argv:
        step.drop("only sets shell variables, which do not outlast the run command")
    elif program == "cd":
        return _change_directory(step)
    else:
        _handler(step, program)(step)
    return step.cwd


def _handler(step: Step, program: str) -> Handler:
    if PIP.fullmatch(program):
        handler: Handler = _pip_program
    elif PYTHON.fullmatch(program):
        handler = plan_python
    elif program == "git":
        handler = _plan_git
    else:
        handler = _HANDLERS.get(program, _other_program)
    redirected = step.redirect is not None and program not in _REDIRECTABLE
    if redirected and handler is not _other_program:
        message = f"{step.shown} sends the output of `{program}` to a file"
        raise Refused(message, f"write plain commands, or replace this item in {step.table}")
    return handler


def _pip_program(step: Step) -> None:
    plan_pip(step, step.argv[1:])


def _other_program(step: Step) -> NoReturn:
    check_project_reads(step, list(path_candidates(step.argv[1:])))
    raise other_program(step)


def _plan_git(step: Step) -> None:
    if "clone" not in step.argv[1:]:
        _other_program(step)
    message = f"{step.shown} clones a git repository, whose content cognix cannot pin by hash"
    hint = (
        "install Python code from git as a requirement (`name @ git+URL@commit`), "
        f"describe an archive as a download with a sha256 in {step.table}, or clone in setup()"
    )
    raise Refused(message, hint)


def _change_directory(step: Step) -> str | None:
    args = step.argv[1:]
    if len(args) > 1:
        raise other_program(step)
    target = args[0] if args else HOME
    directory = resolve(target, step.cwd)
    if directory is None:
        raise relative_path(step, target)
    return directory


def _secret(step: Step) -> Refused:
    message = (
        "a secret mount cannot be reproduced without putting the secret into the "
        f"build's inputs, so {step.shown} is refused"
    )
    hint = (
        "put a private package index in cognix.toml (its credentials come from the "
        "environment at lock time), or do this work in setup()"
    )
    return Refused(message, hint)
