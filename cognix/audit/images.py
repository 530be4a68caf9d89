"""Open an image wherever it is: a docker-archive, an OCI layout or archive, or a skopeo ref.

`open_image` turns a reference into an `Image`: its config, its digests, and its layers as
`Blob`s, byte ranges of files on disk that are read as streams when needed (see
`cognix.audit.layers`), never loaded whole. A reference that is an existing path is read by
what it is: a folder as an OCI layout, a file as a docker-archive or an OCI archive by its
content. The file transports `docker-archive:PATH`, `oci-archive:PATH` and `oci:DIR` (each
with an optional `:NAME`) are read the same way, directly: skopeo would rewrite a
docker-archive's config on the way (its digest would change). Other references
(`docker://…`, `docker-daemon:…`, `containers-storage:…`, `dir:…`) are copied by skopeo
into a temporary OCI layout first, which is removed when the `with` block ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import platform
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cognix import external
from cognix.errors import ExternalCommandFailed, InputError, Unsupported

Form = Literal["docker-archive", "oci-layout", "oci-archive"]

FILE_TRANSPORTS: dict[str, Form] = {
    "docker-archive:": "docker-archive",
    "oci-archive:": "oci-archive",
    "oci:": "oci-layout",
}
SKOPEO_TRANSPORTS = (
    "docker://",
    "docker-daemon:",
    "containers-storage:",
    "dir:",
    "ostree:",
    "sif:",
)
SKOPEO_HINT = (
    "install skopeo (Debian or Ubuntu: `apt-get install skopeo`; with Nix: "
    "`nix profile install nixpkgs#skopeo`), or pass the image as a docker-archive file "
    "or an OCI layout folder, which cognix reads itself"
)
_ACCEPTED = (
    "pass a docker-archive or OCI archive file, an OCI layout folder (PATH or PATH:NAME), "
    "or a reference: " + ", ".join(f"{name}…" for name in (*FILE_TRANSPORTS, *SKOPEO_TRANSPORTS))
)
# OCI image-spec annotations.md: the name of an image in a layout's index.json.
REF_NAME = "org.opencontainers.image.ref.name"
_CONTAINERD_NAME = "io.containerd.image.name"
_INDEXES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_CONFORMING = "the image was not written by a conforming tool"
_JSON_LIMIT = 64 << 20
"""The largest manifest or config read into memory; real ones are a few kilobytes."""


@dataclass(frozen=True)
class Blob:
    """A byte range of a file on disk: a member of a tar, or a whole file of a layout."""

    path: Path
    offset: int
    size: int

    def open(self) -> io.BufferedReader:
        """Open the range for reading, from its first byte to its last."""
        return io.BufferedReader(_Range(self), buffer_size=1 << 20)

    def read_bytes(self) -> bytes:
        """Return the whole range; only for small blobs such as configs and manifests."""
        if self.size > _JSON_LIMIT:
            raise InputError(f"{self.path}: a {self.size}-byte JSON blob is too large to read")
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class Layer:
    """One layer as the image declares it: where its blob is and the digests it claims."""

    position: int
    """1 for the bottom layer."""
    blob: Blob
    declared_diff_id: str
    """The config's `rootfs.diff_ids` entry: the sha256 of the uncompressed tar."""
    declared_blob_digest: str | None
    """The manifest's digest of the stored blob (OCI forms only)."""


@dataclass(frozen=True)
class Image:
    """An image read from `source`: its config and its layers, bottom first."""

    source: str
    form: Form
    config_digest: str
    """The sha256 of the config blob: docker's image ID."""
    manifest_digest: str | None
    """The sha256 of the OCI manifest; None for a docker-archive, which has none."""
    config: dict[str, Any]
    layers: tuple[Layer, ...]


@contextlib.contextmanager
def open_image(reference: str) -> Iterator[Image]:
    """Yield the image `reference` names; temporary copies are removed afterwards.

    For example `with open_image("result.tar") as image: image.layers[0].declared_diff_id`.
    Raises `InputError` when the reference names nothing readable, and `ToolMissing` when a
    skopeo reference is given without skopeo installed.
    """
    path = Path(reference).expanduser()
    head, colon, name = reference.rpartition(":")
    transport = next((prefix for prefix in FILE_TRANSPORTS if reference.startswith(prefix)), None)
    if path.exists():
        yield read_path(path, None, reference)
    elif transport is not None:
        yield _read_transport(reference, transport)
    elif reference.startswith(SKOPEO_TRANSPORTS):
        with _skopeo_layout(reference) as layout:
            yield read_oci_layout(layout, None, reference)
    elif colon and head and Path(head).expanduser().exists():
        yield read_path(Path(head).expanduser(), name, reference)
    else:
        message = f"{reference} is neither an existing file or folder nor an image reference"
        raise InputError(message, _ACCEPTED)


def read_path(path: Path, name: str | None, source: str | None = None) -> Image:
    """Read the image at `path` by what it is: a layout folder, or an archive by its content.

    `name` picks one image when the file or folder holds several.
    """
    source = source or str(path)
    if path.is_dir():
        return read_oci_layout(path, name, source)
    members = _tar_members(path)
    with _malformed(path):
        if "oci-layout" in members and "index.json" in members:
            return _read_oci(_ArchiveBlobs(path, members), name, source, "oci-archive")
        if "manifest.json" in members:
            return _read_docker_archive(path, members, name, source)
    raise InputError(
        f"{path} is a tar archive but neither a docker-archive (no manifest.json) "
        "nor an OCI archive (no oci-layout and index.json)",
        _ACCEPTED,
    )


def _read_transport(reference: str, transport: str) -> Image:
    """Read `docker-archive:PATH[:NAME]`, `oci-archive:PATH[:NAME]` or `oci:DIR[:NAME]`."""
    # skopeo's own rule: the path ends at the first colon after the transport.
    path, _, name = reference.removeprefix(transport).partition(":")
    expected = FILE_TRANSPORTS[transport]
    if not Path(path).expanduser().exists():
        raise InputError(f"{reference}: {path} does not exist", f"{transport} names a {expected}")
    image = read_path(Path(path).expanduser(), name or None, reference)
    if image.form != expected:
        message = f"{reference}: {transport} expects {expected}, but {path} is {image.form}"
        raise InputError(message)
    return image


def read_oci_layout(path: Path, name: str | None, source: str | None = None) -> Image:
    """Read the image `name` (or the only image) of the OCI layout folder `path`."""
    if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
        raise InputError(
            f"{path} is a folder but not an OCI image layout (no oci-layout or index.json)",
            _ACCEPTED,
        )
    with _malformed(path):
        return _read_oci(_LayoutBlobs(path), name, source or str(path), "oci-layout")


@contextlib.contextmanager
def _malformed(path: Path) -> Iterator[None]:
    """Turn a missing or mistyped field of a manifest or config into an `InputError`."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        message = f"{path}: a manifest or config is malformed ({type(error).__name__}: {error})"
        raise InputError(message, _CONFORMING) from None


class _Range(io.RawIOBase):
    """Read a `Blob`'s bytes and no others; a short file is reported as truncated."""

    def __init__(self, blob: Blob) -> None:
        self._blob = blob
        self._file = blob.path.open("rb", buffering=0)
        self._file.seek(blob.offset)
        self._left = blob.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        if not view:
            return 0
        count = self._file.readinto(view)
        if not count:
            raise InputError(f"{self._blob.path} is truncated: it ends inside a blob")
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def _tar_members(path: Path) -> dict[str, tarfile.TarInfo]:
    """Return the members of the tar `path` by normalized name, reading only their headers."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b" or magic == b"\x28\xb5\x2f\xfd":
        raise InputError(
            f"{path} is a compressed file, not a docker-archive or OCI archive",
            "decompress it first (gunzip or unzstd); cognix reads uncompressed archives",
        )
    try:
        with tarfile.open(path, "r:") as tar:
            return {member_name(member.name): member for member in tar}
    except (tarfile.TarError, OSError) as error:
        raise InputError(
            f"{path} is not a readable docker-archive or OCI archive: {error}", _ACCEPTED
        ) from None


def member_name(name: str) -> str:
    """Return a tar member name without `./` or `/` in front or `/` behind; `.` for the root."""
    while name.startswith(("./", "/")):
        name = name[1:] if name.startswith("/") else name[2:]
    return name.rstrip("/") or "."


class _ArchiveBlobs:
    """The blobs of an OCI archive: members `blobs/ALG/HEX` of a tar."""

    def __init__(self, path: Path, members: dict[str, tarfile.TarInfo]) -> None:
        self.path = path
        self._members = members

    def file(self, name: str) -> Blob:
        member = self._members.get(name)
        seen: set[str] = set()
        while member is not None and member.issym() and name not in seen:
            seen.add(name)
            name = member_name(str(Path(name).parent / member.linkname))
            member = self._members.get(name)
        while member is not None and member.islnk() and name not in seen:
            seen.add(name)
            name = member_name(member.linkname)
            member = self._members.get(name)
        if member is None or not member.isfile():
            raise InputError(f"{self.path} has no file {name}", "the archive is incomplete")
        return Blob(self.path, member.offset_data, member.size)

    def blob(self, digest: str) -> Blob:
        return self.file(_blob_name(digest, self.path))


class _LayoutBlobs:
    """The blobs of an OCI layout folder: files `blobs/ALG/HEX`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, name: str) -> Blob:
        file = self.path / name
        if not file.is_file():
            raise InputError(f"{self.path} has no file {name}", "the layout is incomplete")
        # A blob linked to a file outside the layout is not part of the image being audited.
        if not file.resolve().is_relative_to(self.path.resolve()):
            raise InputError(
                f"{self.path}: {name} links outside the layout", "copy the blob into the layout"
            )
        return Blob(file, 0, file.stat().st_size)

    def blob(self, digest: str) -> Blob:
        return self.file(_blob_name(digest, self.path))


def _blob_name(digest: str, where: Path) -> str:
    algorithm, _, encoded = digest.partition(":")
    if algorithm != "sha256":
        raise Unsupported(f"{where}: blob {digest} uses {algorithm}; cognix reads sha256 only")
    if len(encoded) != 64 or not all(c in "0123456789abcdef" for c in encoded):
        raise InputError(f"{where}: {digest!r} is not a sha256 digest")
    return f"blobs/sha256/{encoded}"


def _read_oci(
    blobs: _ArchiveBlobs | _LayoutBlobs, name: str | None, source: str, form: Form
) -> Image:
    index = _json(blobs.file("index.json").read_bytes(), blobs.path, "index.json")
    descriptor = _pick_descriptor(index.get("manifests") or [], name, blobs.path)
    manifest_bytes = _verified(blobs, descriptor)
    manifest = _json(manifest_bytes, blobs.path, descriptor["digest"])
    # A nested index (a multi-platform image): follow it to this machine's platform.
    while descriptor.get("mediaType") in _INDEXES or manifest.get("mediaType") in _INDEXES:
        descriptor = _pick_platform(manifest.get("manifests") or [], blobs.path)
        manifest_bytes = _verified(blobs, descriptor)
        manifest = _json(manifest_bytes, blobs.path, descriptor["digest"])

    config_bytes = _verified(blobs, manifest.get("config") or {})
    config = _config(config_bytes, blobs.path, "the config")
    descriptors = manifest.get("layers") or []
    diff_ids = _diff_ids(config, len(descriptors), blobs.path)
    layers = tuple(
        Layer(number, blobs.blob(layer["digest"]), diff_id, layer["digest"])
        for number, (layer, diff_id) in enumerate(zip(descriptors, diff_ids, strict=True), 1)
    )
    return Image(
        source,
        form,
        _sha256(config_bytes),
        descriptor["digest"],
        config,
        layers,
    )


def _pick_descriptor(manifests: list[Any], name: str | None, where: Path) -> dict[str, Any]:
    """Return the manifest descriptor named `name`, or the only one."""
    if not isinstance(manifests, list) or not manifests:
        raise InputError(f"{where} holds no image (its index lists no manifest)")
    if name is None and len(manifests) == 1:
        return dict(manifests[0])
    names = [_names(descriptor) for descriptor in manifests]
    for descriptor, known in zip(manifests, names, strict=True):
        if name is not None and name in known:
            return dict(descriptor)
    listed = ", ".join(sorted({known[0] for known in names if known})) or "none has a name"
    if name is None:
        message = f"{where} holds {len(manifests)} images ({listed})"
        raise InputError(message, f"name one, as {where}:NAME")
    raise InputError(f"{where} has no image named {name!r}", f"its images: {listed}")


def _pick_platform(manifests: list[Any], where: Path) -> dict[str, Any]:
    """Return the only manifest of a multi-platform index, or the one for this machine."""
    if len(manifests) == 1:
        return dict(manifests[0])
    machine = platform.machine().lower()
    architecture = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    fitting = [
        descriptor
        for descriptor in manifests
        if (descriptor.get("platform") or {}).get("os") == "linux"
        and (descriptor.get("platform") or {}).get("architecture") == architecture
    ]
    if len(fitting) != 1:
        message = f"{where}: a multi-platform image has {len(fitting)} linux/{architecture} images"
        raise Unsupported(message, "copy the platform to compare with skopeo copy first")
    return dict(fitting[0])


def _names(descriptor: dict[str, Any]) -> list[str]:
    annotations = descriptor.get("annotations") or {}
    names = [annotations[key] for key in (REF_NAME, _CONTAINERD_NAME) if key in annotations]
    return [*names, *(_familiar(name) for name in names)]


def _familiar(reference: str) -> str:
    """Show a reference as docker does: `docker.io/library/x:1` as `x:1`."""
    for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
        if reference.startswith(prefix):
            return reference.removeprefix(prefix)
    return reference


def _verified(blobs: _ArchiveBlobs | _LayoutBlobs, descriptor: dict[str, Any]) -> bytes:
    """Return the bytes of the blob `descriptor` names, checked against its digest."""
    digest = descriptor.get("digest")
    if not isinstance(digest, str):
        raise InputError(f"{blobs.path}: a descriptor has no digest: {descriptor}")
    data = blobs.blob(digest).read_bytes()
    if _sha256(data) != digest:
        raise InputError(f"{blobs.path}: blob {digest} does not match its digest (corrupt)")
    return data


def _read_docker_archive(
    path: Path, members: dict[str, tarfile.TarInfo], name: str | None, source: str
) -> Image:
    blobs = _ArchiveBlobs(path, members)
    manifest = _json(blobs.file("manifest.json").read_bytes(), path, "manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise InputError(f"{path}: manifest.json lists no image", "the archive is incomplete")
    entry = _pick_entry(manifest, name, path)
    config_bytes = blobs.file(member_name(entry["Config"])).read_bytes()
    config = _config(config_bytes, path, entry["Config"])
    files = entry.get("Layers") or []
    diff_ids = _diff_ids(config, len(files), path)
    layers = tuple(
        Layer(number, blobs.file(member_name(file)), diff_id, None)
        for number, (file, diff_id) in enumerate(zip(files, diff_ids, strict=True), 1)
    )
    return Image(source, "docker-archive", _sha256(config_bytes), None, config, layers)


def _pick_entry(manifest: list[Any], name: str | None, path: Path) -> dict[str, Any]:
    if name is None and len(manifest) == 1:
        return dict(manifest[0])
    tags = [list(entry.get("RepoTags") or []) for entry in manifest]
    for entry, names in zip(manifest, tags, strict=True):
        if name is not None and name in names + [_familiar(tag) for tag in names]:
            return dict(entry)
    listed = ", ".join(_familiar(names[0]) for names in tags if names) or "none has a tag"
    if name is None:
        raise InputError(f"{path} holds {len(manifest)} images ({listed})", f"as {path}:NAME")
    raise InputError(f"{path} has no image tagged {name!r}", f"its images: {listed}")


def _diff_ids(config: dict[str, Any], count: int, where: Path) -> list[str]:
    diff_ids = (config.get("rootfs") or {}).get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != count:
        found = len(diff_ids) if isinstance(diff_ids, list) else "no"
        raise InputError(f"{where}: the image has {count} layers but {found} diff_ids")
    return [str(diff_id) for diff_id in diff_ids]


def _json(data: bytes, where: Path, what: str) -> Any:
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        if isinstance(error, RecursionError):
            error = ValueError("it is nested too deeply")
        raise InputError(f"{where}: {what} is not JSON: {error}") from None


def _no_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which Python reads but JSON does not have."""
    raise ValueError(f"{name} is not a JSON value")


def _config(data: bytes, where: Path, what: str) -> dict[str, Any]:
    """Read a config, checking the shapes `cognix audit diff` compares: no surprise later."""
    config = _json(data, where, what)
    wrong = _config_shape(config)
    if wrong:
        raise InputError(f"{where}: {what} is malformed: {wrong}", _CONFORMING)
    return dict(config)


def _config_shape(config: Any) -> str | None:
    """Return what is wrong with the shape of a config, or None."""
    if not isinstance(config, dict):
        return "it is not an object"
    inner = config.get("config")
    if inner is None:
        return None
    if not isinstance(inner, dict):
        return "its config is not an object"
    environment = inner.get("Env")
    if environment is not None and not (
        isinstance(environment, list) and all(isinstance(item, str) for item in environment)
    ):
        return "its config.Env is not a list of strings"
    if not isinstance(inner.get("Labels"), dict | None):
        return "its config.Labels is not an object"
    return None


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _skopeo_layout(reference: str) -> Iterator[Path]:
    """Copy `reference` with skopeo into a temporary OCI layout; yield it, then remove it."""
    skopeo = external.find_program("skopeo", SKOPEO_HINT)
    work = Path(tempfile.mkdtemp(prefix="cognix-audit-"))
    try:
        layout = work / "layout"
        # Local images need no signature policy; a registry's images keep the user's policy.
        policy = [] if reference.startswith("docker://") else ["--insecure-policy"]
        argv = [skopeo, *policy, "copy", "--quiet"]
        # Keep uncompressed layers as they are, so that their blob digests stay the same.
        argv += ["--dest-oci-accept-uncompressed-layers", reference, f"oci:{layout}"]
        try:
            external.run(argv)
        except ExternalCommandFailed as error:
            message = f"skopeo could not read {reference}: {error.stderr_tail}"
            raise InputError(message, _ACCEPTED) from None
        yield layout
    finally:
        shutil.rmtree(work, ignore_errors=True)
