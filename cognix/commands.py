"""One function per cognix command, between the CLI's flags and the pipeline stages.

The CLI parses flags and prints; these functions find the project, call the stages of
DESIGN.md section 1 in order, and return what the CLI shows. They never print.
"""

from __future__ import annotations

import datetime
import logging
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cognix.config.files import COG_YAML, find_project_dir
from cognix.config.load import Project, load_project
from cognix.errors import ConfigError, InputError, Location, Problem
from cognix.lock import (
    LOCK_FILE,
    LockInfo,
    locked_version,
    read_lock_info,
    write_atomically,
)
from cognix.resolve.runsteps import RunPlan

if TYPE_CHECKING:
    from cognix.image import ExportResult

log = logging.getLogger(__name__)


def open_project(directory: Path | None) -> Project:
    """Load the project in `directory` (exactly), or the nearest one above the working one."""
    if directory is None:
        return load_project(find_project_dir(Path.cwd()))
    if not directory.is_dir():
        raise InputError(
            f"{directory} is not a folder",
            "--project names the folder that holds cog.yaml; leave it out to search upwards",
        )
    if not (directory / COG_YAML).is_file():
        raise InputError(
            f"{directory} holds no {COG_YAML}",
            "--project names the folder that holds cog.yaml; leave it out to search upwards",
        )
    return load_project(directory)


def previous_lock(project: Project) -> LockInfo | None:
    """Return the facts of the project's lock; None when missing or unreadable."""
    try:
        return read_lock_info(project.directory / LOCK_FILE)
    except ConfigError as error:
        # The lock belongs to cognix: an unreadable one is replaced, not a reason to stop.
        log.warning("%s (it will be replaced)", error.message)
        return None


def lock_state(project: Project) -> str:
    """Return `missing`, `unreadable`, `stale` or `up to date` for the project's lock."""
    path = project.directory / LOCK_FILE
    if not path.exists():
        return "missing"
    info = previous_lock(project)
    if info is None:
        return "unreadable"
    if info.inputs_digest != project.inputs_digest():
        return "stale"
    return "up to date"


@dataclass(frozen=True)
class CheckReport:
    """What `cognix check` found: the normalised project, and its warnings."""

    project: Project
    lock_state: str
    unsupported: list[str]
    warnings: tuple[Problem, ...]

    def summary(self) -> str:
        """Return the one-paragraph human summary."""
        build = self.project.config.build
        plan = self.project.run_plan
        lines = [
            f"{self.project.cog_yaml.name} is valid",
            f"  python {build.python_version}, {'GPU' if build.gpu else 'CPU'}",
            f"  {len(self.project.requirements.requirements)} python requirements, "
            f"{len(build.system_packages) + len(plan.apt_packages)} system packages, "
            f"{len(plan.downloads) + len(plan.shell_steps)} run steps",
            f"  lock: {self.lock_state}",
        ]
        if self.unsupported:
            lines.append(f"  cognix lock cannot lock {', '.join(self.unsupported)} yet")
        steps = describe_run_plan(plan)
        if steps:
            lines += ["  run commands become:", *(f"    {step}" for step in steps)]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """Return the normalised configuration as JSON-ready data."""
        config = self.project.config
        plan = self.project.run_plan
        removed: dict[str, bool | set[str]] = {
            "tests": True,
            "build": {"fast", "cog_runtime", "python_overrides"},
        }
        return {
            "config": config.model_dump(mode="json", exclude_none=True, exclude=removed),
            "predictor": config.predictor_ref,
            "python_requirements": [line.text for line in self.project.requirements.requirements],
            "system_packages": [
                *config.build.system_packages,
                *(name for _, name in plan.apt_packages),
            ],
            "run_steps": {
                "python_requirements": [text for _, text in plan.python_requirements],
                "downloads": [download.url for download in plan.downloads],
                "shell": [" ".join(step.argv) for step in plan.shell_steps],
            },
            "lock": self.lock_state,
            "unsupported": self.unsupported,
            "warnings": [str(warning) for warning in self.warnings],
        }


def describe_run_plan(plan: RunPlan) -> list[str]:
    """Return one line per part of the run plan, as `line N: what it becomes`, in order."""
    parts: list[tuple[Location, str]] = [
        *((where, f"python requirement {text}") for where, text in plan.python_requirements),
        *((where, f"pip option {text}") for where, text in plan.pip_options),
        *((where, f"system package {name}") for where, name in plan.apt_packages),
        *((d.location, f"download {d.url} to {d.dest}") for d in plan.downloads),
        *((s.location, "filesystem step " + shlex.join(s.argv)) for s in plan.shell_steps),
        *((where, f"dropped: {reason}") for where, reason in plan.dropped),
        *((where, f"nixpkgs attribute {name}") for where, name in plan.nixpkgs),
    ]
    ordered = sorted(parts, key=lambda part: (part[0].line, part[0].column))
    return [f"line {where.line}: {what}" for where, what in ordered]


def check_project(directory: Path | None) -> CheckReport:
    """Validate the project without the network and report the state of its lock."""
    project = open_project(directory)
    if project.config.predictor_ref is not None:
        from cognix.predict.local import schema_of

        # The schema is knowable offline; its errors are the predictor's errors.
        schema_of(project, project.config.predictor_ref)
    state = lock_state(project)
    warnings = list(project.warnings)
    if state == "stale":
        location = Location(project.directory / LOCK_FILE, 1)
        message = f"{LOCK_FILE} does not match the project's inputs"
        warnings.append(Problem(location, message, "run `cognix lock`"))
    from cognix.resolve.resolution import unsupported_features

    return CheckReport(project, state, unsupported_features(project), tuple(warnings))


@dataclass(frozen=True)
class LockResult:
    """What `cognix lock` did."""

    path: Path
    changed: bool
    cog_sdk: str
    package_count: int
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)
    findings: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """Return the one-line human summary."""
        if not self.changed:
            return f"{self.path.name} is up to date ({self.package_count} packages)"
        return f"wrote {self.path.name}: {self.package_count} packages, cog {self.cog_sdk}"


def lock_project(
    directory: Path | None, *, upgrade: bool = False, deep: bool = False
) -> LockResult:
    """Resolve the project's Python packages into pylock.toml, unless it is up to date."""
    return ensure_lock(open_project(directory), upgrade=upgrade, deep=deep)


def ensure_lock(project: Project, *, upgrade: bool = False, deep: bool = False) -> LockResult:
    """Write the project's lock when it is missing, stale, or an upgrade is asked for."""
    from cognix.resolve.resolution import refuse_unsupported

    refuse_unsupported(project)
    path = project.directory / LOCK_FILE
    digest = project.inputs_digest()
    previous = previous_lock(project)
    if previous is not None and previous.inputs_digest == digest and not upgrade:
        text = path.read_text("utf-8")
        count = text.count("[[packages]]")
        return LockResult(path, False, previous.cog_sdk, count, project.warnings)

    from cognix.resolve.resolution import resolve_lock

    exclude_newer = _resolution_date(previous.exclude_newer if previous and not upgrade else None)
    outcome = resolve_lock(project, digest, exclude_newer, deep=deep)
    write_atomically(path, outcome.text)
    sdk = locked_version(outcome.text, "cog") or "?"
    count = outcome.text.count("[[packages]]")
    return LockResult(path, True, sdk, count, project.warnings, outcome.notes, outcome.warnings)


def _resolution_date(previous: str | None) -> str:
    if previous is not None:
        return previous
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class GenerateResult:
    """What `cognix generate` did: the files it changed, and whether git hides them."""

    project_dir: Path
    written: list[Path]
    untracked_hint: str | None
    lock: LockResult | None = None

    def summary(self) -> str:
        """Return the one-line human summary."""
        if not self.written:
            return "flake.nix, flake.lock and .cognix/ are up to date"
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in self.written)
        return f"wrote {names}"


def generate_project(directory: Path | None, *, locked: bool = False) -> GenerateResult:
    """Write the project's flake.nix, flake.lock and .cognix/, locking first if needed.

    With `locked`, a missing or stale lock is an error instead (for CI).
    """
    from cognix.nixgen import GENERATED_NAMES, render_project, write_generated

    project = open_project(directory)
    lock_result = None
    if locked:
        state = lock_state(project)
        if state != "up to date":
            raise InputError(
                f"{LOCK_FILE} is {state} and --locked forbids writing it",
                "run `cognix lock` and commit pylock.toml, or leave out --locked",
            )
    else:
        lock_result = ensure_lock(project)

    lock_text = (project.directory / LOCK_FILE).read_text("utf-8")
    written = write_generated(project.directory, render_project(project, lock_text))
    hint = None
    if _inside_git_checkout(project.directory):
        # Nix copies only tracked files of a git checkout into the store.
        hint = f"for `nix build .#image`, git add {' '.join(GENERATED_NAMES)} {LOCK_FILE}"
    return GenerateResult(project.directory, written, hint, lock_result)


def _inside_git_checkout(directory: Path) -> bool:
    return any((folder / ".git").exists() for folder in (directory, *directory.parents))


def init_project(directory: Path) -> list[Path]:
    """Write a commented cog.yaml and predict.py into `directory`; never overwrite."""
    from cognix.templates import write_starter_project

    return write_starter_project(directory)


@dataclass(frozen=True)
class PredictResult:
    """What `cognix predict` shows: text to print, files written, the lock, warnings met."""

    text: str | None
    files: list[Path]
    lock: LockResult
    warnings: tuple[Problem, ...]


def predict_locally(
    directory: Path | None, inputs: list[str], output: Path | None
) -> PredictResult:
    """Lock if needed, then run one prediction in a local environment built from the lock."""
    from cognix.predict.local import prepare_prediction, run_local_prediction
    from cognix.predict.outputs import check_destination

    project = open_project(directory)
    prepared = prepare_prediction(project, inputs)
    check_destination(output)
    lock = ensure_lock(project)
    shown = run_local_prediction(project, prepared, output)
    return PredictResult(shown.text, shown.files, lock, project.warnings)


@dataclass(frozen=True)
class BuildResult:
    """What `cognix build` made: the generated files, the stream script, the image's place."""

    generated: GenerateResult
    stream_script: Path
    export: ExportResult

    def summary(self) -> str:
        """Return the one-line human summary."""
        return f"built {self.export.reference or 'the image'} → {self.export.output}"


def build_project(
    directory: Path | None,
    *,
    locked: bool = False,
    output: str | None = None,
    tag: str | None = None,
    nix_options: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    on_generated: Callable[[GenerateResult], None] | None = None,
) -> BuildResult:
    """Lock if needed, generate the flake, build the image with Nix, and export it.

    The output, the tag and Nix itself are checked first, so that a wrong flag or a missing
    program stops the command before the lock or the build takes its time. `on_generated`
    hears what locking and generating did before Nix starts.
    """
    from cognix.image import build_image_script, choose_output, export_image
    from cognix.image.destination import check_reference
    from cognix.image.nix_build import MINIMUM_NIX, require_nix

    target = choose_output(output)
    if tag is not None:
        check_reference(tag)
    require_nix(MINIMUM_NIX)
    generated = generate_project(directory, locked=locked)
    if on_generated is not None:
        on_generated(generated)
    info = read_lock_info(generated.project_dir / LOCK_FILE)
    script = build_image_script(
        generated.project_dir,
        nix_options=nix_options,
        progress=progress,
        minimum_nix=_minimum_nix(generated.project_dir),
        python_minor=info.python if info is not None else None,
    )
    return BuildResult(generated, script, export_image(script, target, tag))


def _minimum_nix(project_dir: Path) -> str:
    """Return the oldest Nix that builds the project: its pin's, and never below flakes'."""
    from cognix.image.nix_build import MINIMUM_NIX, newer_version
    from cognix.resolve.pins import known_pins

    info = read_lock_info(project_dir / LOCK_FILE)
    pins = [pin for pin in known_pins() if info is not None and pin.rev == info.nixpkgs_rev]
    return newer_version(MINIMUM_NIX, *(pin.min_nix for pin in pins))
