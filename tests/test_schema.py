"""Tests for cognix.schema: the OpenAPI schema read statically from predictor source."""

from __future__ import annotations

import ast
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cognix.schema import SchemaError, predictor_schema, write_schema
from cognix.schema.__main__ import main

from conftest import CASES as SHARED_CASES


def make_project(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path → dedented source) under `root` and return it."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def schema_of(root: Path, source: str, ref: str = "predict.py:Predictor") -> dict[str, Any]:
    """Derive the schema of a one-file project whose predict.py is `source`."""
    return predictor_schema(make_project(root, {"predict.py": source}), ref)


def components(schema: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = schema["components"]["schemas"]
    return result


def raises_at(root: Path, files: dict[str, str], ref: str = "predict.py:Predictor") -> SchemaError:
    """Derive a schema that must fail, and return the error."""
    make_project(root, files)
    with pytest.raises(SchemaError) as caught:
        predictor_schema(root, ref)
    return caught.value


HELLO = """
    from cog import BasePredictor, Input


    class Predictor(BasePredictor):
        def predict(self, text: str = Input(description="Text to greet")) -> str:
            return "hello " + text
"""

_OK_ANY = {"content": {"application/json": {"schema": {}}}, "description": "Successful Response"}
_INVALID = {
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
    "description": "Validation Error",
}

# What Cog 0.23.1 writes for HELLO, read off its Go source key by key: buildOpenAPISpec
# and buildInputSchema in pkg/schema/openapi_spec.go, PrimitiveType.JSONType and TitleCase
# in pkg/schema/types.go, and SchemaType.JSONSchema (the Output) in pkg/schema/schema_type.go.
# Go's encoding/json sorts the keys of a plain map, while the paths, the component schemas
# and the Input properties are ordered maps that keep insertion order. The literal below
# is written in that order, and the tests compare the order too.
EXPECTED_HELLO: dict[str, Any] = {
    "components": {
        "schemas": {
            "Input": {
                "properties": {
                    "text": {
                        "description": "Text to greet",
                        "title": "Text",
                        "type": "string",
                        "x-order": 0,
                    }
                },
                "required": ["text"],
                "title": "Input",
                "type": "object",
            },
            "Output": {"title": "Output", "type": "string"},
            "PredictionRequest": {
                "properties": {
                    "id": {"title": "Id", "type": "string"},
                    "input": {"$ref": "#/components/schemas/Input"},
                },
                "title": "PredictionRequest",
                "type": "object",
            },
            "PredictionResponse": {
                "properties": {
                    "completed_at": {
                        "format": "date-time",
                        "title": "Completed At",
                        "type": "string",
                    },
                    "created_at": {"format": "date-time", "title": "Created At", "type": "string"},
                    "error": {"title": "Error", "type": "string"},
                    "id": {"title": "Id", "type": "string"},
                    "input": {"$ref": "#/components/schemas/Input"},
                    "logs": {"title": "Logs", "type": "string"},
                    "metrics": {"title": "Metrics", "type": "object"},
                    "output": {"$ref": "#/components/schemas/Output"},
                    "started_at": {"format": "date-time", "title": "Started At", "type": "string"},
                    "status": {"title": "Status", "type": "string"},
                    "version": {"title": "Version", "type": "string"},
                },
                "title": "PredictionResponse",
                "type": "object",
            },
            "Status": {
                "description": "An enumeration.",
                "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
                "title": "Status",
                "type": "string",
            },
            "HTTPValidationError": {
                "properties": {
                    "detail": {
                        "items": {"$ref": "#/components/schemas/ValidationError"},
                        "title": "Detail",
                        "type": "array",
                    }
                },
                "title": "HTTPValidationError",
                "type": "object",
            },
            "ValidationError": {
                "properties": {
                    "loc": {
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        "title": "Location",
                        "type": "array",
                    },
                    "msg": {"title": "Message", "type": "string"},
                    "type": {"title": "Error Type", "type": "string"},
                },
                "required": ["loc", "msg", "type"],
                "title": "ValidationError",
                "type": "object",
            },
        }
    },
    "info": {"title": "Cog", "version": "0.23.1"},
    "openapi": "3.0.2",
    "paths": {
        "/": {
            "get": {"operationId": "root__get", "responses": {"200": _OK_ANY}, "summary": "Root"}
        },
        "/health-check": {
            "get": {
                "operationId": "healthcheck_health_check_get",
                "responses": {"200": _OK_ANY},
                "summary": "Healthcheck",
            }
        },
        "/predictions": {
            "post": {
                "description": "Run a single prediction on the model",
                "operationId": "predict_predictions_post",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/PredictionRequest"}
                        }
                    }
                },
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PredictionResponse"}
                            }
                        },
                        "description": "Successful Response",
                    },
                    "422": _INVALID,
                },
                "summary": "Predict",
            }
        },
        "/predictions/{prediction_id}/cancel": {
            "post": {
                "operationId": "cancel_predictions__prediction_id__cancel_post",
                "parameters": [
                    {
                        "in": "path",
                        "name": "prediction_id",
                        "required": True,
                        "schema": {"title": "Prediction Id", "type": "string"},
                    }
                ],
                "responses": {"200": _OK_ANY, "422": _INVALID},
                "summary": "Cancel",
            }
        },
    },
}


class TestDocument:
    def test_hello_world_matches_cog_field_by_field(self, tmp_path: Path) -> None:
        schema = schema_of(tmp_path, HELLO)
        for key in EXPECTED_HELLO:
            assert schema[key] == EXPECTED_HELLO[key], key
        for name, component in EXPECTED_HELLO["components"]["schemas"].items():
            assert components(schema)[name] == component, name
        assert schema == EXPECTED_HELLO

    def test_hello_world_has_cog_key_order(self, tmp_path: Path) -> None:
        schema = schema_of(tmp_path, HELLO)
        assert json.dumps(schema) == json.dumps(EXPECTED_HELLO)

    def test_version_is_the_one_asked_for(self, tmp_path: Path) -> None:
        make_project(tmp_path, {"predict.py": HELLO})
        schema = predictor_schema(tmp_path, "predict.py:Predictor", cog_version="0.17.0")
        assert schema["info"] == {"title": "Cog", "version": "0.17.0"}

    def test_shared_case_predictor_in_subfolder(self, tmp_path: Path) -> None:
        case = SHARED_CASES / "08-predictor-in-subfolder"
        project = tmp_path / "project"
        shutil.copytree(case, project)
        schema = predictor_schema(project, "model/predict.py:Predictor")
        assert components(schema)["Input"] == {
            "properties": {
                "text": {
                    "description": "Words to shout",
                    "title": "Text",
                    "type": "string",
                    "x-order": 0,
                }
            },
            "required": ["text"],
            "title": "Input",
            "type": "object",
        }
        assert components(schema)["Output"] == {"title": "Output", "type": "string"}


class TestInputs:
    def test_function_predictor(self, tmp_path: Path) -> None:
        source = """
            def predict(prompt: str, n: int = 2) -> list[str]:
                return [prompt] * n
        """
        schema = schema_of(tmp_path, source, "predict.py:predict")
        assert components(schema)["Input"] == {
            "properties": {
                "prompt": {"title": "Prompt", "type": "string", "x-order": 0},
                "n": {"default": 2, "title": "N", "type": "integer", "x-order": 1},
            },
            "required": ["prompt"],
            "title": "Input",
            "type": "object",
        }
        assert components(schema)["Output"] == {
            "items": {"type": "string"},
            "title": "Output",
            "type": "array",
        }

    def test_choices_become_an_enum_component(self, tmp_path: Path) -> None:
        source = """
            from cog import BasePredictor, Input

            SIZES = {"small": 256, "large": 1024}

            class Predictor(BasePredictor):
                def predict(
                    self,
                    size: str = Input(default="small", choices=list(SIZES.keys())),
                    steps: int = Input(description="Steps", choices=[10, 20]),
                ) -> str:
                    return size
        """
        schema = schema_of(tmp_path, source)
        assert components(schema)["Input"]["properties"] == {
            "size": {
                "allOf": [{"$ref": "#/components/schemas/size"}],
                "default": "small",
                "x-order": 0,
            },
            "steps": {
                "allOf": [{"$ref": "#/components/schemas/steps"}],
                "description": "Steps",
                "x-order": 1,
            },
        }
        assert components(schema)["size"] == {
            "description": "An enumeration.",
            "enum": ["small", "large"],
            "title": "size",
            "type": "string",
        }
        assert components(schema)["steps"]["enum"] == [10, 20]
        assert components(schema)["steps"]["type"] == "integer"
        assert list(components(schema))[:4] == ["Input", "Output", "size", "steps"]

    def test_bounds_lengths_pattern_and_deprecated(self, tmp_path: Path) -> None:
        source = """
            from cog import BasePredictor, Input

            MAX_SEED = 2**32 - 1

            class Predictor(BasePredictor):
                def predict(
                    self,
                    n: int = Input(default=1, ge=1, le=10),
                    temperature: float = Input(default=1.0, ge=0.0, le=2.5),
                    seed: int = Input(default=None, ge=0, le=MAX_SEED),
                    name: str = Input(default="a", min_length=1, max_length=8, regex=r"^\\w+$"),
                    old: bool = Input(default=False, deprecated=True),
                ) -> str:
                    return ""
        """
        properties = components(schema_of(tmp_path, source))["Input"]["properties"]
        assert properties["n"] == {
            "default": 1,
            "maximum": 10,
            "minimum": 1,
            "title": "N",
            "type": "integer",
            "x-order": 0,
        }
        # Go writes float64 1.0 as `1`: whole floats come out as ints.
        assert properties["temperature"] == {
            "default": 1,
            "maximum": 2.5,
            "minimum": 0,
            "title": "Temperature",
            "type": "number",
            "x-order": 1,
        }
        # default=None on a non-Optional type means "required, no default" to Cog.
        assert properties["seed"] == {
            "maximum": 4294967295,
            "minimum": 0,
            "title": "Seed",
            "type": "integer",
            "x-order": 2,
        }
        assert properties["name"] == {
            "default": "a",
            "maxLength": 8,
            "minLength": 1,
            "pattern": "^\\w+$",
            "title": "Name",
            "type": "string",
            "x-order": 3,
        }
        assert properties["old"]["deprecated"] is True

    def test_optional_secret_list_and_union_inputs(self, tmp_path: Path) -> None:
        source = """
            from typing import Optional
            import cog

            class Predictor(cog.BasePredictor):
                def run(
                    self,
                    a: Optional[str] = None,
                    b: str | None = cog.Input(description="B"),
                    key: cog.Secret = cog.Input(default=None),
                    tags: list[str] = ["x"],
                    value: "int | str" = 3,
                ) -> dict:
                    return {}
        """
        schema = schema_of(tmp_path, source)
        properties = components(schema)["Input"]["properties"]
        assert properties["a"] == {
            "default": None,
            "nullable": True,
            "title": "A",
            "type": "string",
            "x-order": 0,
        }
        assert properties["b"] == {
            "description": "B",
            "nullable": True,
            "title": "B",
            "type": "string",
            "x-order": 1,
        }
        assert properties["key"] == {
            "default": None,
            "format": "password",
            "nullable": True,
            "title": "Key",
            "type": "string",
            "writeOnly": True,
            "x-cog-secret": True,
            "x-order": 2,
        }
        assert properties["tags"] == {
            "default": ["x"],
            "items": {"type": "string"},
            "title": "Tags",
            "type": "array",
            "x-order": 3,
        }
        assert properties["value"] == {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "default": 3,
            "title": "Value",
            "x-order": 4,
        }
        assert "required" not in components(schema)["Input"]
        assert components(schema)["Output"] == {"title": "Output", "type": "object"}

    def test_constants_imported_relatively_from_another_file(self, tmp_path: Path) -> None:
        make_project(
            tmp_path,
            {
                "model/__init__.py": "",
                "model/options.py": """
                    STYLES = ["plain", "bold"]
                    LIMIT = 2**8
                """,
                "model/predict.py": """
                    from cog import Input
                    from . import options
                    from .options import LIMIT as MAX

                    def run(
                        style: str = Input(default=options.STYLES[0] if 0 else "plain",
                                           choices=options.STYLES + ["italic"]),
                        width: int = Input(default=MAX // 2, le=MAX),
                    ) -> str:
                        return style
                """,
            },
        )
        error = raises_at(tmp_path, {}, "model/predict.py:run")
        assert (error.line, error.column) == (6, 32)
        source = (tmp_path / "model/predict.py").read_text(encoding="utf-8")
        source = source.replace('options.STYLES[0] if 0 else "plain"', '"plain"')
        (tmp_path / "model/predict.py").write_text(source, encoding="utf-8")
        schema = predictor_schema(tmp_path, "model/predict.py:run")
        assert components(schema)["style"]["enum"] == ["plain", "bold", "italic"]
        assert components(schema)["Input"]["properties"]["width"] == {
            "default": 128,
            "maximum": 256,
            "title": "Width",
            "type": "integer",
            "x-order": 1,
        }

    def test_opaque_and_dict_types(self, tmp_path: Path) -> None:
        source = """
            from typing import Annotated, Any
            from cog import Opaque

            def run(config: Annotated[list, Opaque], extra: dict[str, Any]) -> dict[str, int]:
                return {}
        """
        schema = schema_of(tmp_path, source, "predict.py:run")
        properties = components(schema)["Input"]["properties"]
        assert properties["config"] == {
            "items": {"type": "object"},
            "title": "Config",
            "type": "array",
            "x-order": 0,
        }
        assert properties["extra"] == {"title": "Extra", "type": "object", "x-order": 1}
        assert components(schema)["Output"] == {
            "additionalProperties": {"type": "integer"},
            "title": "Output",
            "type": "object",
        }


class TestOutputs:
    def test_path_in_and_out(self, tmp_path: Path) -> None:
        source = """
            from cog import BasePredictor, Input, Path

            class Predictor(BasePredictor):
                def predict(self, image: Path = Input(description="An image")) -> Path:
                    return image
        """
        schema = schema_of(tmp_path, source)
        assert components(schema)["Input"]["properties"]["image"] == {
            "description": "An image",
            "format": "uri",
            "title": "Image",
            "type": "string",
            "x-order": 0,
        }
        assert components(schema)["Output"] == {
            "format": "uri",
            "title": "Output",
            "type": "string",
        }

    def test_iterator_output(self, tmp_path: Path) -> None:
        source = """
            from typing import Iterator
            from cog import BasePredictor, Path

            class Predictor(BasePredictor):
                def predict(self, n: int) -> Iterator[Path]:
                    yield Path("a.png")
        """
        schema = schema_of(tmp_path, source)
        assert components(schema)["Output"] == {
            "items": {"format": "uri", "type": "string"},
            "title": "Output",
            "type": "array",
            "x-cog-array-type": "iterator",
        }
        assert "x-cog-streaming" not in schema["paths"]["/predictions"]["post"]

    def test_concatenate_iterator_with_streaming(self, tmp_path: Path) -> None:
        source = """
            import cog
            from cog import BasePredictor, ConcatenateIterator

            class Predictor(BasePredictor):
                @cog.streaming
                async def run(self, prompt: str) -> ConcatenateIterator[str]:
                    yield prompt
        """
        schema = schema_of(tmp_path, source)
        assert components(schema)["Output"] == {
            "items": {"type": "string"},
            "title": "Output",
            "type": "array",
            "x-cog-array-display": "concatenate",
            "x-cog-array-type": "iterator",
        }
        assert schema["paths"]["/predictions"]["post"]["x-cog-streaming"] is True

    def test_base_model_output_and_base_class_from_other_files(self, tmp_path: Path) -> None:
        make_project(
            tmp_path,
            {
                "model/__init__.py": "",
                "model/types.py": """
                    from typing import Optional
                    from cog import BaseModel, Path

                    class Result(BaseModel):
                        image: Path
                        score: float = 0.5
                        note: Optional[str]
                """,
                "model/base.py": """
                    from cog import BasePredictor
                    from model.types import Result

                    class Base(BasePredictor):
                        def run(self, prompt: str) -> Result:
                            ...
                """,
                "predict.py": """
                    from model.base import Base

                    class Predictor(Base):
                        pass
                """,
            },
        )
        schema = predictor_schema(tmp_path, "predict.py:Predictor")
        assert components(schema)["Output"] == {
            "properties": {
                "image": {"format": "uri", "title": "Image", "type": "string"},
                "score": {"title": "Score", "type": "number"},
                "note": {"nullable": True, "title": "Note", "type": "string"},
            },
            "required": ["image"],
            "title": "Output",
            "type": "object",
        }
        assert list(components(schema)["Input"]["properties"]) == ["prompt"]


class TestErrors:
    def test_unsupported_input_type_is_located(self, tmp_path: Path) -> None:
        error = raises_at(
            tmp_path,
            {
                "predict.py": """
                    import numpy as np
                    from cog import BasePredictor

                    class Predictor(BasePredictor):
                        def predict(self, text: str, array: np.ndarray) -> str:
                            return text
                """
            },
        )
        assert (error.path, error.line, error.column) == (tmp_path / "predict.py", 5, 41)
        assert error.message == (
            "unsupported input type 'np.ndarray': expected str, int, float, bool, Path,"
            " File, Secret, dict, list[T] or Optional[T]"
        )
        assert error.hint is not None
        assert "'numpy'" in error.hint

    def test_column_counts_characters_not_bytes(self, tmp_path: Path) -> None:
        source = "def predict(café: str, x: set[int]) -> str:\n    return café\n"
        error = raises_at(tmp_path, {"predict.py": source}, "predict.py:predict")
        assert (error.line, error.column) == (1, 27)

    def test_unsupported_output_type(self, tmp_path: Path) -> None:
        source = "def predict(x: str) -> tuple[str, str]:\n    return x, x\n"
        error = raises_at(tmp_path, {"predict.py": source}, "predict.py:predict")
        assert (error.line, error.column) == (1, 24)
        assert error.message.startswith("unsupported output type 'tuple[str, str]': expected str")

    def test_optional_output_is_refused(self, tmp_path: Path) -> None:
        source = "from typing import Optional\ndef predict(x: str) -> Optional[str]:\n    ...\n"
        error = raises_at(tmp_path, {"predict.py": source}, "predict.py:predict")
        assert (error.line, error.column, error.message) == (
            2,
            24,
            "Optional is not allowed as an output type",
        )

    def test_syntax_error_at_its_own_place(self, tmp_path: Path) -> None:
        source = "def predict(x: str) -> str:\n    return (x +\n\nclass Broken:\n"
        with pytest.raises(SyntaxError) as python:
            ast.parse(source)
        error = raises_at(tmp_path, {"predict.py": source}, "predict.py:predict")
        assert (error.line, error.column) == (python.value.lineno, python.value.offset)
        assert (error.line, error.column) == (2, 12)
        assert error.message == "syntax error: '(' was never closed"

    def test_syntax_error_in_an_imported_file(self, tmp_path: Path) -> None:
        files = {
            "helpers.py": "from cog import BaseModel\nclass Out(BaseModel):\n    x: int = \n",
            "predict.py": "from helpers import Out\ndef predict(x: int) -> Out:\n    ...\n",
        }
        error = raises_at(tmp_path, files, "predict.py:predict")
        assert (error.path, error.line) == (tmp_path / "helpers.py", 3)
        assert error.message == "syntax error: invalid syntax"

    def test_missing_file(self, tmp_path: Path) -> None:
        error = raises_at(tmp_path, {}, "model/predict.py:Predictor")
        assert (error.path, error.line, error.column) == (tmp_path / "model/predict.py", 1, 1)
        assert error.message == "model/predict.py does not exist"

    def test_missing_name_lists_what_is_there(self, tmp_path: Path) -> None:
        error = raises_at(tmp_path, {"predict.py": HELLO}, "predict.py:Runner")
        assert (error.line, error.column) == (1, 1)
        assert error.message == "predict.py has no class or function named 'Runner'"
        assert error.hint == "it defines Predictor"

    def test_malformed_reference_points_into_cog_yaml(self, tmp_path: Path) -> None:
        files = {"cog.yaml": 'build:\n  gpu: false\npredict: "predict.py"\n'}
        error = raises_at(tmp_path, files, "predict.py")
        assert (error.path, error.line, error.column) == (tmp_path / "cog.yaml", 3, 11)
        assert error.message == (
            "predictor reference 'predict.py' must look like 'predict.py:Predictor'"
        )

    @pytest.mark.parametrize(
        ("source", "where", "message"),
        [
            (
                "def predict(x=1) -> str: ...",
                (1, 13),
                "input 'x' has no type annotation",
            ),
            (
                "import os\ndef predict(x: str = os.getcwd()) -> str: ...",
                (2, 22),
                "the default of input 'x' cannot be read without running the code",
            ),
            (
                "from cog import Input\n"
                "def predict(x: list[str] = Input(default_factory=list)) -> str: ...",
                (2, 34),
                "default_factory is not supported in Input()",
            ),
            (
                "from cog import Input\ndef predict(x: int = Input(gt=1)) -> str: ...",
                (2, 28),
                "Input() has no option 'gt'",
            ),
            (
                "from cog import Input\ndef predict(x: int = Input(ge='one')) -> str: ...",
                (2, 31),
                "'ge' of input 'x' must be a number",
            ),
            (
                "def predict(x: str):\n    return x",
                (1, 1),
                "predict() needs a return type annotation other than None",
            ),
            (
                "def predict(x: list[list[str]]) -> str: ...",
                (1, 21),
                "nested types such as list[Optional[T]] or list[list[T]] are not supported",
            ),
        ],
    )
    def test_rejects(
        self, tmp_path: Path, source: str, where: tuple[int, int], message: str
    ) -> None:
        error = raises_at(tmp_path, {"predict.py": source + "\n"}, "predict.py:predict")
        assert ((error.line, error.column), error.message) == (where, message)

    def test_rejects_both_run_and_predict(self, tmp_path: Path) -> None:
        source = """
            class Predictor:
                def run(self) -> str: ...
                def predict(self) -> str: ...
        """
        error = raises_at(tmp_path, {"predict.py": source})
        assert (error.line, error.message) == (
            1,
            "Predictor must define either run() or predict(), not both",
        )


class TestWriteSchema:
    def test_writes_cog_order_indented_with_newline(self, tmp_path: Path) -> None:
        schema = schema_of(tmp_path, HELLO)
        written = write_schema(tmp_path, schema)
        assert written == tmp_path / ".cog" / "openapi_schema.json"
        text = written.read_text(encoding="utf-8")
        assert text == json.dumps(EXPECTED_HELLO, indent=2) + "\n"
        assert text.index('"Input"') < text.index('"Output"') < text.index('"Status"')
        assert sorted(path.name for path in written.parent.iterdir()) == ["openapi_schema.json"]

    def test_is_byte_deterministic_and_replaces(self, tmp_path: Path) -> None:
        schema = schema_of(tmp_path, HELLO)
        first = write_schema(tmp_path, schema).read_bytes()
        second = write_schema(tmp_path, schema).read_bytes()
        assert first == second
        assert (tmp_path / ".cog" / "openapi_schema.json").stat().st_mode & 0o777 == 0o644


class TestCommandLine:
    def test_prints_the_schema(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        make_project(tmp_path, {"predict.py": HELLO})
        assert main([str(tmp_path), "predict.py:Predictor"]) == 0
        assert json.loads(capsys.readouterr().out) == EXPECTED_HELLO

    def test_reports_errors_with_location(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        make_project(tmp_path, {"predict.py": "def predict(x: str) -> str:\n    return (\n"})
        assert main([str(tmp_path), "predict.py:predict"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert (
            captured.err == f"{tmp_path / 'predict.py'}:2:12: syntax error: '(' was never closed\n"
        )


def test_package_imports_only_the_standard_library() -> None:
    package = Path(__file__).resolve().parents[1] / "cognix" / "schema"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names | {"__future__"}, module
