"""Send the image stream to its destination: a container engine, a file or a folder.

The stream script writes a docker-archive to its stdout. Engines read it through a pipe;
files are written beside their destination and renamed into place, so a failure or Ctrl-C
never leaves a partial image behind. OCI forms are converted by skopeo.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cognix import external
from cognix.errors import JobFailed
from cognix.image.destination import (
    DOCKER_HINT,
    ENGINES,
    PODMAN_HINT,
    SKOPEO_HINT,
    Output,
    check_reference,
    parse_output,
)

# `docker load` says `Loaded image: NAME:TAG` (or `Loaded image ID: …` for an untagged
# image); podman says `Loaded image: …`, or `Loaded image(s): …` before podman 4.
_LOADED = re.compile(r"^Loaded image(?: ID|\(s\))?: (\S+)", re.MULTILINE)
_STREAM_HINT = "the image stream script failed; `cognix -v build` shows its output"


@dataclass(frozen=True)
class ExportResult:
    """Where the image went, and the reference it carries there (None when it has none)."""

    output: Output
    reference: str | None


def export_image(stream_script: Path, output: Output | str, tag: str | None) -> ExportResult:
    """Run `stream_script` and send the image it writes to `output`, named `tag` if given.

    For example `export_image(script, "oci-archive:model.tar", "model:v1")` writes an OCI
    archive whose image is named `model:v1`. Without `tag`, the image keeps the name and
    tag Nix gave it.
    """
    target = output if isinstance(output, Output) else parse_output(output)
    if tag is not None:
        check_reference(tag)
    if target.kind in ENGINES:
        return ExportResult(target, _load(stream_script, target.kind, tag))
    if target.path is None:
        raise JobFailed(f"{target} has no destination path")

    try:
        return ExportResult(target, _write(stream_script, target, target.path, tag))
    except OSError as error:
        raise JobFailed(f"cannot write {target.path}: {error.strerror or error}") from None


def _write(stream_script: Path, target: Output, destination: Path, tag: str | None) -> str | None:
    with _work_dir(destination) as work:
        archive = work / "image.tar"
        with archive.open("xb") as sink:
            external.run_to_file([str(stream_script)], sink, hint=_STREAM_HINT)
        reference = tag or archive_reference(archive)
        if target.kind == "docker-archive" and tag is None:
            os.replace(archive, destination)
        else:
            _convert(archive, target, destination, reference, work)
    return reference


def archive_reference(archive: Path) -> str | None:
    """Return the first `NAME:TAG` a docker-archive's `manifest.json` gives, if any."""
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                if member.name.lstrip("./") != "manifest.json":
                    continue
                handle = tar.extractfile(member)
                manifest = json.load(handle) if handle is not None else None
                tags = manifest[0].get("RepoTags") if isinstance(manifest, list) else None
                return _familiar(str(tags[0])) if tags else None
    except (tarfile.TarError, ValueError, LookupError, AttributeError) as error:
        raise JobFailed(f"the image stream is not a docker-archive: {error}") from None
    return None


def _familiar(reference: str) -> str:
    """Show a reference as docker does: `docker.io/library/x:1` as `x:1`."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference.removeprefix(prefix)
    return reference


def _load(stream_script: Path, engine: str, tag: str | None) -> str | None:
    program = external.find_program(engine, DOCKER_HINT if engine == "docker" else PODMAN_HINT)
    loaded = external.pipe([str(stream_script)], [program, "load"], hint=_STREAM_HINT)
    found = _LOADED.findall(loaded.stdout + "\n" + loaded.stderr)
    reference = found[-1] if found else None
    if tag is None:
        return reference
    if reference is None:
        raise JobFailed(f"{engine} load did not say which image it loaded, so it cannot be tagged")
    external.run([program, "tag", reference, tag])
    return tag


def _convert(
    archive: Path, target: Output, destination: Path, reference: str | None, work: Path
) -> None:
    """Copy the docker-archive to `destination` in `target`'s form, with skopeo."""
    skopeo = external.find_program("skopeo", SKOPEO_HINT)
    in_place = target.kind == "oci" and destination.exists()
    written = destination if in_place else work / "converted"
    name = f"{target.kind}:{written}" + (f":{reference}" if reference else "")
    argv = [
        skopeo,
        # The image comes from a file cognix just wrote, not from a registry: no
        # signature policy applies, and a host without /etc/containers/policy.json works.
        "--insecure-policy",
        "copy",
        "--quiet",
        f"docker-archive:{archive}",
        name,
    ]
    if target.kind != "docker-archive":
        # Keep Nix's uncompressed layers: their digests stay those of the stream.
        argv.insert(4, "--dest-oci-accept-uncompressed-layers")
    external.run(argv)
    if not in_place:
        os.replace(written, destination)


@contextlib.contextmanager
def _work_dir(destination: Path) -> Iterator[Path]:
    """Yield a fresh folder beside `destination` (same file system), removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
