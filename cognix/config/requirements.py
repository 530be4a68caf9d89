"""Read pip requirements files and cog.yaml's `python_packages` into one `RequirementSet`.

    >>> found = read_requirements_file(Path("requirements.txt"), Path("."))
    >>> [line.name for line in found.requirements]

Everything pip accepts in a requirements file is read, including nested `-r` and `-c` files.
Problems from every file read are collected and raised together as one `ConfigError`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.requirements import Requirement

from cognix.config._requirements_options import Option, Scope, check_hash, parse_options
from cognix.config._requirements_specs import SpecError, is_url, parse_spec
from cognix.config._requirements_text import LogicalLine, Token, decode, logical_lines
from cognix.config.files import UnreadableFile, read_project_file
from cognix.errors import ConfigError, Location, Problem, display_path

__all__ = [
    "RequirementLine",
    "RequirementSet",
    "read_requirement_lines",
    "read_requirements_file",
]

_LOG = logging.getLogger(__name__)
# Cog removes these from user requirements and installs its own (reference/cog.md 3.4).
_PROVIDED = {
    "cog": "cog is provided by cognix; this line is replaced by the locked cog SDK",
    "coglet": "coglet is provided by cognix with the cog SDK; this line is dropped",
}
_PROVIDED_HINT = "choose the SDK version with build.sdk_version in cog.yaml"
_NO_EFFECT = ("--no-index", "--config-settings", "--global-option")


@dataclass(frozen=True)
class RequirementLine:
    """One requirement as written in a requirements file or a `python_packages` item."""

    location: Location
    text: str
    name: str
    requirement: Requirement | None
    url: str | None = None
    editable: bool = False
    hashes: tuple[str, ...] = ()
    local_path: Path | None = None


@dataclass(frozen=True)
class RequirementSet:
    """Everything a set of requirements lines asks pip to do."""

    requirements: tuple[RequirementLine, ...] = ()
    constraints: tuple[RequirementLine, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    pre: bool = False
    files: tuple[Path, ...] = ()
    warnings: tuple[Problem, ...] = ()


def read_requirements_file(path: Path, project_dir: Path) -> RequirementSet:
    """Read a requirements file and every file it includes.

    Nested `-r`/`-c` paths are relative to the file naming them; local package paths
    (`./dist/x.whl`) are relative to `project_dir`. Raises `ConfigError` listing every
    problem found.
    """
    reader = _Reader(project_dir)
    reader.read_file(path, constraint=False, include=None)
    return reader.finish()


def read_requirement_lines(lines: Sequence[tuple[Location, str]]) -> RequirementSet:
    """Read `python_packages` items, each one requirements-file line that may carry options.

    Paths are relative to the directory of the file each location names (cog.yaml's).
    Raises `ConfigError` listing every problem found.
    """
    reader = _Reader(lines[0][0].path.parent if lines else Path())
    for location, text in lines:
        for line in logical_lines(text, location):
            reader.read_line(line, location.path.parent, constraint=False)
    return reader.finish()


@dataclass
class _Reader:
    """Collect requirements, options and problems over every line and file read."""

    project_dir: Path
    requirements: list[RequirementLine] = field(default_factory=list)
    constraints: list[RequirementLine] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    pre: bool = False
    files: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    reading: list[Path] = field(default_factory=list)
    done: set[tuple[Path, bool]] = field(default_factory=set)

    def finish(self) -> RequirementSet:
        """Return what was read, or raise one `ConfigError` with every problem."""
        if self.problems:
            raise ConfigError(self.problems)
        return RequirementSet(
            tuple(self.requirements),
            tuple(self.constraints),
            self.index_url,
            tuple(self.extra_index_urls),
            tuple(self.find_links),
            self.pre,
            tuple(self.files),
            tuple(self.warnings),
        )

    def read_file(self, path: Path, *, constraint: bool, include: Option | None) -> None:
        """Read one file; `include` is the `-r`/`-c` option that names it, if any."""
        loaded = self._load(path, include, constraint)
        if loaded is None:
            return
        resolved, text = loaded
        self.reading.append(resolved)
        for line in logical_lines(text, Location(path, 1, 1)):
            self.read_line(line, path.parent, constraint=constraint)
        self.reading.pop()
        self.done.add((resolved, constraint))

    def read_line(self, line: LogicalLine, base_dir: Path, *, constraint: bool) -> None:
        """Read one logical line: a requirement with its options, or options alone."""
        tokens = line.tokens()
        split = _options_start(tokens)
        options, problems = parse_options(tokens[split:])
        self.problems += problems
        editable = split == 0 and bool(options) and options[0].spec.name == "--editable"
        found: RequirementLine | None = None
        if editable:
            found = self._editable(options.pop(0))
        elif split:
            found = self._requirement(line, tokens[:split])
        hashes = self._apply_options(options, editable or split > 0, base_dir)
        if found is not None:
            self._add(replace(found, hashes=hashes), options, constraint)

    def _load(
        self, path: Path, include: Option | None, constraint: bool
    ) -> tuple[Path, str] | None:
        where = include.value_location if include else Location(path, 1, 1)
        try:
            resolved = path.resolve()
            if resolved in self.reading:
                self.problems.append(self._cycle(resolved, where))
                return None
            if (resolved, constraint) in self.done:
                # Read already: its lines are in the set, and reading again is exponential
                # for files that include each other many times over.
                return None
            data = read_project_file(path, self.project_dir)
        except (UnreadableFile, OSError, ValueError) as error:
            self.problems.append(_unreadable(path, where, include, error))
            return None
        if path not in self.files:
            self.files.append(path)
        text = decode(data, path)
        if isinstance(text, Problem):
            self.problems.append(text)
            return None
        return resolved, text

    def _cycle(self, resolved: Path, where: Location) -> Problem:
        chain = [*self.reading[self.reading.index(resolved) :], resolved]
        names = " -> ".join(path.name for path in chain)
        message = f"requirements file {resolved.name} includes itself: {names}"
        return Problem(where, message, "remove one of the -r/-c lines in this chain")

    def _requirement(self, line: LogicalLine, tokens: list[Token]) -> RequirementLine | None:
        start = tokens[0].offset
        text = line.text[start : tokens[-1].offset + len(tokens[-1].text)]
        try:
            spec = parse_spec(text, self.project_dir)
        except SpecError as error:
            where = line.locate(start + error.offset)
            self.problems.append(Problem(where, error.message, error.hint))
            return None
        location = tokens[0].location
        return RequirementLine(
            location, text, spec.name, spec.requirement, spec.url, local_path=spec.local_path
        )

    def _editable(self, option: Option) -> RequirementLine | None:
        value, where = option.value, option.value_location
        if value.partition("[")[0] in (".", "./"):
            message = "-e . installs the project itself; the line is dropped, as Cog does"
            hint = "Cog copies the project into the image; list its dependencies here instead"
            self.warnings.append(Problem(option.token.location, message, hint))
            return None
        try:
            spec = parse_spec(value, self.project_dir, editable=True)
        except SpecError as error:
            shifted = replace(where, column=where.column + error.offset)
            self.problems.append(Problem(shifted, error.message, error.hint))
            return None
        return RequirementLine(where, value, spec.name, None, spec.url, editable=True)

    def _apply_options(
        self, options: list[Option], after_requirement: bool, base_dir: Path
    ) -> tuple[str, ...]:
        """Apply each option to the set; return the line's `--hash` values."""
        hashes = []
        for option in options:
            problem = _misplaced(option, after_requirement)
            if problem is None and option.spec.name == "--hash":
                problem = check_hash(option)
                if problem is None:
                    hashes.append(option.value)
                    continue
            if problem is not None:
                self.problems.append(problem)
            else:
                self._apply(option, base_dir)
        return tuple(hashes)

    def _apply(self, option: Option, base_dir: Path) -> None:
        match option.spec.name:
            case "--index-url":
                self._set_index(option)
            case "--extra-index-url":
                _append_new(self.extra_index_urls, option.value)
            case "--find-links":
                _append_new(self.find_links, option.value)
            case "--pre":
                self.pre = True
            case "--requirement" | "--constraint":
                self._include(option, base_dir)
            case name if name in _NO_EFFECT:
                message = f"{name} has no effect with cognix and is ignored"
                self.warnings.append(Problem(option.token.location, message))
            case name:
                _LOG.debug("%s: ignoring %s", option.token.location, name)

    def _set_index(self, option: Option) -> None:
        if self.index_url not in (None, option.value):
            message = f"--index-url {option.value} replaces {self.index_url}"
            hint = "pip uses only the last --index-url; add others with --extra-index-url"
            self.warnings.append(Problem(option.token.location, message, hint))
        self.index_url = option.value

    def _include(self, option: Option, base_dir: Path) -> None:
        if is_url(option.value):
            message = "requirements files are read from the project, not from URLs"
            hint = "download the file into the project and name its path"
            self.problems.append(Problem(option.value_location, message, hint))
            return
        constraint = option.spec.name == "--constraint"
        path = Path(os.path.normpath(base_dir / option.value))
        self.read_file(path, constraint=constraint, include=option)

    def _add(self, found: RequirementLine, options: list[Option], constraint: bool) -> None:
        if found.local_path is not None and options:
            message = "options and hashes are not supported on local package paths"
            hint = "Cog installs a local package only from a bare path on a line of its own"
            self.problems.append(Problem(options[0].token.location, message, hint))
        elif found.name in _PROVIDED:
            self.warnings.append(Problem(found.location, _PROVIDED[found.name], _PROVIDED_HINT))
        elif constraint:
            self.constraints.append(found)
        else:
            self.requirements.append(found)


def _options_start(tokens: list[Token]) -> int:
    """Return the index of the first option word; the words before it are the requirement."""
    starts = (index for index, token in enumerate(tokens) if token.text.startswith("-"))
    return next(starts, len(tokens))


def _misplaced(option: Option, after_requirement: bool) -> Problem | None:
    name = option.token.text.partition("=")[0]
    if option.spec.scope is Scope.AFTER_REQUIREMENT and not after_requirement:
        return Problem(option.token.location, f"{name} must follow a requirement on its line")
    editable = option.spec.name == "--editable"
    if option.spec.scope is Scope.OWN_LINE and (after_requirement or editable):
        message = f"{name} must start a line of its own"
        return Problem(option.token.location, message, "put each requirement on its own line")
    return None


def _unreadable(path: Path, where: Location, include: Option | None, error: Exception) -> Problem:
    named = include.value if include else display_path(path)
    if isinstance(error, UnreadableFile) and error.reason == "does not exist":
        hint = None
        if include:
            hint = f"looked for {display_path(path)}; -r and -c paths are relative to this file"
        return Problem(where, f"requirements file {named} does not exist", hint)
    if isinstance(error, UnreadableFile):
        return Problem(where, f"requirements file {named} {error.reason}")
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return Problem(where, f"cannot read requirements file {named}: {reason}")


def _append_new(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)
