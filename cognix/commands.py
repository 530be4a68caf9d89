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
from typing import TYPE_CHECKING, Any, Literal

from cognix.config.files import COG_YAML, find_project_dir
from cognix.config.load import Project, load_project
from cognix.errors import CognixError, ConfigError, InputError, JobFailed, Location, Problem
from cognix.lock import (
    LOCK_FILE,
    LockInfo,
    locked_version,
    read_lock_info,
    write_atomically,
)
from cognix.resolve.runsteps import RunPlan

if TYPE_CHECKING:
    from cognix.audit.lock_audit import LockAudit
    from cognix.audit.rebuild import RebuildResult
    from cognix.image import ExportResult
    from cognix.predict.container import Engine

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
    if project.config.predictor_ref is not None or project.config.train is not None:
        from cognix.project_schema import project_openapi_schema

        # The schema is knowable offline; its errors are the predictor's and trainer's.
        project_openapi_schema(project)
    state = lock_state(project)
    warnings = list(project.warnings)
    if state == "stale":
        location = Location(project.directory / LOCK_FILE, 1)
        message = f"{LOCK_FILE} does not match the project's inputs"
        warnings.append(Problem(location, message, "run `cognix lock`"))
    from cognix.resolve.resolution import unsupported_features

    return CheckReport(project, state, unsupported_features(project), tuple(warnings))


def schema_project(directory: Path | None) -> str:
    """Return the project's OpenAPI schema as `.cog/openapi_schema.json` holds it.

    The schema covers cog.yaml's predictor and trainer; info.version is the locked cog
    SDK when there is a lock, as in the image, else the schema module's own.
    """
    from cognix.project_schema import project_openapi_schema
    from cognix.schema import dumps

    project = open_project(directory)
    info = previous_lock(project) if (project.directory / LOCK_FILE).exists() else None
    return dumps(project_openapi_schema(project, cog_version=info.cog_sdk if info else ""))


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
class Runner:
    """Where `predict` or `serve` runs: `local`, `image` (one given), or `build` then run.

    `note` says why a project runs locally although --local was not given.
    """

    kind: Literal["local", "image", "build"]
    note: str | None = None


def runner_for(image: str | None, local: bool, blockers: Sequence[str]) -> Runner:
    """Decide where to run; `blockers` say what building and running an image lacks.

    An IMAGE runs in a container. `--local` runs the project from its lock. Without either,
    the project is built into an image and run in a container, unless Nix or a container
    engine is missing (`blockers`): then it runs locally, and the note says why.
    """
    if image is not None and local:
        raise InputError(
            "--local runs the project, not an image",
            "leave out IMAGE to run the project locally, or --local to run the image",
        )
    if image is not None:
        return Runner("image")
    if local:
        return Runner("local")
    if blockers:
        return Runner("local", f"running the project locally (--local): {'; '.join(blockers)}")
    return Runner("build")


def choose_runner(image: str | None, local: bool, directory: Path | None = None) -> Runner:
    """Decide where to run, looking for Nix and a container engine only when it matters.

    `directory` is the project (`--project`); its lock's pin says how new Nix must be.
    An IMAGE with `--project` is refused: the image, not the project, would run.
    """
    if image is not None and directory is not None:
        raise InputError(
            "--project names a project to run, and IMAGE an image: give one of them",
            "leave out IMAGE to run the project, or --project to run the image",
        )
    blockers = [] if image is not None or local else _build_blockers(directory)
    return runner_for(image, local, blockers)


def _build_blockers(directory: Path | None) -> list[str]:
    """Say what is missing to build and run the project's image: Nix, a container engine."""
    from cognix.errors import ToolMissing
    from cognix.image.destination import answering_engine
    from cognix.image.nix_build import MINIMUM_NIX, require_nix

    blockers = []
    try:
        project_dir = directory if directory is not None else find_project_dir(Path.cwd())
        minimum = _minimum_nix(project_dir)
    except CognixError:
        minimum = MINIMUM_NIX  # no project here: the command itself will say so
    try:
        require_nix(minimum)
    except ToolMissing as missing:
        blockers.append(missing.message)
    engine, problem = answering_engine()
    if engine is None:
        blockers.append(problem)
    return blockers


@dataclass(frozen=True)
class PredictResult:
    """What `cognix predict` shows: text to print, files written, the lock, warnings met.

    `lock` is the lock `--local` wrote or checked; `built` the image built first, if any.
    """

    text: str | None
    files: list[Path]
    lock: LockResult | None
    warnings: tuple[Problem, ...]
    built: BuildResult | None = None


def predict_image(
    image: str, inputs: list[str], output: Path | None, *, gpus: bool = False
) -> PredictResult:
    """Run one prediction in a container of `image`, checking the inputs by its label first."""
    from cognix.predict.container import find_engine, predict_in_container

    shown = predict_in_container(find_engine(), image, inputs, output, gpus=gpus)
    return PredictResult(shown.text, shown.files, None, ())


def predict_project(
    directory: Path | None,
    inputs: list[str],
    output: Path | None,
    *,
    build: bool = False,
    gpus: bool = False,
    progress: Callable[[str], None] | None = None,
    on_generated: Callable[[GenerateResult], None] | None = None,
) -> PredictResult:
    """Check the inputs, then predict locally from the lock, or (`build`) in the image.

    With `build`, the image is built as `cognix build` does, loaded into the container
    engine that runs it; `progress` and `on_generated` are `build_project`'s. SIGTERM and
    SIGHUP stop it from the start (cognix.interrupts), so that no lock, venv build or image
    build outlives cognix.
    """
    from cognix.predict.local import prepare_prediction, run_local_prediction
    from cognix.predict.outputs import check_destination

    project = open_project(directory)
    checked = prepare_prediction(project, inputs)
    check_destination(output)
    if not build:
        _warn_gpus_locally(gpus)
        lock = ensure_lock(project)
        shown = run_local_prediction(project, checked, output)
        return PredictResult(shown.text, shown.files, lock, project.warnings)

    from cognix.predict.container import predict_in_container

    engine, built, image = _built_image(project.directory, progress, on_generated)
    shown = predict_in_container(engine, image, inputs, output, gpus=gpus, checked=checked)
    return PredictResult(shown.text, shown.files, None, project.warnings, built)


def serve_image(
    image: str, *, host: str, port: int, gpus: bool, on_ready: Callable[[str], None]
) -> None:
    """Serve `image` in a container with its port published on `host:port`, until stopped."""
    from cognix.predict.container import find_engine, serve_container

    serve_container(find_engine(), image, host=host, port=port, gpus=gpus, on_ready=on_ready)


def serve_project(
    directory: Path | None,
    *,
    host: str,
    port: int,
    on_ready: Callable[[str], None],
    build: bool = False,
    gpus: bool = False,
    on_locked: Callable[[LockResult], None] | None = None,
    progress: Callable[[str], None] | None = None,
    on_generated: Callable[[GenerateResult], None] | None = None,
) -> None:
    """Serve the project from its lock, or (`build`) build its image and serve that.

    `on_locked` hears what locking did before the local server starts. SIGTERM and SIGHUP
    stop it from the start (cognix.interrupts), as they stop `predict_project`.
    """
    from cognix.predict.local import predictor_ref, serve_locally
    from cognix.predict.server import check_port_free

    check_port_free(host, port)  # the flags first, then the project
    project = open_project(directory)
    if not build:
        predictor_ref(project)  # before locking: a project without a predictor has no server
        _warn_gpus_locally(gpus)
        lock = ensure_lock(project)
        if on_locked is not None:
            on_locked(lock)
        serve_locally(project, host, port, on_ready)
        return

    from cognix.predict.container import serve_container

    engine, _, image = _built_image(project.directory, progress, on_generated)
    serve_container(engine, image, host=host, port=port, gpus=gpus, on_ready=on_ready)


def _built_image(
    directory: Path,
    progress: Callable[[str], None] | None,
    on_generated: Callable[[GenerateResult], None] | None,
) -> tuple[Engine, BuildResult, str]:
    """Build the project's image into the engine that will run it; return all three."""
    from cognix.predict.container import find_engine

    engine = find_engine()
    built = build_project(
        directory, output=engine.name, progress=progress, on_generated=on_generated
    )
    if built.export.reference is None:
        raise JobFailed(f"{engine.name} load did not say which image it loaded")
    return engine, built, built.export.reference


def _warn_gpus_locally(gpus: bool) -> None:
    if gpus:
        log.warning("--gpus is for containers; a local server sees this machine's GPUs as is")


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


def audit_lock_project(directory: Path | None, *, deep: bool = False) -> LockAudit:
    """Check the project's lock: every artifact hashed, the pin complete, not stale."""
    from cognix.audit.lock_audit import audit_lock

    return audit_lock(open_project(directory), deep=deep)


def audit_rebuild_project(
    directory: Path | None,
    *,
    nix_options: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
) -> RebuildResult:
    """Build the project's image twice from its lock as it stands, and compare the two.

    The lock must be up to date (an audit never re-locks); the flake is generated first.
    """
    from cognix.audit.rebuild import audit_rebuild

    generated = generate_project(directory, locked=True)
    return audit_rebuild(
        generated.project_dir,
        nix_options=nix_options,
        progress=progress,
        minimum_nix=_minimum_nix(generated.project_dir),
    )


def sbom_project(directory: Path | None, *, built: str | None = None) -> str:
    """Return the project's CycloneDX SBOM; with `built`, the image's Nix closure too."""
    from cognix.audit.sbom import nix_closure, sbom

    project = open_project(directory)
    closure = nix_closure(built) if built is not None else []
    return sbom(project, closure)
