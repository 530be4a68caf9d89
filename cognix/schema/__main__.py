"""Print a predictor's OpenAPI schema: `python -m cognix.schema PROJECT_DIR REF`.

Errors go to stderr as `path:line:column: message` (and a `hint:` line when there is
one), with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._modules import SchemaError
from ._openapi import dumps
from ._predictor import predictor_schema

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m cognix.schema", description="Print a Cog predictor's OpenAPI schema."
    )
    parser.add_argument("project_dir", type=Path, help="the folder holding cog.yaml")
    parser.add_argument("ref", help="the predictor, as in predict.py:Predictor")
    parser.add_argument("--cog-version", default="0.23.1", help="the version in info.version")
    arguments = parser.parse_args(argv)
    try:
        schema = predictor_schema(
            arguments.project_dir, arguments.ref, cog_version=arguments.cog_version
        )
    except SchemaError as error:
        print(f"{error.path}:{error.line}:{error.column}: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(dumps(schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
