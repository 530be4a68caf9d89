"""Turn a prediction's output into what `cognix predict` shows or writes, as `cog predict` does.

The predictor's `Output` schema decides, never the value: a file (`format: uri`) is written
from its data URL as `output.<ext>`, a list of files as `output.N.<ext>`; anything else is
printed, strings as they are and other values as JSON. `-o` is checked before the prediction
starts, and every file is written atomically: a reader sees the old file or the whole new one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from cognix.errors import InputError, JobFailed
from cognix.predict.inputs import schema_component

DATA_URL_PREFIX = "data:"


@dataclass(frozen=True)
class ShownOutput:
    """What to print, and which files were written."""

    text: str | None
    files: list[Path] = field(default_factory=list)


def check_destination(destination: Path | None) -> None:
    """Raise InputError unless `-o` can name a file to write; call it before predicting."""
    if destination is None:
        return
    parent = destination.parent
    if destination.is_dir():
        raise InputError(f"-o {destination} is a directory", "give the path of a file to write")
    if not parent.is_dir():
        reason = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(f"-o {destination}: the folder {parent} {reason}")
    if not _writes_in_place(destination) and not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"-o {destination}: cannot create files in {parent}")
    if destination.is_symlink() and not destination.exists():
        # Written through: a link to a missing file makes it, in a folder that must exist.
        try:
            target = destination.resolve()
        except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop
            raise InputError(f"-o {destination} is a link that leads to itself") from None
        if not target.parent.is_dir():
            message = f"-o {destination} is a link to {target}, whose folder does not exist"
            raise InputError(message, "remove the link, or give another path")


def show_output(
    output: Any, schema: dict[str, Any], destination: Path | None, directory: Path
) -> ShownOutput:
    """Print or save `output` as the `Output` type in the predictor's OpenAPI `schema` says.

    A file goes to `destination`, or to `directory/output.<ext>`. A list of files goes to
    `directory/output.N.<ext>`; with `destination`, its name is the pattern instead:
    `-o out.png` writes `out.0.png`, `out.1.png`, and so on. Anything else is printed, or
    written to `destination` when one is given. Raises `JobFailed` when a write fails.
    """
    declared = schema_component(schema, "Output")
    if _is_file(declared) and _is_data_url(output):
        return ShownOutput(None, [_save_data_url(output, destination, directory, None)])
    if _is_file(declared.get("items")) and _all_data_urls(output):
        files = [
            _save_data_url(item, destination, directory, index)
            for index, item in enumerate(output)
        ]
        return ShownOutput(None, files)
    text = output if isinstance(output, str) else pretty_json(output)
    if destination is None:
        return ShownOutput(text)
    return ShownOutput(None, [write_file(destination, (text + "\n").encode("utf-8"))])


# What Go's JSON encoder escapes in text that `cog predict` prints (HTML-safe by default).
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def pretty_json(value: Any) -> str:
    """Return `value` as `cog predict` prints a JSON output: indented by 2, UTF-8 kept.

    Go's encoder keeps non-ASCII text as it is but escapes `<`, `>`, `&` and the two
    Unicode line separators; json.dumps escapes non-ASCII instead unless told not to.
    """
    return json.dumps(value, indent=2, ensure_ascii=False).translate(_GO_ESCAPES)


def write_file(path: Path, content: bytes) -> Path:
    """Write `content` to `path` atomically, or raise `JobFailed` naming the path.

    The bytes go to a temporary file beside the target, then replace it in one step. A
    symlink, device or pipe (`/dev/stdout`, `/dev/null`) is written through instead:
    replacing it would put a plain file where the link or device was.
    """
    try:
        if _writes_in_place(path):
            path.write_bytes(content)
        else:
            _replace_atomically(path, content)
    except OSError as error:
        raise JobFailed(f"cannot write {path}: {error.strerror or error}") from None
    return path


def _replace_atomically(target: Path, content: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never follow or reuse a file that is there; 0o666 lets the umask decide.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with open(descriptor, "wb") as sink:
            sink.write(content)
            sink.flush()
            os.fsync(sink.fileno())
        with contextlib.suppress(FileNotFoundError):
            shutil.copymode(target, temporary)  # an existing file keeps its permissions
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _writes_in_place(path: Path) -> bool:
    """Tell whether `path` is a symlink, or an existing file that is not a regular one."""
    return path.is_symlink() or (path.exists() and not path.is_file())


def _is_file(declared: Any) -> bool:
    if not isinstance(declared, dict):
        return False
    return declared.get("type") == "string" and declared.get("format") == "uri"


def _is_data_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DATA_URL_PREFIX) and "," in value


def _all_data_urls(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_is_data_url, value))


def _save_data_url(url: str, destination: Path | None, directory: Path, index: int | None) -> Path:
    header, _, payload = url[len(DATA_URL_PREFIX) :].partition(",")
    mime, _, encoding = header.partition(";")
    content = base64.b64decode(payload) if encoding == "base64" else unquote_to_bytes(payload)
    extension = mimetypes.guess_extension(mime or "application/octet-stream") or ".bin"
    return write_file(_file_path(destination, directory, index, extension), content)


def _file_path(destination: Path | None, directory: Path, index: int | None, ext: str) -> Path:
    """Name a file output: `output.<ext>`, `output.N.<ext>`, `-o` itself, or `-o` numbered."""
    if destination is None:
        stem = "output" if index is None else f"output.{index}"
        return directory / f"{stem}{ext}"
    if index is None:
        return destination
    return destination.with_name(f"{destination.stem}.{index}{destination.suffix or ext}")
