"""Derive a Cog project's OpenAPI schema from its Python source, without running it.

This package reads the predictor and the trainer with the standard library's `ast`
module only, the way Cog 0.17+ does statically, so it can run inside a Nix build with a
bare Python. Nothing outside the standard library is imported, not even the rest of
cognix.

    schema = project_schema(Path("."), "predict.py:Predictor", "train.py:train")
    write_schema(Path("."), schema)
"""

from ._modules import SchemaError
from ._openapi import dumps, write_schema
from ._predictor import predictor_schema, project_schema

__all__ = ["SchemaError", "dumps", "predictor_schema", "project_schema", "write_schema"]
