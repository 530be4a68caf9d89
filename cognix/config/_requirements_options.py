"""Recognise the pip options a requirements file may contain, in `--opt=value` or `--opt value`.

The table follows pip's requirements-file format reference (`REFERENCE`).
"""

from __future__ import annotations

import difflib
import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from cognix.config._requirements_text import Token
from cognix.errors import Location, Problem


class Scope(Enum):
    """Where on a line an option may appear."""

    ANYWHERE = "anywhere"
    AFTER_REQUIREMENT = "after a requirement"
    OWN_LINE = "at the start of a line"


@dataclass(frozen=True)
class OptionSpec:
    """One option pip accepts in requirements files."""

    name: str
    short: str | None
    expects: str | None
    scope: Scope = Scope.ANYWHERE


@dataclass(frozen=True)
class Option:
    """An option as written on a line, with its value when it takes one."""

    spec: OptionSpec
    value: str
    token: Token
    value_location: Location


REFERENCE = "https://pip.pypa.io/en/stable/reference/requirements-file-format/"
_URL = "a package index URL"
_NAMES = "package names separated by commas, or :all: or :none:"
OPTIONS = (
    OptionSpec("--index-url", "-i", _URL),
    OptionSpec("--extra-index-url", None, _URL),
    OptionSpec("--find-links", "-f", "a URL or a directory of packages"),
    OptionSpec("--no-index", None, None),
    OptionSpec("--pre", None, None),
    OptionSpec("--only-binary", None, _NAMES),
    OptionSpec("--no-binary", None, _NAMES),
    OptionSpec("--prefer-binary", None, None),
    OptionSpec("--trusted-host", None, "a host name"),
    OptionSpec("--use-feature", None, "a pip feature name"),
    OptionSpec("--requirement", "-r", "a requirements file path", Scope.OWN_LINE),
    OptionSpec("--constraint", "-c", "a constraints file path", Scope.OWN_LINE),
    OptionSpec("--editable", "-e", "a VCS URL such as git+https://…#egg=NAME", Scope.OWN_LINE),
    OptionSpec("--hash", None, "a hash such as sha256:<hex digest>", Scope.AFTER_REQUIREMENT),
    OptionSpec("--config-settings", "-C", "a KEY=VALUE setting", Scope.AFTER_REQUIREMENT),
    OptionSpec("--global-option", None, "a setup.py option", Scope.AFTER_REQUIREMENT),
)
_BY_NAME = {name: spec for spec in OPTIONS for name in (spec.name, spec.short) if name}


def parse_options(tokens: Sequence[Token]) -> tuple[list[Option], list[Problem]]:
    """Read options from `tokens`; stop at the first one that cannot be understood."""
    options: list[Option] = []
    problems: list[Problem] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        spec, inline = _match(token.text)
        if spec is None:
            problems.append(_not_an_option(token))
            break
        option, used = _take_value(spec, inline, token, tokens[index + 1 : index + 2])
        if isinstance(option, Problem):
            problems.append(option)
            break
        options.append(option)
        index += 1 + used
    return options, problems


def check_hash(option: Option) -> Problem | None:
    """Report a `--hash` value that is not ALGORITHM:HEXDIGEST with a known algorithm."""
    algorithm, _, digest = option.value.partition(":")
    hexadecimal = bool(digest) and all(char in string.hexdigits for char in digest)
    if algorithm in hashlib.algorithms_guaranteed and hexadecimal:
        return None
    message = f"expected --hash=ALGORITHM:HEXDIGEST such as sha256:…, found `{option.value}`"
    return Problem(option.value_location, message)


def _match(text: str) -> tuple[OptionSpec | None, str | None]:
    if text.startswith("--"):
        name, equals, value = text.partition("=")
        return _BY_NAME.get(name), value if equals else None
    if text.startswith("-") and len(text) >= 2:
        value = text[2:].removeprefix("=")
        return _BY_NAME.get(text[:2]), value or None
    return None, None


def _take_value(
    spec: OptionSpec, inline: str | None, token: Token, following: Sequence[Token]
) -> tuple[Option | Problem, int]:
    if spec.expects is None:
        if inline is not None:
            return Problem(token.location, f"option {spec.name} takes no value"), 0
        return Option(spec, "", token, token.location), 0
    if inline:
        shift = len(token.text) - len(inline)
        location = replace(token.location, column=token.location.column + shift)
        return Option(spec, _unquote(inline), token, location), 0
    if inline == "" or not following or following[0].text.startswith("-"):
        message = f"option {token.text.partition('=')[0]} expects {spec.expects}"
        hint = f"write `{spec.name} VALUE` or `{spec.name}=VALUE`"
        return Problem(token.location, message, hint), 0
    value = following[0]
    return Option(spec, _unquote(value.text), token, value.location), 1


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _not_an_option(token: Token) -> Problem:
    if not token.text.startswith("-"):
        message = f"unexpected `{token.text}` after the options; expected an option or the end"
        return Problem(token.location, message, "put each requirement on a line of its own")
    name = token.text.partition("=")[0]
    message = f"unknown option {name}; expected a pip requirements-file option"
    close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
    hint = f"did you mean {close[0]}?" if close else f"see {REFERENCE}#supported-options"
    return Problem(token.location, message, hint)
