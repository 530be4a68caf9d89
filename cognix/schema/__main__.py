"""Print a project's OpenAPI schema: `python -m cognix.schema PROJECT_DIR [REF] [--train REF]`.

REF is cog.yaml's `predict` (or `run`) value and `--train` its `train` value; at least
one is needed, and with both the schema covers predictions and trainings.

Errors go to stderr as `path:line:column: message` (and a `hint:` line when there is
one), with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._modules import SchemaError
from ._openapi import dumps
from ._predictor import project_schema

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m cognix.schema", description="Print a Cog project's OpenAPI schema."
    )
    parser.add_argument("project_dir", type=Path, help="the folder holding cog.yaml")
    parser.add_argument("ref", nargs="?", help="the predictor, as in predict.py:Predictor")
    parser.add_argument("--train", metavar="REF", help="the trainer, as in train.py:train")
    parser.add_argument("--cog-version", default="0.23.1", help="the version in info.version")
    arguments = parser.parse_args(argv)
    if arguments.ref is None and arguments.train is None:
        parser.error("give the predictor reference, --train REF, or both")
    try:
        schema = project_schema(
            arguments.project_dir,
            arguments.ref,
            arguments.train,
            cog_version=arguments.cog_version,
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
