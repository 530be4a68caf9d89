"""Trainers: cog.yaml's `train`, alone or merged with the predictor, and `cognix schema`.

The expected documents are written by hand from Cog 0.23.1: `buildOpenAPISpec` with
`ModeTrain` (pkg/schema/openapi_spec.go), the `train` method lookup of
`findTargetCallableNode` (pkg/schema/python/target.go), and `GenerateCombined` and
`MergeSchemas` (pkg/schema/generator.go), which decode both documents into Go maps, so
every key of the merged document is sorted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_schema import EXPECTED_HELLO, HELLO, make_project

from cognix import external
from cognix.schema import SchemaError, dumps, project_schema
from cognix.schema.__main__ import main

from conftest import REPO

_OK_ANY = {"content": {"application/json": {"schema": {}}}, "description": "Successful Response"}
_INVALID = {
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
    "description": "Validation Error",
}

TRAIN = """
    from cog import BaseModel, Input, Path


    class TrainingOutput(BaseModel):
        weights: Path


    def train(
        data: Path = Input(description="A zip of images"),
        steps: int = Input(default=100, ge=1),
    ) -> TrainingOutput:
        ...
"""

TRAINING_INPUT = {
    "properties": {
        "data": {
            "description": "A zip of images",
            "format": "uri",
            "title": "Data",
            "type": "string",
            "x-order": 0,
        },
        "steps": {
            "default": 100,
            "minimum": 1,
            "title": "Steps",
            "type": "integer",
            "x-order": 1,
        },
    },
    "required": ["data"],
    "title": "TrainingInput",
    "type": "object",
}
# SchemaType.JSONSchema titles every top-level output "Output", in training mode too.
TRAINING_OUTPUT = {
    "properties": {"weights": {"format": "uri", "title": "Weights", "type": "string"}},
    "required": ["weights"],
    "title": "Output",
    "type": "object",
}
_FIXED = EXPECTED_HELLO["components"]["schemas"]
EXPECTED_TRAIN: dict[str, Any] = {
    "components": {
        "schemas": {
            "TrainingInput": TRAINING_INPUT,
            "TrainingOutput": TRAINING_OUTPUT,
            "TrainingRequest": {
                "properties": {
                    "id": {"title": "Id", "type": "string"},
                    "input": {"$ref": "#/components/schemas/TrainingInput"},
                },
                "title": "TrainingRequest",
                "type": "object",
            },
            "TrainingResponse": {
                "properties": {
                    **_FIXED["PredictionResponse"]["properties"],
                    "input": {"$ref": "#/components/schemas/TrainingInput"},
                    "output": {"$ref": "#/components/schemas/TrainingOutput"},
                },
                "title": "TrainingResponse",
                "type": "object",
            },
            "Status": _FIXED["Status"],
            "HTTPValidationError": _FIXED["HTTPValidationError"],
            "ValidationError": _FIXED["ValidationError"],
        }
    },
    "info": {"title": "Cog", "version": "0.23.1"},
    "openapi": "3.0.2",
    "paths": {
        "/": EXPECTED_HELLO["paths"]["/"],
        "/health-check": EXPECTED_HELLO["paths"]["/health-check"],
        "/trainings": {
            "post": {
                "description": "Run a single training on the model",
                "operationId": "train_trainings_post",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/TrainingRequest"}
                        }
                    }
                },
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TrainingResponse"}
                            }
                        },
                        "description": "Successful Response",
                    },
                    "422": _INVALID,
                },
                "summary": "Train",
            }
        },
        "/trainings/{training_id}/cancel": {
            "post": {
                "operationId": "cancel_trainings__training_id__cancel_post",
                "parameters": [
                    {
                        "in": "path",
                        "name": "training_id",
                        "required": True,
                        "schema": {"title": "Training Id", "type": "string"},
                    }
                ],
                "responses": {"200": _OK_ANY, "422": _INVALID},
                "summary": "Cancel",
            }
        },
    },
}


def sorted_throughout(value: Any) -> Any:
    """Sort every mapping's keys, as Go's encoding/json writes a map[string]any."""
    if isinstance(value, dict):
        return {key: sorted_throughout(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_throughout(item) for item in value]
    return value


class TestTrainerAlone:
    def test_function_trainer_matches_cog_field_by_field(self, tmp_path: Path) -> None:
        make_project(tmp_path, {"train.py": TRAIN})
        schema = project_schema(tmp_path, None, "train.py:train")
        for name, component in EXPECTED_TRAIN["components"]["schemas"].items():
            assert schema["components"]["schemas"][name] == component, name
        assert schema["paths"] == EXPECTED_TRAIN["paths"]
        assert json.dumps(schema) == json.dumps(EXPECTED_TRAIN)

    def test_class_trainer_reads_its_train_method(self, tmp_path: Path) -> None:
        source = """
            from cog import Input, Path

            class Trainer:
                def setup(self) -> None: ...

                def predict(self, unused: str) -> str: ...

                async def train(self, data: Path, steps: int = Input(default=100, ge=1)) -> Path:
                    ...
        """
        make_project(tmp_path, {"train.py": source})
        schema = project_schema(tmp_path, None, "train.py:Trainer")
        schemas = schema["components"]["schemas"]
        assert schemas["TrainingInput"]["properties"]["data"] == {
            "format": "uri",
            "title": "Data",
            "type": "string",
            "x-order": 0,
        }
        assert schemas["TrainingOutput"] == {"format": "uri", "title": "Output", "type": "string"}

    def test_streaming_is_never_marked_on_trainings(self, tmp_path: Path) -> None:
        source = """
            from typing import Iterator
            import cog

            @cog.streaming
            def train(n: int) -> Iterator[str]: ...
        """
        make_project(tmp_path, {"train.py": source})
        schema = project_schema(tmp_path, None, "train.py:train")
        assert "x-cog-streaming" not in schema["paths"]["/trainings"]["post"]

    def test_class_without_train_method(self, tmp_path: Path) -> None:
        make_project(tmp_path, {"train.py": "class Trainer:\n    def run(self) -> str: ...\n"})
        with pytest.raises(SchemaError) as caught:
            project_schema(tmp_path, None, "train.py:Trainer")
        assert (caught.value.line, caught.value.message) == (1, "Trainer has no train() method")

    def test_malformed_trainer_reference_points_into_cog_yaml(self, tmp_path: Path) -> None:
        make_project(tmp_path, {"cog.yaml": 'predict: "p.py:P"\ntrain: "train.py"\n'})
        with pytest.raises(SchemaError) as caught:
            project_schema(tmp_path, None, "train.py")
        error = caught.value
        assert (error.path, error.line, error.column) == (tmp_path / "cog.yaml", 2, 9)
        assert error.message == "trainer reference 'train.py' must look like 'train.py:train'"

    def test_neither_reference(self, tmp_path: Path) -> None:
        with pytest.raises(SchemaError) as caught:
            project_schema(tmp_path, None, None)
        assert caught.value.message == "cog.yaml names neither a predictor nor a trainer"


class TestMerged:
    def test_predictor_and_trainer_merge_with_every_key_sorted(self, tmp_path: Path) -> None:
        make_project(tmp_path, {"predict.py": HELLO, "train.py": TRAIN})
        schema = project_schema(tmp_path, "predict.py:Predictor", "train.py:train")
        expected = sorted_throughout(
            {
                **EXPECTED_HELLO,
                "paths": {**EXPECTED_HELLO["paths"], **EXPECTED_TRAIN["paths"]},
                "components": {
                    "schemas": {
                        **EXPECTED_TRAIN["components"]["schemas"],
                        **EXPECTED_HELLO["components"]["schemas"],
                    }
                },
            }
        )
        assert schema == expected
        assert json.dumps(schema) == json.dumps(expected)
        assert list(schema["components"]["schemas"]) == [
            "HTTPValidationError",
            "Input",
            "Output",
            "PredictionRequest",
            "PredictionResponse",
            "Status",
            "TrainingInput",
            "TrainingOutput",
            "TrainingRequest",
            "TrainingResponse",
            "ValidationError",
        ]

    def test_input_properties_sorted_and_predict_enum_wins(self, tmp_path: Path) -> None:
        predict = """
            from cog import Input

            def predict(zeta: str = Input(choices=["a", "b"]), alpha: int = 2**60 + 1) -> str:
                ...
        """
        train = """
            from cog import Input

            def train(zeta: str = Input(choices=["c"])) -> str:
                ...
        """
        make_project(tmp_path, {"predict.py": predict, "train.py": train})
        schema = project_schema(tmp_path, "predict.py:predict", "train.py:train")
        schemas = schema["components"]["schemas"]
        assert list(schemas["Input"]["properties"]) == ["alpha", "zeta"]
        # Go round-trips every number through float64 while merging.
        assert schemas["Input"]["properties"]["alpha"]["default"] == 1152921504606847000
        assert schemas["zeta"]["enum"] == ["a", "b"]
        assert schemas["TrainingInput"]["properties"]["zeta"]["allOf"] == [
            {"$ref": "#/components/schemas/zeta"}
        ]


class TestCommandLines:
    def test_module_takes_train(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        make_project(tmp_path, {"predict.py": HELLO, "train.py": TRAIN})
        arguments = [str(tmp_path), "predict.py:Predictor", "--train", "train.py:train"]
        assert main(arguments) == 0
        expected = project_schema(tmp_path, "predict.py:Predictor", "train.py:train")
        assert capsys.readouterr().out == dumps(expected)
        assert main([str(tmp_path), "--train", "train.py:train"]) == 0
        assert json.loads(capsys.readouterr().out) == EXPECTED_TRAIN

    def test_cognix_schema_prints_the_file_bytes(self, cognix, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        cog_yaml = (
            'build:\n  python_version: "3.11"\n'
            'predict: "predict.py:Predictor"\ntrain: "train.py:train"\n'
        )
        make_project(tmp_path, {"cog.yaml": cog_yaml, "predict.py": HELLO, "train.py": TRAIN})
        result = cognix("schema", "--project", str(tmp_path))
        assert (result.code, result.stderr) == (0, "")
        expected = project_schema(tmp_path, "predict.py:Predictor", "train.py:train")
        assert result.stdout == dumps(expected)
        assert json.loads(result.stdout)["info"] == {"title": "Cog", "version": "0.23.1"}

    def test_cognix_schema_locates_errors(self, cognix, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        cog_yaml = 'build:\n  python_version: "3.11"\npredict: "predict.py:predict"\n'
        source = "def predict(x: str) -> set[str]:\n    ...\n"
        make_project(tmp_path, {"cog.yaml": cog_yaml, "predict.py": source})
        result = cognix("schema", "--project", str(tmp_path))
        assert (result.code, result.stdout) == (2, "")
        assert (
            f"{tmp_path / 'predict.py'}:1:24: unsupported output type 'set[str]'" in result.stderr
        )


@pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="nix is not installed")
@pytest.mark.parametrize(
    ("trainer", "command"),
    [
        ("null", "-m cognix_schema . 'predict.py:P' \\"),
        ('"train.py:train"', "-m cognix_schema . 'predict.py:P' --train 'train.py:train' \\"),
    ],
)
def test_schema_nix_passes_the_trainer(trainer: str, command: str) -> None:
    expression = (
        f'let pkgs = import {REPO}/tests/nix/nixpkgs-stub {{ system = "x86_64-linux"; }}; '
        f"in (import {REPO}/nix/schema.nix {{ inherit pkgs; shell = import {REPO}/nix/shell.nix;"
        f' source = "/src"; predictor = "predict.py:P"; trainer = {trainer};'
        ' schemaModule = "/m"; cogVersion = "0.23.1"; expected = "{}"; }).stubArgs.buildCommand'
    )
    completed = external.run(["nix-instantiate", "--eval", "--strict", "--json", "-E", expression])
    script = json.loads(completed.stdout)
    line = next(line for line in script.splitlines() if "-m cognix_schema" in line)
    assert line.split("/bin/python3 ")[-1].split(" ", 0)[0].endswith(command)


def test_check_reports_a_trainer_error_at_its_place(tmp_path: Path, cognix) -> None:
    make_project(
        tmp_path,
        {
            "cog.yaml": 'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
            'train: "train.py:train"\n',
            "predict.py": HELLO,
            "train.py": "def train(steps: complex) -> str:\n    return ''\n",
        },
    )

    result = cognix("check", "--project", str(tmp_path))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {tmp_path / 'train.py'}:1:18: unsupported input type 'complex': expected str,"
        " int, float, bool, Path, File, Secret, dict, list[T] or Optional[T]"
    )


def test_schema_command_prints_predictor_and_trainer(tmp_path: Path, cognix) -> None:
    make_project(
        tmp_path,
        {
            "cog.yaml": 'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
            'train: "train.py:train"\n',
            "predict.py": HELLO,
            "train.py": "def train(steps: int = 3) -> str:\n    return ''\n",
        },
    )

    result = cognix("schema", "--project", str(tmp_path))

    assert result.code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert sorted(schema["paths"]) == sorted(
        ["/", "/health-check", "/predictions", "/predictions/{prediction_id}/cancel",
         "/trainings", "/trainings/{training_id}/cancel"]
    )  # fmt: skip
    assert schema["components"]["schemas"]["TrainingInput"]["properties"]["steps"]["default"] == 3
