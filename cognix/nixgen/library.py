"""Collect the files of `.cognix/`: the Nix library and the schema module it runs.

The library lives in the repository's `nix/` folder (inside the installed package, at
`cognix/nix`, when cognix is installed from a wheel); cognix's schema package is vendored
beside it as `cognix_schema/`, since the image build derives the schema with it.
"""

from __future__ import annotations

from pathlib import Path

from cognix import __version__

_PACKAGE = Path(__file__).resolve().parent.parent
_LIBRARY_SUFFIXES = (".nix", ".py")


def library_folder() -> Path:
    """Return the folder holding the Nix library's files."""
    installed = _PACKAGE / "nix"
    return installed if installed.is_dir() else _PACKAGE.parent / "nix"


def library_files() -> dict[str, bytes]:
    """Return `.cognix/`'s files by relative POSIX path, in name order."""
    files: dict[str, bytes] = {}
    for path in sorted(library_folder().iterdir()):
        if path.is_file() and path.suffix in _LIBRARY_SUFFIXES:
            files[path.name] = path.read_bytes()

    schema = _PACKAGE / "schema"
    for path in sorted(schema.glob("*.py")):
        files[f"cognix_schema/{path.name}"] = path.read_bytes()

    files["VERSION"] = f"{__version__}\n".encode()
    return files
