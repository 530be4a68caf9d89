"""The OpenAPI schema of a loaded project: cog.yaml's predictor and trainer, as Cog merges them.

`cognix.schema` reads Python source with the standard library only, so that it can run in a
bare Nix build; this module is its one caller inside cognix, and turns its errors into
located `ConfigError`s. `check`, `schema`, `predict --local`, `serve --local` and
`generate` (the `run.cog.openapi_schema` label) all get the schema here, so the one each
shows is the one the image holds.
"""

from __future__ import annotations

from typing import Any

from cognix.config.load import Project
from cognix.errors import ConfigError, Location, Problem


def project_openapi_schema(project: Project, *, cog_version: str = "") -> dict[str, Any]:
    """Return the schema of the project's predictor and trainer.

    `cog_version` (the locked cog SDK) goes into info.version; empty keeps the schema
    module's own.
    """
    from cognix.schema import SchemaError, project_schema

    config = project.config
    versioned = {"cog_version": cog_version} if cog_version else {}
    try:
        return project_schema(project.directory, config.predictor_ref, config.train, **versioned)
    except SchemaError as error:
        location = Location(error.path, error.line, error.column)
        raise ConfigError([Problem(location, error.message, error.hint)]) from None
