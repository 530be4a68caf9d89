"""Load a Cog project: cog.yaml, its requirements, its predictor and cognix.toml.

`load_project` reads every input file, validates all of it, and raises one `ConfigError`
listing every problem found, each with its file, line and column. What it returns is the
only view of the project that later stages use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognix.config import yaml_source
from cognix.config._rules import check_rules, key_warnings
from cognix.config._validate import PlainData, to_plain, validate_model
from cognix.config.files import (
    COG_YAML,
    DOCKERIGNORE,
    OPTIONAL_INPUTS,
    SETTINGS_FILE,
    UnreadableFile,
    read_project_file,
    remembering_reads,
)
from cognix.config.model import CogConfig
from cognix.config.predictor_ref import check_reference
from cognix.config.requirements import (
    RequirementSet,
    read_requirement_lines,
    read_requirements_file,
)
from cognix.config.settings import RunReplacement, Settings, read_settings
from cognix.errors import ConfigError, Location, Problem
from cognix.lock import inputs_digest
from cognix.resolve.runsteps import RunItem, RunPlan, plan_run_steps
from cognix.resolve.system import SystemPackage, map_apt_packages


@dataclass(frozen=True)
class Project:
    """A validated Cog project, as every later stage sees it."""

    directory: Path
    config: CogConfig
    requirements: RequirementSet
    run_plan: RunPlan
    settings: Settings
    system_packages: tuple[SystemPackage, ...]
    warnings: tuple[Problem, ...]
    inputs: tuple[tuple[Path, bytes], ...]

    @property
    def cog_yaml(self) -> Path:
        """Return the path of the project's cog.yaml."""
        return self.directory / COG_YAML

    def inputs_digest(self) -> str:
        """Return the digest of the exact bytes this project was read from."""
        return inputs_digest(self.directory, self.inputs)


def load_project(directory: Path) -> Project:
    """Read and validate the project in `directory`; raise `ConfigError` listing problems.

    The project keeps the bytes of every input file as they were parsed, so the lock's
    digest describes what was read, even if a file changes meanwhile.
    """
    with remembering_reads() as reads:
        project = _load_project(directory)
        _read_dockerignore(directory)
    files = [project.cog_yaml, *project.requirements.files]
    files += [directory / name for name in OPTIONAL_INPUTS]
    inputs = tuple((path, reads[path.resolve()]) for path in files if path.resolve() in reads)
    return dataclasses.replace(project, inputs=inputs)


def _read_dockerignore(directory: Path) -> None:
    """Read .dockerignore, when there is one, so that the digest covers it."""
    path = directory / DOCKERIGNORE
    if not path.exists():
        return
    try:
        read_project_file(path, directory)
    except UnreadableFile as error:
        raise ConfigError([Problem(Location(path, 1), f"{DOCKERIGNORE} {error.reason}")]) from None


def _load_project(directory: Path) -> Project:
    path = directory / COG_YAML
    plain = _read_cog_yaml(path)
    problems = _misread_run_items(plain)
    config, model_problems = validate_model(CogConfig, plain)
    problems += model_problems
    warnings = key_warnings(plain)
    if config is None:
        raise ConfigError(problems)

    problems += check_rules(config, plain)
    problems += _check_references(directory, config, plain)
    requirements = _collect(problems, _read_requirements, directory, config, plain)
    settings = _collect(problems, read_settings, directory)
    run_plan = _collect(problems, _plan_run, directory, config, plain, settings)
    system = _collect(problems, _map_system_packages, config, plain, run_plan, settings)
    if problems or requirements is None or run_plan is None or settings is None:
        raise ConfigError(problems)

    warnings += list(requirements.warnings)
    return Project(
        directory, config, requirements, run_plan, settings, tuple(system), tuple(warnings), ()
    )


def _read_cog_yaml(path: Path) -> PlainData:
    root = yaml_source.read_yaml(path)
    top = Location(path, 1, 1)
    if root is None:
        root = yaml_source.Mapping(top)
    if not isinstance(root, yaml_source.Mapping):
        where = getattr(root, "location", top)
        raise ConfigError([Problem(where, "cog.yaml must be a mapping of keys such as build:")])
    return to_plain(root, top)


def _misread_run_items(plain: PlainData) -> list[Problem]:
    """Report run items that YAML read as mappings because they contain ': '."""
    problems = []
    build = plain.data.get("build") if isinstance(plain.data, dict) else None
    for key in ("run", "pre_install"):
        items = build.get(key) if isinstance(build, dict) else None
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if isinstance(item, dict) and "command" not in item:
                message = "this run item was read as a mapping because it contains ': '"
                hint = 'quote the whole command: - "..."'
                problems.append(Problem(plain.locate(("build", key, index)), message, hint))
                items[index] = ""
    return problems


def _check_references(directory: Path, config: CogConfig, plain: PlainData) -> list[Problem]:
    problems = []
    for key in ("run", "predict", "train"):
        ref = getattr(config, key)
        if ref is not None and len(ref.split(".py:")) == 2:
            problems += check_reference(directory, key, ref, plain.locate((key,)))
    return problems


def _read_requirements(directory: Path, config: CogConfig, plain: PlainData) -> RequirementSet:
    build = config.build
    if build.python_requirements is not None:
        path = directory / build.python_requirements
        try:
            read_project_file(path, directory)
        except UnreadableFile as error:
            # Reported at cog.yaml's line: that is where the file is named.
            location = plain.locate(("build", "python_requirements"))
            message = f"python_requirements names '{build.python_requirements}', which"
            raise ConfigError([Problem(location, f"{message} {error.reason}")]) from None
        return read_requirements_file(path, directory)
    lines = [
        (plain.locate(("build", "python_packages", index)), text)
        for index, text in enumerate(build.python_packages)
    ]
    return read_requirement_lines(lines)


def _plan_run(
    directory: Path, config: CogConfig, plain: PlainData, settings: Settings | None
) -> RunPlan:
    items = []
    # pre_install commands run after build.run in Cog, despite the name.
    for key in ("run", "pre_install"):
        for index, item in enumerate(getattr(config.build, key)):
            location = plain.locate(("build", key, index))
            if isinstance(item, str):
                items.append(RunItem(location, item))
            else:
                mounts = tuple(mount.type for mount in item.mounts)
                command_location = plain.locate(("build", key, index, "command"))
                items.append(RunItem(command_location, item.command, mounts))
    replacements = {int(key): value for key, value in (settings.run if settings else {}).items()}
    _check_replacements(replacements, len(items), directory)
    return plan_run_steps(items, directory, replacements)


def _check_replacements(
    replacements: dict[int, RunReplacement], count: int, directory: Path
) -> None:
    """Refuse `[run.N]` tables that name no run item or say two things at once."""
    problems = []
    where = Location(directory / SETTINGS_FILE, 1)
    for number, replacement in sorted(replacements.items()):
        chosen = [replacement.download is not None, replacement.nixpkgs is not None,
                  replacement.skip]  # fmt: skip
        if number > count:
            message = f"[run.{number}] replaces run item {number}, but cog.yaml has {count}"
            problems.append(Problem(where, message, "run items count from 1, pre_install last"))
        elif sum(chosen) != 1:
            message = f"[run.{number}] must say exactly one of download, nixpkgs or skip"
            problems.append(Problem(where, message))
    if problems:
        raise ConfigError(problems)


def _map_system_packages(
    config: CogConfig, plain: PlainData, run_plan: RunPlan | None, settings: Settings | None
) -> list[SystemPackage]:
    """Map the apt names of system_packages and of apt-get run commands to nixpkgs."""
    requested = [
        (plain.locate(("build", "system_packages", index)), name)
        for index, name in enumerate(config.build.system_packages)
    ]
    requested += run_plan.apt_packages if run_plan else ()
    return map_apt_packages(requested, settings.apt if settings else {})


def _collect(problems: list[Problem], step: Any, *arguments: Any) -> Any:
    """Run one reading step; add its problems to `problems` instead of stopping."""
    try:
        return step(*arguments)
    except ConfigError as error:
        problems += error.problems
        return None
