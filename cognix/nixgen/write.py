"""Write generated files so that no reader ever sees a half-written set.

`.cognix/` is built in a sibling temporary folder and swapped in with two renames;
flake.nix and flake.lock are each replaced in one step. Modes are set explicitly (0644
files, 0755 folders), so the umask changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from cognix.errors import JobFailed
from cognix.lock import write_atomically

LIBRARY_FOLDER = ".cognix"
_FILE_MODE = 0o644
_FOLDER_MODE = 0o755
# What an interrupted run (SIGKILL, power loss) can leave beside cog.yaml: the staging and old
# `.cognix` folders of `_replace_folder`, and the temporary files of `write_atomically`. Left
# there, `.dockerignore` would not hide them and they would land in the image's /src.
_LEFTOVER = re.compile(
    rf"{re.escape(LIBRARY_FOLDER)}\.(?:new|old)-[a-z0-9_]{{8}}"
    r"|\.(?:flake\.nix|flake\.lock|pylock\.toml)\.[a-z0-9_]{8}"
)


def write_generated(project_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write `files` (relative path -> bytes) into `project_dir`; return those that changed.

    Every destination is checked before anything is written, so a folder where flake.nix
    goes, say, stops the command with `.cognix/` still as it was.
    """
    library = {name: content for name, content in files.items()
               if name.startswith(f"{LIBRARY_FOLDER}/")}  # fmt: skip
    _check_destinations(project_dir, [name for name in files if name not in library])
    _remove_leftovers(project_dir)
    changed: list[Path] = []
    if _differs(project_dir / LIBRARY_FOLDER, library):
        _replace_folder(project_dir, library)
        changed.append(project_dir / LIBRARY_FOLDER)

    for name, content in files.items():
        if name in library:
            continue
        path = project_dir / name
        if _read(path) != content:
            write_atomically(path, content.decode("utf-8"))
            changed.append(path)
    return changed


def _check_destinations(project_dir: Path, names: list[str]) -> None:
    target = project_dir / LIBRARY_FOLDER
    if target.exists() and (target.is_symlink() or not target.is_dir()):
        raise JobFailed(f"cannot write {target}: it is not a folder", "remove it, then run again")
    for name in names:
        path = project_dir / name
        if path.is_dir():
            raise JobFailed(f"cannot write {path}: it is a directory", "remove it, then run again")


def _remove_leftovers(project_dir: Path) -> None:
    """Remove what an interrupted earlier run left beside the generated files."""
    try:
        entries = list(os.scandir(project_dir))
    except OSError:
        return
    for entry in entries:
        if _LEFTOVER.fullmatch(entry.name) is None:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _differs(folder: Path, library: dict[str, bytes]) -> bool:
    """Tell whether `folder` holds anything but exactly `library`'s files."""
    if folder.is_symlink() or not folder.is_dir():
        return True
    present = {path.relative_to(folder.parent).as_posix()
               for path in folder.rglob("*") if not path.is_dir()}  # fmt: skip
    if present != set(library):
        return True
    return any(_read(folder.parent / name) != content for name, content in library.items())


def _replace_folder(project_dir: Path, library: dict[str, bytes]) -> None:
    """Build the new folder beside the old one, then swap the two.

    Between the two renames the folder is briefly absent; an interruption there leaves the
    previous version in `.cognix.old-*` beside it, and the next run writes it again.
    """
    target = project_dir / LIBRARY_FOLDER
    if target.exists() and (target.is_symlink() or not target.is_dir()):
        raise JobFailed(f"cannot write {target}: it is not a folder", "remove it, then run again")
    try:
        staging = Path(tempfile.mkdtemp(dir=project_dir, prefix=f"{LIBRARY_FOLDER}.new-"))
    except OSError as error:
        raise JobFailed(f"cannot write {target}: {error.strerror}") from None

    old = None
    try:
        _fill(staging, library)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=project_dir, prefix=f"{LIBRARY_FOLDER}.old-"))
            os.replace(target, old / LIBRARY_FOLDER)
        os.replace(staging, target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise JobFailed(f"cannot write {target}: {error.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fill(staging: Path, library: dict[str, bytes]) -> None:
    os.chmod(staging, _FOLDER_MODE)
    for name, content in library.items():
        path = staging / name.removeprefix(f"{LIBRARY_FOLDER}/")
        for folder in reversed(path.relative_to(staging).parents[:-1]):
            (staging / folder).mkdir(mode=_FOLDER_MODE, exist_ok=True)
            os.chmod(staging / folder, _FOLDER_MODE)
        path.write_bytes(content)
        os.chmod(path, _FILE_MODE)
