"""Compare two images: config key by key, layer by layer, then file by file.

`diff_images` pairs the layers by position. Every layer is hashed; the layers of a pair
whose diff_ids differ are also listed, entry by entry, in the same pass, and their entries
are compared by path (whiteouts as deletions, opaque markers as such). Layers are read in
parallel threads, since sha256 and file reads release the GIL. `render_text` and `to_json`
give the two forms `cognix audit diff` prints.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any, Literal

from cognix.audit.images import Image, Layer, open_image
from cognix.audit.layers import FileEntry, LayerContents, LayerDigest, hash_layer, scan_layer

LayerStatus = Literal["same", "changed", "added", "removed"]
Change = Literal["added", "removed", "changed"]
_COMPARED = ("type", "mode", "uid", "gid", "size", "sha256", "link", "device", "xattrs", "mtime")
_ENCODING = "(config encoding)"
"""The config change reported when the configs differ in bytes but in no key."""


@dataclass(frozen=True)
class ConfigChange:
    """One config key whose values differ; None where an image lacks the key.

    Keys are the config's own: `Entrypoint`, `Cmd`, `WorkingDir`… from its `config`
    object, one `Env[NAME]` per variable and one `Labels[NAME]` per label, and `created`,
    `history`, `architecture`… from its top level.
    """

    key: str
    a: Any
    b: Any


@dataclass(frozen=True)
class FileChange:
    """One path whose entry differs between two layers of a pair."""

    path: str
    change: Change
    a: FileEntry | None
    b: FileEntry | None
    fields: tuple[str, ...] = ()
    """For `changed`: the fields that differ, among type, mode, uid, gid, size, sha256,
    link, device, xattrs and mtime."""


@dataclass(frozen=True)
class LayerChange:
    """The layers at one position of both images, and how they differ."""

    position: int
    """1 for the bottom layer."""
    status: LayerStatus
    a: LayerDigest | None
    b: LayerDigest | None
    files: tuple[FileChange, ...] = ()
    note: str | None = None
    """Why the layers differ when no entry does (member order or tar headers)."""


@dataclass(frozen=True)
class ImageSide:
    """One image of a comparison: where it came from and the digests read from it."""

    source: str
    form: str
    config_digest: str
    manifest_digest: str | None
    layers: tuple[LayerDigest, ...]


@dataclass(frozen=True)
class ImageDiff:
    """Everything two images differ in; `identical` when nothing."""

    a: ImageSide
    b: ImageSide
    config: tuple[ConfigChange, ...]
    layers: tuple[LayerChange, ...]
    problems: tuple[str, ...]
    """Digests an image declares that its bytes do not have (a corrupt image)."""

    @property
    def identical(self) -> bool:
        """Tell whether the configs and every layer are the same, and both images sound."""
        same_layers = all(layer.status == "same" for layer in self.layers)
        return not self.config and same_layers and not self.problems


def diff_references(a: str, b: str) -> ImageDiff:
    """Compare the images two references name (see `cognix.audit.images.open_image`).

    For example `diff_references("result-1.tar", "oci:layout:model")`.
    """
    with open_image(a) as first, open_image(b) as second:
        return diff_images(first, second)


def diff_images(a: Image, b: Image) -> ImageDiff:
    """Compare two opened images: config, layers by position, files in differing layers."""
    count = max(len(a.layers), len(b.layers))
    pairs = [(_at(a.layers, index), _at(b.layers, index)) for index in range(count)]
    with _threads() as pool:
        # Pairs that declare different diff_ids are listed while hashed: one read each.
        pending = [
            (pool.submit(_read, first, _declared_differ(first, second)),
             pool.submit(_read, second, _declared_differ(first, second)))
            for first, second in pairs
        ]  # fmt: skip
        read = [(first.result(), second.result()) for first, second in pending]
        # A pair that claimed the same diff_id but hashed differently is read again, listed.
        rereads = {
            index: (pool.submit(_read, pairs[index][0], True),
                    pool.submit(_read, pairs[index][1], True))
            for index, (first, second) in enumerate(read)
            if _digest(first) != _digest(second) and not _listed(first, second)
        }  # fmt: skip
        for index, (first_again, second_again) in rereads.items():
            read[index] = (first_again.result(), second_again.result())

    return ImageDiff(
        _side(a, [first for first, _ in read]),
        _side(b, [second for _, second in read]),
        tuple(config_changes(a, b)),
        tuple(_layer_change(number, *both) for number, both in enumerate(read, 1)),
        tuple(_problems("a", a, [first for first, _ in read]))
        + tuple(_problems("b", b, [second for _, second in read])),
    )


def config_changes(a: Image, b: Image) -> list[ConfigChange]:
    """Return the config keys whose values differ, the `config` object's keys first."""
    inner_a, inner_b = a.config.get("config") or {}, b.config.get("config") or {}
    changes: list[ConfigChange] = []
    for key in sorted(set(inner_a) | set(inner_b)):
        first, second = inner_a.get(key), inner_b.get(key)
        named: list[ConfigChange] = []
        if key == "Env":
            named = _by_name(key, _environment(first), _environment(second))
        elif key == "Labels":
            named = _by_name(key, first or {}, second or {})
        # Env lists that differ only in order (or a duplicate) are shown whole.
        changes += named or ([ConfigChange(key, first, second)] if first != second else [])
    for key in sorted((set(a.config) | set(b.config)) - {"config", "rootfs"}):
        if a.config.get(key) != b.config.get(key):
            changes.append(ConfigChange(key, a.config.get(key), b.config.get(key)))
    # The configs' bytes differ, but in no key: not in rootfs either (the layers differ then).
    same_rootfs = a.config.get("rootfs") == b.config.get("rootfs")
    if not changes and same_rootfs and a.config_digest != b.config_digest:
        changes.append(ConfigChange(_ENCODING, a.config_digest, b.config_digest))
    return changes


def _by_name(key: str, first: dict[str, Any], second: dict[str, Any]) -> list[ConfigChange]:
    return [
        ConfigChange(f"{key}[{name}]", first.get(name), second.get(name))
        for name in sorted(set(first) | set(second))
        if first.get(name) != second.get(name)
    ]


def _environment(variables: list[str] | None) -> dict[str, str]:
    pairs = (variable.partition("=") for variable in variables or [])
    return {name: value for name, _, value in pairs}


def _at(layers: tuple[Layer, ...], index: int) -> Layer | None:
    return layers[index] if index < len(layers) else None


def _declared_differ(first: Layer | None, second: Layer | None) -> bool:
    if first is None or second is None:
        return True
    return first.declared_diff_id != second.declared_diff_id


Read = LayerDigest | LayerContents | None


def _read(layer: Layer | None, listed: bool) -> Read:
    if layer is None:
        return None
    return scan_layer(layer) if listed else hash_layer(layer)


def _digest(read: Read) -> LayerDigest | None:
    return read.digest if isinstance(read, LayerContents) else read


def _listed(first: Read, second: Read) -> bool:
    return all(isinstance(read, LayerContents) or read is None for read in (first, second))


def _side(image: Image, read: list[Read]) -> ImageSide:
    digests = tuple(digest for digest in map(_digest, read) if digest is not None)
    return ImageSide(image.source, image.form, image.config_digest, image.manifest_digest, digests)


def _layer_change(position: int, first: Read, second: Read) -> LayerChange:
    a, b = _digest(first), _digest(second)
    if a is not None and b is not None and a.diff_id == b.diff_id:
        return LayerChange(position, "same", a, b)
    entries_a = first.entries if isinstance(first, LayerContents) else ()
    entries_b = second.entries if isinstance(second, LayerContents) else ()
    files = tuple(file_changes(entries_a, entries_b))
    status: LayerStatus = "changed" if a and b else ("added" if b else "removed")
    note = None
    if not files and status == "changed":
        order_a = [entry.key for entry in entries_a]
        order_b = [entry.key for entry in entries_b]
        note = (
            "no entry differs: the tars list them in a different order"
            if order_a != order_b
            else "no entry differs: the tars differ in headers (names of owners, pax records)"
        )
    return LayerChange(position, status, a, b, files, note)


def file_changes(
    a: tuple[FileEntry, ...] | list[FileEntry], b: tuple[FileEntry, ...] | list[FileEntry]
) -> list[FileChange]:
    """Compare two layers' entries by path; return the differences sorted by path."""
    by_key_a = {entry.key: entry for entry in a}
    by_key_b = {entry.key: entry for entry in b}
    changes = []
    for key in sorted(set(by_key_a) | set(by_key_b)):
        first, second = by_key_a.get(key), by_key_b.get(key)
        if first is None or second is None:
            change: Change = "added" if first is None else "removed"
            changes.append(FileChange(key[0], change, first, second))
            continue
        differing = tuple(
            name for name in _COMPARED if getattr(first, name) != getattr(second, name)
        )
        if differing:
            changes.append(FileChange(key[0], "changed", first, second, differing))
    return changes


def _problems(label: str, image: Image, read: list[Read]) -> Iterator[str]:
    for layer, found in zip(image.layers, map(_digest, read), strict=False):
        if found is None:
            continue
        if found.diff_id != layer.declared_diff_id:
            yield (
                f"{label}: layer {layer.position} is {found.diff_id} "
                f"but the config declares {layer.declared_diff_id}"
            )
        stored = found.blob_digest or found.diff_id
        if layer.declared_blob_digest not in (None, stored):
            yield (
                f"{label}: layer {layer.position}'s blob is {stored} "
                f"but the manifest declares {layer.declared_blob_digest}"
            )


@contextlib.contextmanager
def _threads() -> Iterator[ThreadPoolExecutor]:
    """Yield a pool of a few threads; on an error or Ctrl-C, drop the work not started."""
    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


# The two output forms.


def to_json(diff: ImageDiff) -> dict[str, Any]:
    """Return the diff as JSON data, with these keys (stable; new keys may be added):

    - `identical`: true when nothing differs (the command's exit code 0).
    - `a`, `b`: `source`, `form` (docker-archive, oci-layout, oci-archive),
      `config_digest`, `manifest_digest` (null for a docker-archive) and `layers`, bottom
      first, each `{diff_id, size, blob_digest, compression}` (`blob_digest` and
      `compression` null for an uncompressed blob; `compression` else "gzip").
    - `config`: `[{key, a, b}]`, one per differing key (see `ConfigChange`); null where an
      image lacks the key.
    - `layers`: one per position, `{position, status, a, b, files, note}`: position 1 is
      the bottom layer; status is same, changed, added (only in b) or removed (only in a);
      `a` and `b` are diff_ids or null; `files` lists `{path, change, fields, a, b}` sorted
      by path, change being added, removed or changed, `fields` the differing field names,
      and `a`/`b` the entries `{path, type, mode, uid, gid, size, mtime, sha256, link,
      device, xattrs}` (mode as 4 octal digits, type one of file, dir, symlink, hardlink,
      char, block, fifo, whiteout, opaque); `note` says why a changed layer whose entries
      are all equal differs, else null.
    - `problems`: digests an image declares that its bytes do not have.
    """
    return {
        "identical": diff.identical,
        "a": _side_json(diff.a),
        "b": _side_json(diff.b),
        "config": [{"key": c.key, "a": c.a, "b": c.b} for c in diff.config],
        "layers": [_layer_json(layer) for layer in diff.layers],
        "problems": list(diff.problems),
    }


def render_json(diff: ImageDiff) -> str:
    """Return the diff as indented JSON text, with a final newline."""
    return json.dumps(to_json(diff), indent=2, sort_keys=False) + "\n"


def _side_json(side: ImageSide) -> dict[str, Any]:
    return {
        "source": side.source,
        "form": side.form,
        "config_digest": side.config_digest,
        "manifest_digest": side.manifest_digest,
        "layers": [_digest_json(layer) for layer in side.layers],
    }


def _digest_json(digest: LayerDigest | None) -> dict[str, Any] | None:
    if digest is None:
        return None
    return {field.name: getattr(digest, field.name) for field in fields(digest)}


def _layer_json(layer: LayerChange) -> dict[str, Any]:
    return {
        "position": layer.position,
        "status": layer.status,
        "a": layer.a.diff_id if layer.a else None,
        "b": layer.b.diff_id if layer.b else None,
        "files": [_file_json(change) for change in layer.files],
        "note": layer.note,
    }


def _file_json(change: FileChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "change": change.change,
        "fields": list(change.fields),
        "a": _entry_json(change.a),
        "b": _entry_json(change.b),
    }


def _entry_json(entry: FileEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    data = {field.name: getattr(entry, field.name) for field in fields(entry)}
    data["mode"] = f"{entry.mode:04o}"
    data["xattrs"] = dict(entry.xattrs)
    return data


def render_text(diff: ImageDiff) -> str:
    """Return the diff as lines for a terminal: only what differs, then a summary line."""
    lines = [_side_line("a", diff.a), _side_line("b", diff.b)]
    lines += [f"config {_shown(c.key)}: {_value(c.a)} -> {_value(c.b)}" for c in diff.config]
    for layer in diff.layers:
        if layer.status != "same":
            lines += _layer_lines(layer, len(diff.layers))
    lines += [f"problem: {problem}" for problem in diff.problems]
    lines.append(_summary(diff))
    return "\n".join(lines) + "\n"


def _side_line(label: str, side: ImageSide) -> str:
    manifest = f", manifest {side.manifest_digest}" if side.manifest_digest else ""
    count = len(side.layers)
    layers = f"{count} layer" + ("" if count == 1 else "s")
    source = _shown(side.source)
    return f"{label}: {source} ({side.form}, config {side.config_digest}{manifest}, {layers})"


def _layer_lines(layer: LayerChange, count: int) -> list[str]:
    where = f"layer {layer.position} of {count}"
    if layer.status == "changed":
        assert layer.a is not None
        assert layer.b is not None
        head = f"{where} differs: {_short(layer.a.diff_id)} -> {_short(layer.b.diff_id)}"
    elif layer.status == "added":
        head = f"{where} only in b: {_short(layer.b.diff_id if layer.b else None)}"
    else:
        head = f"{where} only in a: {_short(layer.a.diff_id if layer.a else None)}"
    lines = [head, *(f"  {_file_line(change)}" for change in layer.files)]
    if layer.note:
        lines.append(f"  {layer.note}")
    return lines


def _file_line(change: FileChange) -> str:
    if change.change == "changed":
        assert change.a is not None
        assert change.b is not None
        shown = _FIELD_FORMS
        details = "; ".join(
            f"{name} {shown.get(name, _value)(getattr(change.a, name))}"
            f" -> {shown.get(name, _value)(getattr(change.b, name))}"
            for name in change.fields
        )
        return f"changed  {_shown(change.path)}: {details}"
    entry = change.a or change.b
    assert entry is not None
    what = {
        "whiteout": "whiteout: deletes it from the layers below",
        "opaque": "opaque folder: hides what the layers below have in it",
    }.get(entry.type, entry.type)
    return f"{change.change:<8} {_shown(change.path)} ({what})"


def _summary(diff: ImageDiff) -> str:
    if diff.identical:
        return "identical"
    layers = [layer for layer in diff.layers if layer.status != "same"]
    files = sum(len(layer.files) for layer in layers)
    parts = [
        _count(len(diff.config), "config key"),
        _count(len(layers), "layer"),
        _count(files, "file"),
        _count(len(diff.problems), "problem"),
    ]
    return "different: " + ", ".join(part for part in parts if part)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}" if number else ""


def _short(digest: str | None) -> str:
    """Show a sha256 digest as docker shows image IDs: its first 12 hex digits."""
    if digest is None:
        return "none"
    return digest[: len("sha256:") + 12] if digest.startswith("sha256:") else digest


def _shown(text: str) -> str:
    """Show a path or key from an image on one line: a newline or tab in a name could fake
    lines of the report, and a byte that is not UTF-8 (read as a lone surrogate) could reach
    the terminal raw, as a C1 control. Other control characters are escaped by the CLI.
    """
    return "".join(
        f"\\x{ord(character) - 0xDC00:02x}" if 0xDC80 <= ord(character) <= 0xDCFF
        else {"\n": "\\n", "\t": "\\t", "\\": "\\\\"}.get(character, character)
        for character in text
    )  # fmt: skip


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


_FIELD_FORMS: dict[str, Callable[[Any], str]] = {
    "mode": lambda mode: f"{mode:04o}",
    "sha256": _short,
    "xattrs": lambda xattrs: _value(dict(xattrs)),
}
