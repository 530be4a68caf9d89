"""The image stage: build the flake's stream script with Nix, then export the image.

`build_image_script` runs `nix build path:<project>#image`; `export_image` sends the
stream to docker, podman, a docker or OCI archive, or an OCI layout folder.
"""

from cognix.image.destination import Output, choose_output, parse_output
from cognix.image.export import ExportResult, export_image
from cognix.image.nix_build import build_image_script

__all__ = [
    "ExportResult",
    "Output",
    "build_image_script",
    "choose_output",
    "export_image",
    "parse_output",
]
