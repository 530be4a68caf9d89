"""Read a layer as a stream: its digests, and the files it adds, changes or deletes.

A layer blob is a tar, perhaps gzip-compressed. `hash_layer` computes its digests (the
diff_id is the sha256 of the uncompressed tar); `scan_layer` does the same in the same pass
while listing every entry with the sha256 of its contents. Both read in 1 MiB chunks, so
memory stays flat however large the layer is. Whiteouts (OCI image-spec layer.md) are read
as what they mean: `DIR/.wh.NAME` deletes DIR/NAME from the layers below, and
`DIR/.wh..wh..opq` hides everything the layers below have in DIR.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from cognix.audit.images import Image, Layer, member_name
from cognix.errors import InputError, Unsupported

CHUNK = 1 << 20

EntryType = Literal[
    "file", "dir", "symlink", "hardlink", "char", "block", "fifo", "whiteout", "opaque"
]
_TYPES: dict[bytes, EntryType] = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.FIFOTYPE: "fifo",
}
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_XATTR = "SCHILY.xattr."


@dataclass(frozen=True)
class LayerDigest:
    """What reading a layer's bytes found."""

    diff_id: str
    """The sha256 of the uncompressed tar."""
    size: int
    """The size of the uncompressed tar, in bytes."""
    blob_digest: str | None
    """The sha256 of the stored blob when it is compressed; None when it is the tar itself."""
    compression: Literal["gzip"] | None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a layer's tar, as it lands in the image's file system.

    A `whiteout` entry deletes `path` from the layers below; an `opaque` entry hides what the
    layers below have under the folder `path`. Both have mode 0, owner 0 and size 0.
    """

    path: str
    type: EntryType
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int
    sha256: str | None = None
    """The sha256 of a file's contents; None for every other type."""
    link: str | None = None
    """The target of a symlink or hardlink."""
    device: str | None = None
    """`MAJOR:MINOR` of a char or block device."""
    xattrs: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, bool]:
        """Identify the entry within its layer: an opaque marker sits beside its folder."""
        return (self.path, self.type == "opaque")


@dataclass(frozen=True)
class LayerContents:
    """A layer's digests and entries, in the order of its tar."""

    digest: LayerDigest
    entries: tuple[FileEntry, ...]


def hash_layer(layer: Layer) -> LayerDigest:
    """Return the digests of `layer`, reading its blob once."""
    with _LayerStream(layer) as stream:
        buffer = bytearray(CHUNK)
        while stream.readinto(buffer):
            pass
        return stream.digest()


def scan_layer(layer: Layer) -> LayerContents:
    """Return the digests and every entry of `layer`, reading its blob once."""
    with _LayerStream(layer) as stream:
        try:
            entries = _entries(stream)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise _unreadable(layer, error) from None
        # The tar's end-of-archive blocks and record padding belong to the diff_id too.
        buffer = bytearray(CHUNK)
        while stream.readinto(buffer):
            pass
        return LayerContents(stream.digest(), entries)


def _entries(stream: _LayerStream) -> tuple[FileEntry, ...]:
    entries: dict[tuple[str, bool], FileEntry] = {}
    with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as tar:
        # A stream tar keeps every header it has read (millions, in a hostile layer): not here.
        headers: list[tarfile.TarInfo] = tar.members  # type: ignore[attr-defined]
        while (member := tar.next()) is not None:
            headers.clear()
            entry = _entry(member, tar)
            # A path given twice in one tar: the later entry is the one that lands.
            entries.pop(entry.key, None)
            entries[entry.key] = entry
    return tuple(entries.values())


def _entry(member: tarfile.TarInfo, tar: tarfile.TarFile) -> FileEntry:
    path = member_name(member.name)
    folder, _, name = path.rpartition("/")
    if name == OPAQUE:
        return FileEntry(folder or ".", "opaque", 0, 0, 0, 0, 0)
    if name.startswith(WHITEOUT):
        deleted = f"{folder}/{name[len(WHITEOUT) :]}" if folder else name[len(WHITEOUT) :]
        return FileEntry(deleted, "whiteout", 0, 0, 0, 0, 0)

    kind = _TYPES.get(member.type)
    if kind is None:
        raise Unsupported(f"{path}: tar entry type {member.type!r} is not a file system entry")
    sha256 = _content_sha256(member, tar) if kind == "file" else None
    link = member_name(member.linkname) if kind == "hardlink" else None
    if kind == "symlink":
        link = member.linkname
    device = f"{member.devmajor}:{member.devminor}" if kind in ("char", "block") else None
    xattrs = tuple(
        sorted(
            (key.removeprefix(_XATTR), value)
            for key, value in member.pax_headers.items()
            if key.startswith(_XATTR)
        )
    )
    size = member.size if kind == "file" else 0
    if not math.isfinite(member.mtime):
        raise tarfile.TarError(f"{path}: its mtime is {member.mtime}")
    return FileEntry(
        path, kind, member.mode & 0o7777, member.uid, member.gid, size, int(member.mtime),
        sha256, link, device, xattrs,
    )  # fmt: skip


def _content_sha256(member: tarfile.TarInfo, tar: tarfile.TarFile) -> str:
    contents = tar.extractfile(member)
    assert contents is not None, "a regular file always has contents"
    hasher = hashlib.sha256()
    while chunk := contents.read(CHUNK):
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


class _LayerStream(io.RawIOBase):
    """The uncompressed tar of a layer, hashed (and counted) as it is read."""

    def __init__(self, layer: Layer) -> None:
        self._layer = layer
        self._blob = _Hashing(layer.blob.open())
        magic = self._blob.raw.peek(4)[:4]
        if magic[:2] == b"\x1f\x8b":
            self.compression: Literal["gzip"] | None = "gzip"
            self._tar: io.BufferedIOBase = gzip.GzipFile(fileobj=self._blob, mode="rb")
        elif magic == b"\x28\xb5\x2f\xfd":
            self._blob.close()
            raise Unsupported(
                f"{layer.blob.path}: layer {layer.position} is zstd-compressed",
                "cognix reads uncompressed and gzip layers; convert with skopeo copy",
            )
        else:
            self.compression = None
            self._tar = self._blob.raw
        self._hasher = hashlib.sha256()
        self._size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._tar.readinto(buffer)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise _unreadable(self._layer, error) from None
        if count:
            view = memoryview(buffer)[:count]
            self._hasher.update(view)
            self._size += count
        return int(count or 0)

    def read(self, size: int = -1, /) -> bytes:
        return super().read(size) or b""

    def digest(self) -> LayerDigest:
        diff_id = "sha256:" + self._hasher.hexdigest()
        if self.compression is None:
            return LayerDigest(diff_id, self._size, None, None)
        self._blob.drain()
        return LayerDigest(diff_id, self._size, self._blob.hexdigest(), self.compression)

    def close(self) -> None:
        self._tar.close()
        self._blob.close()
        super().close()


class _Hashing(io.RawIOBase):
    """A compressed blob, hashed as the decompressor reads it."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self._hasher = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self._hasher.update(memoryview(buffer)[:count])
        return count

    def drain(self) -> None:
        """Hash what the decompressor left unread (trailing bytes after the gzip stream)."""
        buffer = bytearray(CHUNK)
        while self.readinto(buffer):
            pass

    def hexdigest(self) -> str:
        return "sha256:" + self._hasher.hexdigest()

    def close(self) -> None:
        self.raw.close()
        super().close()


def _unreadable(layer: Layer, error: BaseException) -> InputError:
    message = f"{layer.blob.path}: layer {layer.position} is not a readable tar: {error}"
    return InputError(message, "the image is corrupt or truncated")


def hash_image(image: Image) -> tuple[LayerDigest, ...]:
    """Return the digests of every layer of `image`, bottom first, hashed in parallel."""
    workers = min(4, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return tuple(pool.map(hash_layer, image.layers))
