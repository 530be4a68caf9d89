"""Read run commands as a POSIX shell would: words, command lists, options and paths."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cognix.resolve._runsteps_model import Refused, Step, project_read, quote

# Cog runs every build step as root, so `~` is root's home.
HOME = "/root"
SHELLS = frozenset({"sh", "bash", "dash", "zsh"})
PYTHON = re.compile(r"python(\d+(\.\d+)?)?")

_OPERATOR_CHARS = frozenset("();<>|&")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PLAIN_WORD = re.compile(r"[\w@%+=:,./~*?\[\]^#-]+")


def tokenize(command: str) -> list[str]:
    """Split a command into words and operators; raise ValueError on a broken quote."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    # shlex ends a word at a `#` inside it, where a shell does not (`git+URL#egg=x`), so
    # comments are left to `check_structure`, which refuses a word that starts with `#`.
    lexer.commenters = ""
    return list(lexer)


def is_operator(token: str) -> bool:
    """Tell whether a token is a shell operator such as `&&`, `|` or `>`."""
    return bool(token) and all(char in _OPERATOR_CHARS for char in token)


def split_commands(tokens: Sequence[str]) -> list[list[str]]:
    """Split tokens into the commands that `&&` and `;` separate."""
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", ";"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def show(tokens: Sequence[str]) -> str:
    """Return a command as a quoted, shortened string for messages."""
    words = (t if is_operator(t) or _PLAIN_WORD.fullmatch(t) else shlex.quote(t) for t in tokens)
    return quote(" ".join(words))


def program_words(words: Sequence[str]) -> list[str]:
    """Drop leading `NAME=value` assignments and `sudo` (builds already run as root)."""
    rest = list(words)
    while rest and _ASSIGNMENT.match(rest[0]):
        rest.pop(0)
    if rest and rest[0] == "sudo":
        rest.pop(0)
        while rest and rest[0].startswith("-"):
            rest.pop(0)
    return [expand_home(word) for word in rest]


def program_name(argv: Sequence[str]) -> str:
    """Return the name of the program a command starts, without its directory."""
    return posixpath.basename(argv[0]) if argv else ""


def check_structure(step: Step, tokens: Sequence[str]) -> tuple[list[str], tuple[str, str] | None]:
    """Return a command's words and trailing redirect, refusing other shell syntax."""
    words = [token for token in tokens if not is_operator(token)]
    rewrite = f"write plain commands joined by `&&`, or replace this item in {step.table}"
    if any(word.startswith("#") for word in words):
        message = f"{step.shown} contains a shell comment, which cognix does not read"
        raise Refused(message, "move the comment to a YAML comment line of its own")
    if any("$" in word or "`" in word for word in words):
        message = f"{step.shown} uses shell expansion (`$` or backquotes), which cognix cannot do"
        raise Refused(message, f"write the value out, or replace this item in {step.table}")
    if "||" in tokens:
        message = f"{step.shown} uses `||`, and a build step cannot express a fallback"
        hint = f"keep only the command that should run, or replace this item in {step.table}"
        raise Refused(message, hint)
    if "|" in tokens:
        raise _pipeline(step, tokens)
    body, redirect = _split_redirect(tokens)
    for token in filter(is_operator, body):
        message = f"{step.shown} uses `{token}`, which cognix cannot turn into a build step"
        raise Refused(message, rewrite)
    if redirect == (">", "/dev/null"):
        redirect = None
    return body, redirect


def _split_redirect(tokens: Sequence[str]) -> tuple[list[str], tuple[str, str] | None]:
    if len(tokens) < 3 or tokens[-2] not in (">", ">>") or is_operator(tokens[-1]):
        return list(tokens), None
    # shlex reads `2>/dev/null` as `2 > /dev/null`; a number before `>` may name a stream,
    # so it is accepted only where either reading gives the same result.
    if len(tokens) >= 4 and tokens[-3].isdigit():
        return (list(tokens[:-3]), None) if tokens[-1] == "/dev/null" else (list(tokens), None)
    return list(tokens[:-2]), (tokens[-2], expand_home(tokens[-1]))


def _pipeline(step: Step, tokens: Sequence[str]) -> Refused:
    bars = [index for index, token in enumerate(tokens) if token == "|"]
    first = program_name(program_words(tokens[: bars[0]]))
    last = program_name(program_words(tokens[bars[-1] + 1 :]))
    if first in ("curl", "wget") and (last in SHELLS or PYTHON.fullmatch(last)):
        message = f"{step.shown} runs a script fetched from the network, which is not reproducible"
        hint = (
            f"replace this item in {step.table} with the nixpkgs attributes that provide "
            "the tool, or do this work in setup()"
        )
        return Refused(message, hint)
    message = f"{step.shown} pipes one program into another, which cognix cannot run"
    return Refused(message, f"do this work in setup(), or replace this item in {step.table}")


def expand_home(word: str) -> str:
    """Expand a leading `~` the way the shell does for root."""
    if word == "~" or word.startswith("~/"):
        return HOME + word[1:]
    return word


def resolve(path: str, cwd: str | None) -> str | None:
    """Return `path` made absolute against `cwd`, or None when that cannot be known."""
    if not path.startswith("/"):
        if cwd is None:
            return None
        path = posixpath.join(cwd, path)
    return "/" + posixpath.normpath(path).lstrip("/")


def project_path(word: str, project_dir: Path) -> bool:
    """Tell whether a relative word names a file or folder inside the project."""
    if not word or word.startswith(("/", "~", "-")) or "://" in word:
        return False
    normal = posixpath.normpath(word)
    if normal == ".." or normal.startswith("../"):
        return False
    try:
        return (project_dir / normal).exists()
    except (OSError, ValueError):
        return False


def path_candidates(args: Sequence[str]) -> Iterator[str]:
    """Yield the words of `args` that could be paths, including `key=value` values."""
    for arg in args:
        if not arg.startswith("-"):
            yield arg
        if "=" in arg:
            yield arg.partition("=")[2]


def check_project_reads(step: Step, words: Sequence[str]) -> None:
    """Refuse the command when one of `words` names a project file (before any `cd`)."""
    if step.cwd is not None:
        return
    for word in words:
        if project_path(word, step.project_dir):
            raise project_read(step, word)


def word_set(text: str) -> frozenset[str]:
    """Return the set of space-separated words in `text`."""
    return frozenset(text.split())


@dataclass(frozen=True)
class Options:
    """The options a program accepts: flags, and options that take a value.

    `program` names the program in messages when the command's own name would mislead
    (`python -m pip`); by default the command's name is used.
    """

    flags: frozenset[str]
    valued: frozenset[str] = frozenset()
    program: str | None = None


def scan_options(
    step: Step, args: Sequence[str], spec: Options
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Split `args` into options (with values) and operands, refusing unknown options."""
    options: list[tuple[str, str | None]] = []
    operands: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            operands.extend(rest)
        elif not arg.startswith("-") or arg == "-":
            operands.append(arg)
        else:
            options.extend(_read_option(step, arg, rest, spec))
    return options, operands


def _read_option(
    step: Step, arg: str, rest: Iterator[str], spec: Options
) -> list[tuple[str, str | None]]:
    if arg in spec.flags:
        return [(arg, None)]
    if arg in spec.valued:
        return [(arg, _value(step, arg, rest))]
    if arg.startswith("--"):
        name, equals, value = arg.partition("=")
        if equals and name in spec.valued:
            return [(name, value)]
        raise unknown_option(step, spec, name)
    found: list[tuple[str, str | None]] = []
    for position, char in enumerate(arg[1:], start=2):
        short = "-" + char
        if short in spec.valued:
            return [*found, (short, arg[position:] or _value(step, short, rest))]
        if short not in spec.flags:
            raise unknown_option(step, spec, short)
        found.append((short, None))
    return found


def _value(step: Step, name: str, rest: Iterator[str]) -> str:
    value = next(rest, None)
    if value is None:
        message = f"{step.shown} ends where the option `{name}` needs a value"
        raise Refused(message, f"give `{name}` its value, or replace this item in {step.table}")
    return value


def unknown_option(step: Step, spec: Options, name: str) -> Refused:
    """Return the refusal for an option cognix does not know the effect of."""
    program = spec.program or program_name(step.argv)
    message = f"{step.shown} uses the {program} option `{name}`, which cognix does not support"
    hint = f"drop the option, or replace this item in {step.table}"
    return Refused(message, hint)


def last_value(options: Sequence[tuple[str, str | None]], names: set[str]) -> str | None:
    """Return the value of the last option named in `names`, or None."""
    values = [value for name, value in options if name in names]
    return values[-1] if values else None
