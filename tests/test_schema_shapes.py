"""Schemas of many predictor shapes, and of every predictor in the cases and the examples.

Each expected fragment is written by hand from Cog 0.23.1's Go generator, not by running
cognix: Input properties from `buildInputSchema` (pkg/schema/openapi_spec.go), input types
from `ResolveInputType` (pkg/schema/types.go), outputs from `SchemaType.JSONSchema` and
`ResolveSchemaType` (pkg/schema/schema_type.go), models from `collectModelClasses`
(pkg/schema/python/models.go) and `Input()` from `parseInputCall` and
`resolveInputReference` (pkg/schema/python/inputs.go). Every comparison is exact.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_schema import EXPECTED_HELLO, make_project

from cognix.schema import SchemaError, predictor_schema

from conftest import CASES, EXAMPLES

URI = {"format": "uri", "type": "string"}
SECRET = {"format": "password", "type": "string", "writeOnly": True, "x-cog-secret": True}


def document(
    inputs: dict[str, Any], output: dict[str, Any], *, streaming: bool = False
) -> dict[str, Any]:
    """Return HELLO's hand-written document with another Input and Output."""
    expected = copy.deepcopy(EXPECTED_HELLO)
    schemas = expected["components"]["schemas"]
    schemas["Input"] = inputs
    schemas["Output"] = output
    if streaming:
        expected["paths"]["/predictions"]["post"]["x-cog-streaming"] = True
    return expected


def input_component(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    component: dict[str, Any] = {"properties": properties}
    if required:
        component["required"] = required
    return {**component, "title": "Input", "type": "object"}


def text_input(description: str, order: int = 0, **extra: Any) -> dict[str, Any]:
    prop = {"description": description, "title": "Text", "type": "string", "x-order": order}
    return dict(sorted({**prop, **extra}.items()))


ONE_TEXT = input_component({"text": {"title": "Text", "type": "string", "x-order": 0}}, ["text"])
STRING_OUT = {"title": "Output", "type": "string"}

# Every Cog project in tests/data/cases and examples: its reference, Input and Output.
PROJECTS: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    **{
        f"cases/{name}": (ONE_TEXT, STRING_OUT, False)
        for name in (
            "01-misspelled-key-and-float-version",
            "02-comment-only-lists",
            "03-concurrency-scalar",
            "04-torch-picks-cuda",
            "05-run-with-secret-mount",
            "06-requirement-markers",
            "07-opencv-needs-libgl",
            "09-gpu-torch-unversioned",
            "10-run-reads-project-files",
        )
    },
    "cases/08-predictor-in-subfolder": (
        input_component({"text": text_input("Words to shout")}, ["text"]),
        STRING_OUT,
        False,
    ),
    "examples/hello-world": (
        input_component(
            {
                "name": {
                    "default": "world",
                    "description": "Who to greet",
                    "title": "Name",
                    "type": "string",
                    "x-order": 0,
                }
            },
            [],
        ),
        STRING_OUT,
        False,
    ),
    "examples/image": (
        input_component(
            {
                "image": {
                    "description": "The picture to turn",
                    "format": "uri",
                    "title": "Image",
                    "type": "string",
                    "x-order": 0,
                },
                "angle": {
                    "default": 90,
                    "description": "Degrees, counter-clockwise",
                    "maximum": 360,
                    "minimum": 0,
                    "title": "Angle",
                    "type": "integer",
                    "x-order": 1,
                },
                "grayscale": {
                    "default": False,
                    "description": "Keep the brightness only",
                    "title": "Grayscale",
                    "type": "boolean",
                    "x-order": 2,
                },
            },
            ["image"],
        ),
        {"format": "uri", "title": "Output", "type": "string"},
        False,
    ),
    "examples/streaming": (
        input_component(
            {
                "text": text_input("Words to send back", default="one word at a time"),
                "delay": {
                    "default": 0,
                    "description": "Seconds to wait before each word",
                    "minimum": 0,
                    "title": "Delay",
                    "type": "number",
                    "x-order": 1,
                },
            },
            [],
        ),
        {
            "items": {"type": "string"},
            "title": "Output",
            "type": "array",
            "x-cog-array-type": "iterator",
        },
        False,
    ),
}


def found_projects() -> list[Path]:
    """List every folder under the cases and the examples whose cog.yaml names a predictor."""
    folders = [*CASES.glob("*/cog.yaml"), *EXAMPLES.glob("*/cog.yaml")]
    return sorted(path.parent for path in folders)


def project_key(folder: Path) -> str:
    return f"{folder.parent.name}/{folder.name}"


def predictor_ref(folder: Path) -> str:
    """Read cog.yaml's `predict` line; several cases are invalid in other keys on purpose."""
    for line in (folder / "cog.yaml").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in ("predict", "run"):
            return value.strip().strip('"')
    raise AssertionError(f"{folder} names no predictor")


def test_the_table_covers_every_project_found() -> None:
    assert sorted(project_key(folder) for folder in found_projects()) == sorted(PROJECTS)


@pytest.mark.parametrize("folder", found_projects(), ids=project_key)
def test_every_case_and_example_matches_cog_field_by_field(folder: Path) -> None:
    schema = predictor_schema(folder, predictor_ref(folder))
    inputs, output, streaming = PROJECTS[project_key(folder)]
    expected = document(inputs, output, streaming=streaming)
    for name, component in expected["components"]["schemas"].items():
        assert schema["components"]["schemas"][name] == component, name
    assert schema["paths"] == expected["paths"]
    assert json.dumps(schema) == json.dumps(expected)


def derive(tmp_path: Path, source: str, ref: str = "predict.py:Predictor") -> dict[str, Any]:
    make_project(tmp_path, {"predict.py": source})
    result: dict[str, Any] = predictor_schema(tmp_path, ref)["components"]["schemas"]
    return result


PREAMBLE = """
from typing import AsyncIterator, Iterator, List, Optional, Union
from cog import (
    AsyncConcatenateIterator, BaseModel, BasePredictor, ConcatenateIterator, File, Input, Path,
    Secret,
)
"""

# (parameters of predict, the Input properties Cog writes, its required list)
INPUT_SHAPES = [
    pytest.param(
        "a: str, b: int = 3, c: float = 0.5, d: bool = True",
        {
            "a": {"title": "A", "type": "string", "x-order": 0},
            "b": {"default": 3, "title": "B", "type": "integer", "x-order": 1},
            "c": {"default": 0.5, "title": "C", "type": "number", "x-order": 2},
            "d": {"default": True, "title": "D", "type": "boolean", "x-order": 3},
        },
        ["a"],
        id="scalars",
    ),
    pytest.param(
        "image: Path, doc: File = Input(description='old'), masks: List[Path] = Input()",
        {
            "image": {"title": "Image", "x-order": 0} | URI,
            "doc": {"description": "old", "title": "Doc", "x-order": 1} | URI,
            "masks": {"items": URI, "title": "Masks", "type": "array", "x-order": 2},
        },
        ["image", "doc", "masks"],
        id="files",
    ),
    pytest.param(
        "mask: Optional[Path] = None, tags: Optional[list[str]] = Input(default=None)",
        {
            "mask": {"default": None, "nullable": True, "title": "Mask", "x-order": 0} | URI,
            "tags": {
                "default": None,
                "items": {"type": "string"},
                "nullable": True,
                "title": "Tags",
                "type": "array",
                "x-order": 1,
            },
        },
        [],
        id="optional",
    ),
    pytest.param(
        "seed: int = Input(default=None, description='Random when empty'),"
        " n: Optional[int] = Input(description='No default')",
        {
            "seed": {
                "description": "Random when empty",
                "title": "Seed",
                "type": "integer",
                "x-order": 0,
            },
            "n": {
                "description": "No default",
                "nullable": True,
                "title": "N",
                "type": "integer",
                "x-order": 1,
            },
        },
        ["seed"],
        id="default-none",
    ),
    pytest.param(
        "token: Secret, key: Secret = Input(default=None), other: Optional[Secret] = None",
        {
            "token": {"title": "Token", "x-order": 0} | SECRET,
            "key": {"default": None, "nullable": True, "title": "Key", "x-order": 1} | SECRET,
            "other": {"default": None, "nullable": True, "title": "Other", "x-order": 2} | SECRET,
        },
        ["token"],
        id="secrets",
    ),
    pytest.param(
        "mode: Optional[str] = Input(default='a', choices=['a', 'b']),"
        " sizes: list[int] = Input(default=[1], choices=[1, 2], deprecated=True),"
        " flag: bool = Input(default=False, choices=[True, False], description='F')",
        {
            "mode": {
                "allOf": [{"$ref": "#/components/schemas/mode"}],
                "default": "a",
                "nullable": True,
                "x-order": 0,
            },
            "sizes": {
                "allOf": [{"$ref": "#/components/schemas/sizes"}],
                "default": [1],
                "deprecated": True,
                "x-order": 1,
            },
            "flag": {
                "allOf": [{"$ref": "#/components/schemas/flag"}],
                "default": False,
                "description": "F",
                "x-order": 2,
            },
        },
        [],
        id="choices",
    ),
    pytest.param(
        "name: str = Input(min_length=1, max_length=5, regex='^[a-z]+$', deprecated=False),"
        " t: float = Input(default=0.7, ge=-1, le=1.5)",
        {
            "name": {
                "maxLength": 5,
                "minLength": 1,
                "pattern": "^[a-z]+$",
                "title": "Name",
                "type": "string",
                "x-order": 0,
            },
            "t": {
                "default": 0.7,
                "maximum": 1.5,
                "minimum": -1,
                "title": "T",
                "type": "number",
                "x-order": 1,
            },
        },
        ["name"],
        id="constraints",
    ),
    pytest.param(
        "value: Union[int, str, None] = None, photo: Path = Input(accept='image/*')",
        {
            "value": {
                "anyOf": [
                    {"nullable": True, "type": "integer"},
                    {"nullable": True, "type": "string"},
                ],
                "default": None,
                "nullable": True,
                "title": "Value",
                "x-order": 0,
            },
            "photo": {"title": "Photo", "x-cog-accept": "image/*", "x-order": 1} | URI,
        },
        ["photo"],
        id="union-and-accept",
    ),
    pytest.param(
        # Cog reads Input()'s keywords only: a positional default leaves the input required.
        "x: int = Input(5, description='n')",
        {"x": {"description": "n", "title": "X", "type": "integer", "x-order": 0}},
        ["x"],
        id="positional-default",
    ),
]


@pytest.mark.parametrize(("parameters", "properties", "required"), INPUT_SHAPES)
def test_input_shapes(
    tmp_path: Path, parameters: str, properties: dict[str, Any], required: list[str]
) -> None:
    source = PREAMBLE + textwrap.dedent(f"""
        class Predictor(BasePredictor):
            def predict(self, {parameters}) -> str:
                ...
    """)
    schemas = derive(tmp_path, source)
    assert schemas["Input"] == input_component(properties, required)
    assert list(schemas["Input"]["properties"]) == list(properties)


def test_choice_enums_take_the_type_of_their_input(tmp_path: Path) -> None:
    parameters = INPUT_SHAPES[5].values[0]
    source = PREAMBLE + textwrap.dedent(f"""
        class Predictor(BasePredictor):
            def predict(self, {parameters}) -> str:
                ...
    """)
    schemas = derive(tmp_path, source)
    assert [schemas[name] for name in ("mode", "sizes", "flag")] == [
        {"description": "An enumeration.", "enum": ["a", "b"], "title": "mode", "type": "string"},
        {"description": "An enumeration.", "enum": [1, 2], "title": "sizes", "type": "integer"},
        {
            "description": "An enumeration.",
            "enum": [True, False],
            "title": "flag",
            "type": "boolean",
        },
    ]


# (the return annotation, classes it needs, the Output component Cog writes)
OUTPUT_SHAPES = [
    pytest.param("List[Path]", "", {"items": URI, "title": "Output", "type": "array"}, id="paths"),
    pytest.param(
        "dict[str, list[int]]",
        "",
        {
            "additionalProperties": {"items": {"type": "integer"}, "type": "array"},
            "title": "Output",
            "type": "object",
        },
        id="dict",
    ),
    pytest.param(
        "AsyncIterator[Path]",
        "",
        {"items": URI, "title": "Output", "type": "array", "x-cog-array-type": "iterator"},
        id="async-iterator",
    ),
    pytest.param(
        "AsyncConcatenateIterator[str]",
        "",
        {
            "items": {"type": "string"},
            "title": "Output",
            "type": "array",
            "x-cog-array-display": "concatenate",
            "x-cog-array-type": "iterator",
        },
        id="async-concatenate",
    ),
    pytest.param(
        "Output",
        """
        class Output(BaseModel):
            image: Path
            caption: Optional[str]
            score: float = 0.5
            steps: int = Field(default=3)
            seeds: list[int] = []
        """,
        {
            "properties": {
                "image": {"format": "uri", "title": "Image", "type": "string"},
                "caption": {"nullable": True, "title": "Caption", "type": "string"},
                "score": {"title": "Score", "type": "number"},
                # Cog reads only literal defaults: Field(...) leaves the field required.
                "steps": {"title": "Steps", "type": "integer"},
                "seeds": {"items": {"type": "integer"}, "title": "Seeds", "type": "array"},
            },
            "required": ["image", "steps"],
            "title": "Output",
            "type": "object",
        },
        id="model-named-output",
    ),
    pytest.param(
        "Result",
        """
        import pydantic

        class Box(pydantic.BaseModel):
            x: int

        class Result(BaseModel):
            boxes: list[Box]
            best: Optional[Box] = None
        """,
        {
            "properties": {
                "boxes": {
                    "items": {
                        "properties": {"x": {"title": "X", "type": "integer"}},
                        "required": ["x"],
                        "type": "object",
                    },
                    "title": "Boxes",
                    "type": "array",
                },
                "best": {
                    "nullable": True,
                    "properties": {"x": {"title": "X", "type": "integer"}},
                    "required": ["x"],
                    "title": "Best",
                    "type": "object",
                },
            },
            "required": ["boxes"],
            "title": "Output",
            "type": "object",
        },
        id="nested-models",
    ),
    pytest.param(
        "Detail",
        """
        from typing import TypedDict
        from typing_extensions import NotRequired, Required

        class Base(TypedDict, total=False):
            label: str
            note: str

        class Detail(Base):
            label: Required[str]
            size: int
            extra: NotRequired[Optional[str]]
        """,
        {
            "properties": {
                "label": {"title": "Label", "type": "string"},
                "note": {"title": "Note", "type": "string"},
                "size": {"title": "Size", "type": "integer"},
                "extra": {"nullable": True, "title": "Extra", "type": "string"},
            },
            "required": ["label", "size"],
            "title": "Output",
            "type": "object",
        },
        id="typed-dict",
    ),
]


@pytest.mark.parametrize(("returns", "classes", "output"), OUTPUT_SHAPES)
def test_output_shapes(tmp_path: Path, returns: str, classes: str, output: dict[str, Any]) -> None:
    source = (
        PREAMBLE
        + "from pydantic import Field\n"
        + textwrap.dedent(classes)
        + textwrap.dedent(f"""
            class Predictor(BasePredictor):
                def setup(self, weights: Optional[Path] = None) -> None:
                    ...

                async def run(self, prompt: str) -> {returns}:
                    ...
        """)
    )
    schemas = derive(tmp_path, source)
    assert schemas["Output"] == output
    # setup() and its weights are no part of the schema: Cog reads run() only.
    assert list(schemas["Input"]["properties"]) == ["prompt"]


def test_typed_dict_input_is_an_opaque_object(tmp_path: Path) -> None:
    source = """
        from typing import TypedDict

        class Box(TypedDict):
            x: int

        def predict(box: Box) -> int:
            ...
    """
    schemas = derive(tmp_path, textwrap.dedent(source), "predict.py:predict")
    assert schemas["Input"]["properties"] == {
        "box": {"title": "Box", "type": "object", "x-order": 0}
    }


def test_input_held_by_a_class_attribute_or_returned_by_a_method(tmp_path: Path) -> None:
    source = """
        from cog import BasePredictor, Input

        class Inputs:
            prompt = Input(description="What to draw")

            @staticmethod
            def seed(default=None, description="Seed"):
                return Input(default=default, description=description, ge=0)

        class Predictor(BasePredictor):
            def predict(
                self, prompt: str = Inputs.prompt, seed: int = Inputs.seed(default=7)
            ) -> str:
                ...
    """
    schemas = derive(tmp_path, textwrap.dedent(source))
    assert schemas["Input"] == input_component(
        {
            "prompt": {
                "description": "What to draw",
                "title": "Prompt",
                "type": "string",
                "x-order": 0,
            },
            "seed": {
                "default": 7,
                "description": "Seed",
                "minimum": 0,
                "title": "Seed",
                "type": "integer",
                "x-order": 1,
            },
        },
        ["prompt"],
    )


@pytest.mark.parametrize(
    ("parameters", "where", "message", "hint"),
    [
        (
            "x: Literal['a', 'b'] = 'a'",
            (3, 24),
            "Literal[...] is not a supported input type",
            "list the values with Input(choices=[...]) and annotate the base type",
        ),
    ],
)
def test_rejects_what_cog_would_get_wrong(
    tmp_path: Path, parameters: str, where: tuple[int, int], message: str, hint: str
) -> None:
    source = (
        "from typing import Literal\nfrom cog import Input\n"
        f"def predict(y: str, {parameters}) -> str: ...\n"
    )
    make_project(tmp_path, {"predict.py": source})
    with pytest.raises(SchemaError) as caught:
        predictor_schema(tmp_path, "predict.py:predict")
    error = caught.value
    assert ((error.line, error.column), error.message, error.hint) == (where, message, hint)


@pytest.mark.xfail(
    strict=True,
    reason="cognix reads ge/le through module constants; Cog reads number literals only"
    " (parseNumberLiteral) and leaves `maximum` out",
)
def test_cog_drops_a_bound_named_by_a_constant(tmp_path: Path) -> None:
    source = "from cog import Input\nMAX = 10\ndef predict(n: int = Input(le=MAX)) -> int: ...\n"
    schemas = derive(tmp_path, source, "predict.py:predict")
    assert schemas["Input"]["properties"]["n"] == {"title": "N", "type": "integer", "x-order": 0}


@pytest.mark.xfail(
    strict=True,
    reason="cognix writes the string Python reads; Cog copies a literal's text between its"
    " quotes without reading escapes (parseStringLiteral)",
)
def test_cog_keeps_escapes_of_string_literals(tmp_path: Path) -> None:
    source = 'from cog import Input\ndef predict(s: str = Input(regex="^\\\\d+$")) -> int: ...\n'
    schemas = derive(tmp_path, source, "predict.py:predict")
    assert schemas["Input"]["properties"]["s"]["pattern"] == "^\\\\d+$"
