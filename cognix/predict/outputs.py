"""Turn a prediction's output into what `cognix predict` shows or writes, as `cog predict` does.

Strings are printed as they are; files (data URLs) are written as `output.<ext>` (lists as
`output.N.<ext>`); anything else is printed as JSON.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

DATA_URL_PREFIX = "data:"


@dataclass(frozen=True)
class ShownOutput:
    """What to print, and which files were written."""

    text: str | None
    files: list[Path] = field(default_factory=list)


def show_output(output: Any, destination: Path | None, directory: Path) -> ShownOutput:
    """Print or save `output`; files go to `destination` or `directory/output.<ext>`."""
    if _is_data_url(output):
        return ShownOutput(None, [_write_data_url(output, destination, directory, None)])
    if isinstance(output, list) and output and all(_is_data_url(item) for item in output):
        files = [
            _write_data_url(item, None, directory, index) for index, item in enumerate(output)
        ]
        return ShownOutput(None, files)
    if isinstance(output, str):
        return _text_output(output, destination)
    return _text_output(json.dumps(output, indent=2), destination)


def _text_output(text: str, destination: Path | None) -> ShownOutput:
    if destination is None:
        return ShownOutput(text)
    destination.write_text(text + "\n", "utf-8")
    return ShownOutput(None, [destination])


def _is_data_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DATA_URL_PREFIX) and "," in value


def _write_data_url(
    url: str, destination: Path | None, directory: Path, index: int | None
) -> Path:
    header, _, payload = url[len(DATA_URL_PREFIX) :].partition(",")
    mime, _, encoding = header.partition(";")
    content = base64.b64decode(payload) if encoding == "base64" else unquote_to_bytes(payload)
    if destination is None:
        extension = mimetypes.guess_extension(mime or "application/octet-stream") or ".bin"
        stem = "output" if index is None else f"output.{index}"
        destination = directory / f"{stem}{extension}"
    destination.write_bytes(content)
    return destination
