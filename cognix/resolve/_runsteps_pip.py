"""Turn `pip install` (and `python -m pip`, `uv pip`) run commands into requirements."""

from __future__ import annotations

import re
from collections.abc import Sequence

from packaging.requirements import InvalidRequirement, Requirement

from cognix.resolve._runsteps_model import Refused, Step, other_program, project_read
from cognix.resolve._runsteps_shell import (
    Options,
    check_project_reads,
    path_candidates,
    project_path,
    scan_options,
    word_set,
)

PIP = re.compile(r"pip(\d+(\.\d+)?)?")

# Options whose effect the lock keeps, in their requirements-file spelling.
_KEPT = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
}
_READS_FILE = frozenset({"-r", "--requirement", "-c", "--constraint"})
_EDITABLE = frozenset({"-e", "--editable"})
# Options that change how pip works, not what the environment ends up holding.
_IGNORED_FLAGS = word_set(
    "-U --upgrade -q --quiet -v --verbose -I --ignore-installed --no-cache-dir --no-cache"
    " --force-reinstall --no-warn-script-location --disable-pip-version-check"
    " --break-system-packages --no-input --user --no-build-isolation --prefer-binary --system"
    " --no-color --compile"
)
_IGNORED_VALUED = word_set(
    "--upgrade-strategy --progress-bar --root-user-action --cache-dir --timeout --retries"
    " --trusted-host --index-strategy"
)
_INSTALL = Options(
    flags=_IGNORED_FLAGS | {"--pre", "--no-deps"},
    valued=frozenset(_KEPT) | _READS_FILE | _EDITABLE | _IGNORED_VALUED,
    program="pip",
)
_VCS = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def plan_pip(step: Step, args: Sequence[str]) -> None:
    """Plan `pip ARGS…`: install adds requirements, `cache purge` is dropped."""
    args = list(args)
    while args and args[0] in _IGNORED_FLAGS:
        args.pop(0)
    if args[:1] == ["install"]:
        _plan_install(step, args[1:])
    elif args[:1] == ["cache"] and args[1:2] in (["purge"], ["remove"]):
        step.drop("is not needed: no pip cache goes into the image")
    else:
        check_project_reads(step, list(path_candidates(args)))
        raise other_program(step)


def plan_python(step: Step) -> None:
    """Plan `python …`: `-m pip` installs, anything else is refused."""
    module = step.argv[2] if step.argv[1:2] == ("-m",) and len(step.argv) > 2 else None
    if module is not None and PIP.fullmatch(module):
        plan_pip(step, step.argv[3:])
    elif module == "ensurepip":
        step.drop("is not needed: the Python environment is built from the lock")
    else:
        plan_interpreter(step)


def plan_uv(step: Step) -> None:
    """Plan `uv pip install …` like pip; refuse other uv commands."""
    if step.argv[1:2] != ("pip",):
        raise other_program(step)
    plan_pip(step, step.argv[2:])


def plan_interpreter(step: Step) -> None:
    """Refuse a script run by python or a shell, naming a project script as such."""
    for arg in step.argv[1:]:
        if arg in ("-c", "-m"):
            break
        if arg.startswith("-"):
            continue
        if step.cwd is None and not arg.startswith("/"):
            raise project_read(step, arg)
        break
    check_project_reads(step, list(path_candidates(step.argv[1:])))
    raise other_program(step)


def _plan_install(step: Step, args: Sequence[str]) -> None:
    options, operands = scan_options(step, args, _INSTALL)
    lines: list[str] = []
    for name, value in options:
        if name in _READS_FILE:
            raise _reads_file(step, value or "")
        if name == "--no-deps":
            raise _no_deps(step)
        if name in _EDITABLE:
            operands.append(value or "")
        elif name in _KEPT:
            lines.append(f"{_KEPT[name]} {value}")
        elif name == "--pre":
            lines.append(name)
    requirements = [text for raw in operands if (text := _requirement(step, raw))]
    if not requirements and not lines:
        step.drop("names no package to install")
    step.plan.pip_options += [(step.location, line) for line in lines]
    step.plan.python_requirements += [(step.location, text) for text in requirements]


def _requirement(step: Step, raw: str) -> str | None:
    # A folded YAML line ending in `\` leaves an escaped space before the next word.
    text = raw.strip()
    lowered = text.lower()
    if not text:
        return None
    if lowered.startswith((*_VCS, "http://", "https://")):
        if lowered.partition("://")[0].endswith("+file"):
            raise _local(step, text)
        return text
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        requirement = None
    if requirement is not None and requirement.url:
        if requirement.url.lower().startswith("file:"):
            raise _local(step, text)
        return text
    # A bare `pkg-1.0.whl` is a valid project name too, but pip reads it as a file.
    if requirement is not None and not lowered.endswith(_ARCHIVES):
        return text
    if "/" in text or text.startswith((".", "~")) or lowered.endswith(_ARCHIVES):
        raise _local(step, text)
    message = f"{step.shown} names `{text}`, which is not a valid Python requirement"
    raise Refused(message, "write it as a PEP 508 requirement, e.g. `name>=1.0`")


def _local(step: Step, text: str) -> Refused:
    path = text.partition("[")[0]
    if step.cwd is None and project_path(path, step.project_dir):
        if path.lower().endswith(_ARCHIVES):
            hint = "list the file in the requirements file that build.python_requirements names"
        else:
            hint = (
                "list the project's dependencies in build.python_requirements; "
                "the project itself is copied to /src"
            )
        return project_read(step, path, hint)
    message = f"{step.shown} installs `{text}` from a local path, which the lock cannot pin"
    hint = "name the package as a requirement from an index or as `name @ git+URL@commit`"
    return Refused(message, hint)


def _reads_file(step: Step, path: str) -> Refused:
    hint = "name the file in build.python_requirements instead"
    if step.cwd is None and not path.startswith("/"):
        return project_read(step, path, hint)
    message = f"{step.shown} reads requirements from `{path}`, which cognix cannot see"
    return Refused(message, hint)


def _no_deps(step: Step) -> Refused:
    message = (
        f"{step.shown} uses `--no-deps`, but cognix resolves every requirement "
        "together with its dependencies"
    )
    hint = "list the package in build.python_requirements, where its dependencies are resolved"
    return Refused(message, hint)
