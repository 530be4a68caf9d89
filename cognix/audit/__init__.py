"""The audit stage: read images wherever they are, and compare them.

`open_image` reads a docker-archive, an OCI layout or archive, or any skopeo reference;
`diff_images` (or `diff_references`) compares two images layer by layer and file by file;
`render_text` and `render_json` give the forms `cognix audit diff` prints.
"""

from cognix.audit.diff import (
    ConfigChange,
    FileChange,
    ImageDiff,
    ImageSide,
    LayerChange,
    diff_images,
    diff_references,
    render_json,
    render_text,
    to_json,
)
from cognix.audit.images import Blob, Image, Layer, open_image, read_path
from cognix.audit.layers import (
    FileEntry,
    LayerContents,
    LayerDigest,
    hash_image,
    hash_layer,
    scan_layer,
)

__all__ = [
    "Blob",
    "ConfigChange",
    "FileChange",
    "FileEntry",
    "Image",
    "ImageDiff",
    "ImageSide",
    "Layer",
    "LayerChange",
    "LayerContents",
    "LayerDigest",
    "diff_images",
    "diff_references",
    "hash_image",
    "hash_layer",
    "open_image",
    "read_path",
    "render_json",
    "render_text",
    "scan_layer",
    "to_json",
]
