"""Turn filesystem run commands into shell steps, and drop the ones with no effect."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from cognix.resolve._runsteps_fetch import fold_chmod
from cognix.resolve._runsteps_model import Refused, ShellStep, Step, other_program, relative_path
from cognix.resolve._runsteps_shell import check_project_reads, program_name, resolve, word_set

FILE_PROGRAMS = frozenset({"mkdir", "ln", "chmod", "cp", "mv", "rm", "touch", "sed"})

# Options that take a value, per program, so that the value is not read as a path.
_VALUED = {
    "mkdir": frozenset({"-m", "--mode"}),
    "cp": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "mv": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "ln": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "touch": frozenset({"-d", "--date", "-t", "-r", "--reference"}),
    "sed": frozenset({"-e", "--expression", "-f", "--file", "-l", "--line-length"}),
}
_CACHES = word_set(
    "/var/lib/apt/lists /var/cache/apt /var/cache/apt/archives /root/.cache/pip /root/.cache/uv"
)
_IN_PLACE = re.compile(r"-[nrEsuz]*i\S*|--in-place(=\S*)?")
_WILDCARD = re.compile(r"[*?\[]")


def plan_files(step: Step) -> None:
    """Plan `mkdir`, `ln`, `chmod`, `cp`, `mv`, `rm`, `touch` or `sed -i` as a shell step."""
    program, args = program_name(step.argv), step.argv[1:]
    if program == "rm" and _cleans_caches(args):
        step.drop("is not needed: no apt or pip caches go into the image")
        return
    if program == "sed" and not any(_IN_PLACE.fullmatch(arg) for arg in args):
        raise other_program(step)
    paths = _paths(program, args)
    check_project_reads(step, _read_paths(program, paths))
    _check_paths(step, paths)
    if program == "chmod":
        _plan_chmod(step, paths)
    else:
        step.plan.shell_steps.append(ShellStep(step.argv, step.location, step.cwd))


def plan_echo(step: Step) -> None:
    """Plan `echo …`/`printf …` into a file as a shell step; drop it otherwise."""
    if step.redirect is None:
        step.drop("only prints, so it has no effect on the image")
        return
    operator, target = step.redirect
    path = resolve(target, step.cwd)
    if path is None:
        raise relative_path(step, target)
    shell_step = ShellStep(step.argv, step.location, step.cwd, path, operator == ">>")
    step.plan.shell_steps.append(shell_step)


def drop_prints(step: Step) -> None:
    """Drop a command that only prints or checks something."""
    step.drop("only prints, so it has no effect on the image")


def drop_ldconfig(step: Step) -> None:
    """Drop `ldconfig`: Nix links native libraries by their store paths."""
    step.drop("is not needed: cognix links native libraries by path")


def drop_variables(step: Step) -> None:
    """Drop `export`/`unset`: a variable does not outlast its run command."""
    step.drop("only sets shell variables, which do not outlast the run command")


def _plan_chmod(step: Step, paths: list[str]) -> None:
    args = step.argv[1:]
    if any(arg.startswith("-") for arg in args) or not args:
        step.plan.shell_steps.append(ShellStep(step.argv, step.location, step.cwd))
        return
    rest = fold_chmod(step, args[0], paths)
    if rest:
        argv = (step.argv[0], args[0], *rest)
        step.plan.shell_steps.append(ShellStep(argv, step.location, step.cwd))


def _operands(args: Sequence[str], valued: frozenset[str]) -> Iterator[str]:
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            yield from rest
        elif not arg.startswith("-") or arg == "-":
            yield arg
        elif arg in valued:
            next(rest, None)


def _paths(program: str, args: Sequence[str]) -> list[str]:
    operands = list(_operands(args, _VALUED.get(program, frozenset())))
    if program == "chmod":
        return operands[1:]
    if program == "sed" and not any(arg in ("-e", "--expression", "-f", "--file") for arg in args):
        return operands[1:]
    if program == "ln" and _symbolic(args) and len(operands) >= 2:
        # A symlink's target is stored as text; only the link itself is a path here.
        return operands[1:]
    return operands


def _read_paths(program: str, paths: list[str]) -> list[str]:
    if program in ("cp", "mv", "ln"):
        return paths[:-1]
    if program in ("sed", "chmod"):
        return paths
    return []


def _check_paths(step: Step, paths: Sequence[str]) -> None:
    for path in paths:
        if _WILDCARD.search(path):
            message = f"{step.shown} uses a wildcard in `{path}`, which cognix does not expand"
            raise Refused(message, "name each file, or do this work in setup()")
        if resolve(path, step.cwd) is None:
            raise relative_path(step, path)


def _symbolic(args: Sequence[str]) -> bool:
    short = (arg for arg in args if arg.startswith("-") and not arg.startswith("--"))
    return "--symbolic" in args or any("s" in arg for arg in short)


def _cleans_caches(args: Sequence[str]) -> bool:
    operands = list(_operands(args, frozenset()))
    cleaned = {operand.rstrip("*").rstrip("/") for operand in operands}
    return bool(cleaned) and cleaned <= _CACHES
