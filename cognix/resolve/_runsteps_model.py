"""The data that run-command planning produces, and the context each command is planned in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cognix.errors import Location, Problem

SHOWN_LIMIT = 72


@dataclass(frozen=True)
class RunItem:
    """One `build.run` (or `pre_install`) item: its command and its mount types."""

    location: Location
    command: str
    mount_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Download:
    """A file fetched from `url` and placed at `dest` in the image.

    `sha256` is known when cognix.toml `[run.N]` gives it; else it is computed at lock time.
    """

    url: str
    dest: str
    mode: str | None
    location: Location
    sha256: str | None = None


@dataclass(frozen=True)
class ShellStep:
    """A filesystem command run without network while the image is assembled.

    `argv` is run as it stands (no shell: no variables, no wildcards), in `cwd` when set.
    `stdout`, when set, is the file its output goes to (appended to when `append`).
    """

    argv: tuple[str, ...]
    location: Location
    cwd: str | None = None
    stdout: str | None = None
    append: bool = False


@dataclass(frozen=True)
class RunPlan:
    """What the run commands of a cog.yaml become, each part with the place it came from.

    `pip_options` holds requirements-file option lines in their long spelling, such as
    `--extra-index-url https://…`, `--index-url …`, `--find-links …` and `--pre`.
    """

    python_requirements: tuple[tuple[Location, str], ...] = ()
    pip_options: tuple[tuple[Location, str], ...] = ()
    apt_packages: tuple[tuple[Location, str], ...] = ()
    downloads: tuple[Download, ...] = ()
    shell_steps: tuple[ShellStep, ...] = ()
    dropped: tuple[tuple[Location, str], ...] = ()
    nixpkgs: tuple[tuple[Location, str], ...] = ()

    @property
    def extra_index_urls(self) -> tuple[str, ...]:
        """Return the `--extra-index-url` values, first occurrence first."""
        return self._option_values("--extra-index-url")

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Return the `--index-url` (`-i`) values, first occurrence first."""
        return self._option_values("--index-url")

    @property
    def find_links(self) -> tuple[str, ...]:
        """Return the `--find-links` (`-f`) values, first occurrence first."""
        return self._option_values("--find-links")

    def _option_values(self, name: str) -> tuple[str, ...]:
        parts = (line.partition(" ") for _, line in self.pip_options)
        return tuple(dict.fromkeys(value for key, _, value in parts if key == name))


@dataclass
class PlanBuilder:
    """The parts of a `RunPlan` as they are found, plus the problems met on the way."""

    python_requirements: list[tuple[Location, str]] = field(default_factory=list)
    pip_options: list[tuple[Location, str]] = field(default_factory=list)
    apt_packages: list[tuple[Location, str]] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)
    shell_steps: list[ShellStep] = field(default_factory=list)
    dropped: list[tuple[Location, str]] = field(default_factory=list)
    nixpkgs: list[tuple[Location, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def freeze(self) -> RunPlan:
        """Return the finished plan."""
        return RunPlan(
            tuple(self.python_requirements),
            tuple(self.pip_options),
            tuple(self.apt_packages),
            tuple(self.downloads),
            tuple(self.shell_steps),
            tuple(self.dropped),
            tuple(self.nixpkgs),
        )


class Refused(Exception):
    """A run command that cognix cannot turn into a build step; becomes a `Problem`."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Step:
    """One simple command of a run item, with everything needed to plan it.

    `argv` has its leading variable assignments removed and `~` expanded; `redirect` is a
    trailing `>`/`>>` and its target; `cwd` is the absolute directory a `cd` earlier in the
    same item moved to, or None while the directory is still the one Cog starts in.
    """

    plan: PlanBuilder
    location: Location
    index: int
    project_dir: Path
    shown: str
    argv: tuple[str, ...] = ()
    redirect: tuple[str, str] | None = None
    cwd: str | None = None

    @property
    def table(self) -> str:
        """Return the cognix.toml table that can replace this run item."""
        return f"cognix.toml [run.{self.index}]"

    def drop(self, reason: str) -> None:
        """Record that this command has no effect on the image, and why."""
        self.plan.dropped.append((self.location, f"{self.shown} {reason}"))


def quote(text: str) -> str:
    """Return `text` in backticks, shortened to fit in a one-line message."""
    if len(text) > SHOWN_LIMIT:
        text = text[: SHOWN_LIMIT - 1] + "…"
    return f"`{text}`"


def other_program(step: Step) -> Refused:
    """Refuse a program that cognix does not know how to turn into a build step."""
    message = (
        f"cognix cannot run {step.shown}: only pip, apt, downloads and filesystem "
        "commands become build steps"
    )
    hint = (
        f"do this work in setup(), or replace this item in {step.table} with a download "
        "(url and sha256) or nixpkgs attributes"
    )
    return Refused(message, hint)


def project_read(step: Step, path: str, hint: str | None = None) -> Refused:
    """Refuse a command that reads a file of the project, which is not there yet."""
    message = (
        "run commands execute before the project is copied in (as in Cog), "
        f"so {step.shown} cannot read `{path}`"
    )
    default = (
        f"do this work in setup(), or describe its result as a download with a sha256 "
        f"in {step.table}"
    )
    return Refused(message, hint or default)


def relative_path(step: Step, path: str) -> Refused:
    """Refuse a relative path: the directory Cog runs commands in is not part of cog.yaml."""
    message = (
        f"{step.shown} uses the relative path `{path}`, but the directory run commands "
        "start in is not fixed by cog.yaml"
    )
    hint = "write the absolute path, or `cd` to an absolute directory first in the same item"
    return Refused(message, hint)
