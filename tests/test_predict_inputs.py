"""Tests for cognix.predict.inputs: `-i name=value` items checked against the schema."""

from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cognix.errors import InputError
from cognix.predict.inputs import MalformedSchema, parse_inputs
from cognix.schema import predictor_schema

PREDICTOR = """
    from typing import Optional
    from cog import BasePredictor, Input, Path

    class Predictor(BasePredictor):
        def predict(
            self,
            prompt: str = Input(description="What to draw"),
            n: int = Input(default=1, ge=1, le=10),
            scale: float = Input(default=7.5, ge=0.0, le=20.0),
            upscale: bool = False,
            size: str = Input(default="small", choices=["small", "large"]),
            image: Optional[Path] = None,
            tags: list[str] = [],
            seeds: list[int] = [],
            extra: dict = {},
            name: str = Input(default="ab", min_length=2, max_length=4, regex="^[a-z]+$"),
            value: int | str = 0,
        ) -> str:
            return prompt
"""


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Derive the schema of PREDICTOR with cognix.schema, as `cognix predict` does."""
    root = tmp_path_factory.mktemp("project")
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR), encoding="utf-8")
    return predictor_schema(root, "predict.py:Predictor")


def parse(schema: dict[str, Any], *pairs: str, base_dir: Path = Path("/nonexistent")) -> Any:
    return parse_inputs(["prompt=a cat", *pairs], schema, base_dir)


def error_of(schema: dict[str, Any], *pairs: str, base_dir: Path = Path(".")) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_inputs(list(pairs), schema, base_dir)
    return caught.value


class TestValues:
    def test_coerces_by_schema_type(self, schema: dict[str, Any]) -> None:
        inputs = parse(schema, "n=3", "scale=2.5", "upscale=true", "size=large", "extra={}")
        assert inputs == {
            "prompt": "a cat",
            "n": 3,
            "scale": 2.5,
            "upscale": True,
            "size": "large",
            "extra": {},
        }
        assert isinstance(inputs["n"], int)

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("true", True), ("false", False), ("1", True), ("0", False), ("True", True)],
    )
    def test_booleans_like_cog(self, schema: dict[str, Any], raw: str, expected: bool) -> None:
        assert parse(schema, f"upscale={raw}")["upscale"] is expected

    def test_whole_number_for_a_float_input_stays_an_int(self, schema: dict[str, Any]) -> None:
        assert parse(schema, "scale=3")["scale"] == 3

    def test_strips_surrounding_double_quotes_and_splits_at_first_equals(
        self, schema: dict[str, Any]
    ) -> None:
        inputs = parse_inputs(['prompt="a=b c"'], schema, Path("."))
        assert inputs == {"prompt": "a=b c"}

    def test_repeated_name_builds_a_list_of_the_item_type(self, schema: dict[str, Any]) -> None:
        inputs = parse(schema, "seeds=1", "tags=x", "seeds=2", "tags=y")
        assert inputs == {"prompt": "a cat", "seeds": [1, 2], "tags": ["x", "y"]}

    def test_single_value_for_a_list(self, schema: dict[str, Any]) -> None:
        assert parse(schema, "tags=x")["tags"] == ["x"]
        assert parse(schema, "seeds=[3, 4]")["seeds"] == [3, 4]

    def test_union_picks_the_member_that_fits(self, schema: dict[str, Any]) -> None:
        assert parse(schema, "value=4")["value"] == 4
        assert parse(schema, "value=four")["value"] == "four"

    def test_url_for_a_file_input_passes_through(self, schema: dict[str, Any]) -> None:
        url = "https://example.com/cat.png"
        assert parse(schema, f"image={url}")["image"] == url

    def test_at_file_becomes_a_data_url(self, schema: dict[str, Any], tmp_path: Path) -> None:
        (tmp_path / "cat.png").write_bytes(b"\x89PNG data")
        inputs = parse(schema, "image=@cat.png", base_dir=tmp_path)
        encoded = base64.b64encode(b"\x89PNG data").decode()
        assert inputs["image"] == f"data:image/png;base64,{encoded}"

    @pytest.mark.parametrize(
        ("name", "mime"),
        [
            ("notes.txt", "text/plain"),
            ("a.webp", "image/webp"),
            ("w.bin2", "application/octet-stream"),
        ],
    )
    def test_mime_type_from_extension(
        self, schema: dict[str, Any], tmp_path: Path, name: str, mime: str
    ) -> None:
        (tmp_path / name).write_bytes(b"x")
        assert (
            parse(schema, f"image=@{name}", base_dir=tmp_path)["image"]
            == f"data:{mime};base64,eA=="
        )

    def test_at_file_expands_home(
        self, schema: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / "in.txt").write_text("hi", encoding="utf-8")
        inputs = parse_inputs(["prompt=@~/in.txt"], schema, Path("/nonexistent"))
        assert inputs == {"prompt": "data:text/plain;base64,aGk="}

    def test_keeps_the_order_given(self, schema: dict[str, Any]) -> None:
        inputs = parse_inputs(["n=2", "prompt=x", "size=large"], schema, Path("."))
        assert list(inputs) == ["n", "prompt", "size"]


class TestErrors:
    @pytest.mark.parametrize(
        ("pairs", "message"),
        [
            (["prompt"], "expected name=value, got 'prompt'"),
            (["prompt=x", "n=abc"], "input 'n' must be an integer, got 'abc'"),
            (["prompt=x", "n=1.5"], "input 'n' must be an integer, got '1.5'"),
            (["prompt=x", "scale=big"], "input 'scale' must be a number, got 'big'"),
            (["prompt=x", "scale=nan"], "input 'scale' must be a number, got 'nan'"),
            (["prompt=x", "upscale=yes"], "input 'upscale' must be true or false, got 'yes'"),
            (["prompt=x", "n=11"], "input 'n' must be <= 10, got 11"),
            (["prompt=x", "n=0"], "input 'n' must be >= 1, got 0"),
            (["prompt=x", "scale=20.5"], "input 'scale' must be <= 20, got 20.5"),
            (
                ["prompt=x", "size=huge"],
                "input 'size' must be one of ['small', 'large'], got 'huge'",
            ),
            (["prompt=x", "seeds=1", "seeds=x"], "input 'seeds' must be an integer, got 'x'"),
            (["prompt=x", "n=1", "n=2"], "input 'n' takes one value, got 2"),
            (["prompt=x", "extra=[1]"], "input 'extra' must be a JSON object, got '[1]'"),
            (["prompt=x", "name=a"], "input 'name' must be at least 2 characters long, got 1"),
            (["prompt=x", "name=abcde"], "input 'name' must be at most 4 characters long, got 5"),
            (
                ["prompt=x", "name=AB"],
                "input 'name' must match the pattern '^[a-z]+$', got 'AB'",
            ),
            (["prompt=x", "n=@n.txt"], "input 'n' must be an integer, got '@n.txt'"),
            (["n=2"], "missing required input 'prompt'"),
        ],
    )
    def test_rejects(self, schema: dict[str, Any], pairs: list[str], message: str) -> None:
        assert error_of(schema, *pairs).message == message

    def test_unknown_input_lists_the_known_ones(self, schema: dict[str, Any]) -> None:
        error = error_of(schema, "promt=x")
        assert error.message == "unknown input 'promt'"
        assert error.hint == (
            "did you mean 'prompt'? the inputs are prompt, n, scale, upscale, size, image,"
            " tags, seeds, extra, name, value"
        )
        assert error.exit_code == 2

    def test_missing_file(self, schema: dict[str, Any], tmp_path: Path) -> None:
        error = error_of(schema, "prompt=x", "image=@missing.png", base_dir=tmp_path)
        assert error.message == "input 'image': no such file 'missing.png'"
        assert error.hint == f"looked for {tmp_path / 'missing.png'}"

    def test_path_without_at_suggests_it(self, schema: dict[str, Any]) -> None:
        error = error_of(schema, "prompt=x", "image=cat.png")
        assert error.message == "input 'image' must be a URL or @file, got 'cat.png'"
        assert error.hint == "to send a file, write image=@cat.png"

    def test_missing_required_inputs_are_all_named(self) -> None:
        schema: dict[str, Any] = {
            "components": {
                "schemas": {
                    "Input": {
                        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                        "required": ["a", "b"],
                    }
                }
            }
        }
        error = error_of(schema)
        assert error.message == "missing required inputs 'a', 'b'"
        assert error.hint == "give them with -i a=..."

    def test_no_inputs_at_all(self) -> None:
        schema: dict[str, Any] = {"components": {"schemas": {"Input": {"properties": {}}}}}
        error = error_of(schema, "x=1")
        assert (error.message, error.hint) == ("unknown input 'x'", "this model takes no inputs")


class TestPythonLimits:
    DIGITS = "1" * 5000

    @pytest.mark.parametrize(("name", "kind"), [("n", "an integer"), ("scale", "a number")])
    def test_too_many_digits_name_the_input(
        self, schema: dict[str, Any], name: str, kind: str
    ) -> None:
        error = error_of(schema, "prompt=x", f"{name}={self.DIGITS}")
        shown = f"'{'1' * 50}…' (5000 characters)"
        assert error.message == f"input '{name}' must be {kind}, got {shown}"
        assert error.hint is not None
        assert "4300 digits" in error.hint

    def test_too_many_digits_for_a_list_item(self, schema: dict[str, Any]) -> None:
        error = error_of(schema, "prompt=x", "seeds=1", f"seeds={self.DIGITS}")
        assert error.message.startswith("input 'seeds' must be an integer, got '111")

    def test_a_union_falls_back_to_its_string_member(self, schema: dict[str, Any]) -> None:
        assert parse(schema, f"value={self.DIGITS}")["value"] == self.DIGITS

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_json_object_must_be_standard_json(
        self, schema: dict[str, Any], constant: str
    ) -> None:
        error = error_of(schema, "prompt=x", f'extra={{"a": {constant}}}')
        assert error.message.startswith("input 'extra' must be a JSON object, got ")


class TestFiles:
    def test_nothing_after_at(self, schema: dict[str, Any], tmp_path: Path) -> None:
        error = error_of(schema, "prompt=x", "image=@", base_dir=tmp_path)
        assert error.message == "input 'image': nothing after @"
        assert error.exit_code == 2

    def test_a_directory(self, schema: dict[str, Any], tmp_path: Path) -> None:
        (tmp_path / "folder").mkdir()
        error = error_of(schema, "prompt=x", "image=@folder", base_dir=tmp_path)
        assert error.message == "input 'image': 'folder' is a directory, not a regular file"

    def test_a_character_device(self, schema: dict[str, Any]) -> None:
        error = error_of(schema, "prompt=x", "image=@/dev/zero")
        message = "input 'image': '/dev/zero' is a character device, not a regular file"
        assert error.message == message

    def test_a_fifo_is_refused_without_waiting(
        self, schema: dict[str, Any], tmp_path: Path
    ) -> None:
        os.mkfifo(tmp_path / "pipe")
        error = error_of(schema, "prompt=x", "image=@pipe", base_dir=tmp_path)
        assert error.message == "input 'image': 'pipe' is a named pipe, not a regular file"

    def test_a_file_over_the_request_limit(self, schema: dict[str, Any], tmp_path: Path) -> None:
        with (tmp_path / "big.bin").open("wb") as sparse:
            sparse.truncate(200 * 1024 * 1024)
        error = error_of(schema, "prompt=x", "image=@big.bin", base_dir=tmp_path)
        assert error.message == (
            "input 'image': 'big.bin' is 200.0 MiB, more than the 75.0 MiB a file can be"
        )
        assert error.hint is not None
        assert "100.0 MiB" in error.hint

    def test_files_that_together_exceed_the_request_limit(
        self, schema: dict[str, Any], tmp_path: Path
    ) -> None:
        for name in ("a.bin", "b.bin"):
            with (tmp_path / name).open("wb") as sparse:
                sparse.truncate(40 * 1024 * 1024)
        error = error_of(schema, "prompt=x", "tags=@a.bin", "tags=@b.bin", base_dir=tmp_path)
        assert error.message.startswith("the inputs make a request of 106.7 MiB;")
        assert error.message.endswith("the Cog server accepts at most 100.0 MiB")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root may read anything")
    def test_an_unreadable_file(self, schema: dict[str, Any], tmp_path: Path) -> None:
        (tmp_path / "secret.png").write_bytes(b"x")
        (tmp_path / "secret.png").chmod(0)
        error = error_of(schema, "prompt=x", "image=@secret.png", base_dir=tmp_path)
        assert error.message == "input 'image': cannot read 'secret.png': Permission denied"


INTEGER_FROM_A = {"type": "integer", "minimum": "a"}


class TestMalformedSchemas:
    """A schema from an image's label may be anything: a wrong shape is exit 1, not a crash."""

    @pytest.mark.parametrize(
        ("schema", "detail"),
        [
            ({"components": 5}, "components is not a JSON object"),
            ({"components": {"schemas": []}}, "components.schemas is not a JSON object"),
            ({"components": {"schemas": {"Input": "x"}}}, "Input is not a JSON object"),
            (
                {"components": {"schemas": {"Input": {"properties": [1]}}}},
                "Input.properties is not a JSON object",
            ),
            (
                {"components": {"schemas": {"Input": {"properties": {}, "required": 7}}}},
                "Input.required is not a list of names",
            ),
            (
                {"components": {"schemas": {"Input": {"properties": {"x": 5}}}}},
                "an input's definition is not valid ('int' object has no attribute 'items')",
            ),
            (
                {"components": {"schemas": {"Input": {"properties": {"x": INTEGER_FROM_A}}}}},
                "an input's definition is not valid "
                "('<' not supported between instances of 'int' and 'str')",
            ),
            (
                {
                    "components": {
                        "schemas": {
                            "Input": {"properties": {"x": {"$ref": "#/components/schemas/X"}}},
                            "X": {"$ref": "#/components/schemas/X"},
                        }
                    }
                },
                "X refers to itself",
            ),
        ],
    )
    def test_is_a_job_failure_naming_the_part(self, schema: dict[str, Any], detail: str) -> None:
        with pytest.raises(MalformedSchema) as caught:
            parse_inputs(["x=1"], schema, Path("."))
        assert caught.value.message == f"the model's OpenAPI schema is malformed: {detail}"
        assert caught.value.hint == (
            "images built by cognix or Cog carry a valid schema; rebuild the image"
        )
        assert caught.value.exit_code == 1
