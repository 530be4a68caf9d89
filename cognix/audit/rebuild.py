"""`cognix audit rebuild`: build the image twice and compare what the two streams hold.

The first build is an ordinary `nix build`. The second is `nix build --rebuild`, which
builds the stream script's derivation again and fails when its output differs from the
first (Nix names the derivation). Each build's script is then run into a docker-archive,
and the two images are compared by config digest and by every layer's digest, read as
streams: the layers hold the wheels, the source and the customisation layer, so a
difference there is a difference in the image a user pulls.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cognix.audit.images import open_image
from cognix.audit.layers import hash_image


@dataclass(frozen=True)
class StreamedImage:
    """What one build's stream held: its config digest and its layers' diff_ids, bottom first."""

    config_digest: str
    layers: tuple[str, ...]


@dataclass(frozen=True)
class RebuildResult:
    """The two builds of an image, and where they differ."""

    script: Path
    first: StreamedImage
    second: StreamedImage

    def differences(self) -> list[str]:
        """Return one line per differing part: the config, then each layer by position."""
        lines = []
        if self.first.config_digest != self.second.config_digest:
            lines.append(f"config: {self.first.config_digest} -> {self.second.config_digest}")
        count = max(len(self.first.layers), len(self.second.layers))
        for index in range(count):
            a = _at(self.first.layers, index)
            b = _at(self.second.layers, index)
            if a != b:
                lines.append(f"layer {index + 1} of {count}: {a} -> {b}")
        return lines

    def summary(self) -> str:
        """Return the one-line verdict."""
        if self.differences():
            return f"the two builds differ in {len(self.differences())} places"
        return (
            f"identical: config {self.first.config_digest}, "
            f"{len(self.first.layers)} layers, built twice"
        )


def audit_rebuild(
    project_dir: Path,
    *,
    nix_options: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    minimum_nix: str | None = None,
) -> RebuildResult:
    """Build `path:<project_dir>#image` twice, stream both, and compare the images.

    Raises `JobFailed` when a build fails, `nix build --rebuild` finding a derivation whose
    output changed included.
    """
    from cognix.image.nix_build import MINIMUM_NIX, build_image_script

    def build(rebuild: bool) -> Path:
        return build_image_script(
            project_dir,
            nix_options=nix_options,
            progress=progress,
            minimum_nix=minimum_nix or MINIMUM_NIX,
            rebuild=rebuild,
        )

    with tempfile.TemporaryDirectory(prefix="cognix-rebuild-") as work:
        script = build(rebuild=False)
        first = _streamed(script, Path(work) / "first.tar")
        second = _streamed(build(rebuild=True), Path(work) / "second.tar")
    return RebuildResult(script, first, second)


def _streamed(script: Path, archive: Path) -> StreamedImage:
    """Run the stream script into `archive` and read its digests, then remove it."""
    from cognix.image.export import export_image

    export_image(script, f"docker-archive:{archive}", None)
    with open_image(str(archive)) as image:
        digests = hash_image(image)
        config_digest = image.config_digest
    archive.unlink()
    return StreamedImage(config_digest, tuple(digest.diff_id for digest in digests))


def _at(layers: tuple[str, ...], index: int) -> str:
    return layers[index] if index < len(layers) else "(none)"
