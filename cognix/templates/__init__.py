"""The starter project `cognix init` writes: cog.yaml, predict.py and requirements.txt."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cognix.errors import InputError, JobFailed

# Each written file and the packaged template it comes from (kept out of linters' sight).
STARTER_FILES = {
    "cog.yaml": "cog.yaml",
    "predict.py": "predict.py.in",
    "requirements.txt": "requirements.txt",
}


def write_starter_project(directory: Path) -> list[Path]:
    """Write the starter files into `directory`; refuse if any of them already exists."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a folder", "name a folder to create")
    targets = [directory / name for name in STARTER_FILES]
    existing = [path for path in targets if path.exists()]
    if existing:
        names = ", ".join(str(path) for path in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise InputError(f"{names} already {verb}", "run cognix init in an empty folder")

    source = resources.files(__package__)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, template in zip(targets, STARTER_FILES.values(), strict=True):
            path.write_text(source.joinpath(template).read_text("utf-8"), "utf-8")
    except OSError as error:
        raise JobFailed(f"cannot write into {directory}: {error.strerror}") from None
    return targets
