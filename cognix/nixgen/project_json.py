"""Write `.cognix/project.json`: what cog.yaml and cognix.toml say about the image.

The lock holds every version; this file holds the rest the Nix library needs at evaluation
time: the image name, the predictor, the environment, layering, and the label values Cog's
images carry. The OpenAPI schema label is computed here, before Nix evaluates anything;
the build derives the schema again from /src and stops when the two differ. The schema
covers the trainer too when cog.yaml names one, as Cog's does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cognix.config.load import Project
from cognix.errors import ConfigError, InputError, Location, Problem
from cognix.image.destination import IMAGE_NAME
from cognix.project_schema import project_openapi_schema
from cognix.resolve.native import libraries_left_out
from cognix.schema import dumps

# Cog's own rule (pkg/config/image_name.go): lowercase, spaces to dashes, other characters
# outside [a-z0-9-] dropped, at most 30 characters with the prefix.
_IMAGE_NAME_LIMIT = 30
_DROPPED = re.compile(r"[^a-z0-9-]")
# An image name must be short enough for a Nix store path name (`stream-` + its last part);
# its tag is derived from the content.
_NAME_LIMIT = 200
_IMAGE_KEY = re.compile(r"image\s*:")


def default_image_name(folder_name: str) -> str:
    """Return the image name Cog gives a project folder: `cog-<folder>`."""
    name = _DROPPED.sub("", folder_name.lower().replace(" ", "-"))
    return ("cog-" + name)[:_IMAGE_NAME_LIMIT]


def project_document(project: Project, tool: dict[str, Any]) -> dict[str, Any]:
    """Return project.json's content for `project` and its lock's `[tool.cognix]` table."""
    config = project.config
    predictor = config.predictor_ref
    if predictor is None:
        raise InputError(
            "cog.yaml names no predictor, and an image needs one",
            "add `predict: predict.py:Predictor` (or `run:`) to cog.yaml",
        )
    cog_version = str(tool.get("cog", {}).get("sdk", ""))
    schema = dumps(project_openapi_schema(project, cog_version=cog_version))

    name = config.image or default_image_name(project.directory.resolve().name)
    _check_image_name(project, name, given=bool(config.image))
    return {
        "name": name,
        "predictor": predictor,
        "trainer": config.train,
        "gpu": config.build.gpu,
        "concurrency": config.concurrency.max if config.concurrency else None,
        "environment": list(config.environment),
        "max-layers": project.settings.image.max_layers,
        # The image's library check lets these go missing (cognix/data/image-libraries.toml
        # and cognix.toml's [image] allow-missing), as the lock-time check does.
        "libraries-left-out": sorted(
            libraries_left_out() | set(project.settings.image.allow_missing)
        ),
        "extra-nixpkgs": list(project.settings.image.extra_nixpkgs),
        "labels": _labels(project, tool, name, schema, cog_version),
    }


def _check_image_name(project: Project, name: str, *, given: bool) -> None:
    """Raise `ConfigError` at cog.yaml's `image:` when docker or Nix could not use `name`."""
    if IMAGE_NAME.fullmatch(name) is not None and len(name) <= _NAME_LIMIT:
        return
    shown = name if len(name) <= 60 else name[:57] + "..."
    if given:
        text = project.cog_yaml.read_text("utf-8", errors="replace")
        lines = text.splitlines()
        line = next((n for n, t in enumerate(lines, 1) if _IMAGE_KEY.match(t)), 1)
        message = f"image {shown!r} is not an image name"
        hint = (
            "use lowercase letters, digits, `.`, `_`, `-` and `/`, with no tag, at most "
            f"{_NAME_LIMIT} characters, e.g. r8.im/user/model; `cognix build -t` sets a tag"
        )
    else:
        line = 1
        message = f"the folder name gives the image name {shown!r}, which is not an image name"
        hint = "name the image with `image: NAME` in cog.yaml, e.g. image: r8.im/user/model"
    raise ConfigError([Problem(Location(project.cog_yaml, line), message, hint)])


def _labels(
    project: Project, tool: dict[str, Any], name: str, schema: str, cog_version: str
) -> dict[str, str]:
    """Return the image labels Cog sets (pkg/image/build.go), plus OCI's title."""
    return {
        "org.opencontainers.image.description": "Cog model built by cognix from pylock.toml",
        "org.opencontainers.image.title": name,
        "run.cog.config": _config_label(project, tool),
        "run.cog.has_init": "true",
        "run.cog.openapi_schema": schema,
        "run.cog.version": cog_version,
    }


def _config_label(project: Project, tool: dict[str, Any]) -> str:
    """Return `run.cog.config`: the completed config, compact, `run` under `predict`."""
    config = project.config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if config.pop("run", None) is not None:
        config["predict"] = project.config.predictor_ref
    build = config["build"]
    if "run" in build:
        # Cog keeps each item as {"command": …, "mounts": …}, whichever way it was written.
        build["run"] = [{"command": item} if isinstance(item, str) else item
                        for item in build["run"]]  # fmt: skip
    cuda = tool.get("cuda")
    if cuda is not None:
        build["cuda"] = cuda["version"]
        if "cudnn" in cuda:
            build["cudnn"] = cuda["cudnn"]
    return json.dumps(config, separators=(",", ":"), ensure_ascii=False)


def render_project_json(document: dict[str, Any]) -> str:
    """Return project.json's text: sorted keys, so equal content gives equal bytes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
