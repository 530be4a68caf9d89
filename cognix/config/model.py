"""The shape of cog.yaml as every Cog release accepted it, as pydantic models.

The models validate plain data whose scalars are `yaml_source.Scalar` values, so string
fields keep the raw text (`3.10` stays "3.10") and booleans and integers follow YAML 1.2,
as Cog's go-yaml reader does. Rules that need more than one field, or the files around
cog.yaml, live in `cognix.config.load`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

from cognix.config.yaml_source import Scalar


def _raw_text(value: Any) -> str:
    if isinstance(value, Scalar) and value.kind == "bool":
        raise PydanticCustomError(
            "cog_text", "expected text, got the boolean {value}", {"value": str(value)}
        )
    if isinstance(value, str):
        return str(value)
    raise PydanticCustomError("cog_text", "expected text, got {kind}", {"kind": _kind(value)})


def _yaml_bool(value: Any) -> bool:
    if isinstance(value, Scalar) and value.kind == "bool":
        return value.lower() == "true"
    if isinstance(value, bool):
        return value
    shown = f"'{value}'" if isinstance(value, str) else _kind(value)
    raise PydanticCustomError("cog_bool", "expected true or false, got {shown}", {"shown": shown})


def _yaml_int(value: Any) -> int:
    if isinstance(value, Scalar) and value.kind == "int":
        # YAML 1.2: 0o17 and 0x1F have prefixes; anything else is decimal, even 012.
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value, 10)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    shown = f"'{value}'" if isinstance(value, str) else _kind(value)
    raise PydanticCustomError("cog_int", "expected a whole number, got {shown}", {"shown": shown})


def _null_is_empty(value: Any) -> Any:
    # A list whose items are all commented out is a YAML null; Cog reads it as empty.
    return [] if value is None else value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return "a value"


Text = Annotated[str, BeforeValidator(_raw_text)]
YamlBool = Annotated[bool, BeforeValidator(_yaml_bool)]
YamlInt = Annotated[int, BeforeValidator(_yaml_int)]
TextList = Annotated[list[Text], BeforeValidator(_null_is_empty)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mount(_Strict):
    """A BuildKit mount on a run command; Cog only emits `type: secret`."""

    type: Literal["secret"]
    id: Text
    target: Text


class RunCommand(_Strict):
    """The mapping form of a run item: a command and its mounts."""

    command: Text
    mounts: Annotated[list[Mount], BeforeValidator(_null_is_empty)] = Field(default_factory=list)


def _run_item_form(value: Any) -> str:
    return "mapping" if isinstance(value, dict | RunCommand) else "text"


# Validate each item in the one form it is written in, so that a mistake inside a mapping
# is not also reported as "not a string".
RunItem = Annotated[
    Annotated[RunCommand, Tag("mapping")] | Annotated[Text, Tag("text")],
    Discriminator(_run_item_form),
]


class Build(_Strict):
    """The `build` section: how the image is assembled."""

    python_version: Text = Field(description="Python as major.minor or major.minor.patch")
    gpu: YamlBool = False
    cuda: Text | None = None
    cudnn: Text | None = None
    python_requirements: Text | None = None
    python_packages: TextList = Field(default_factory=list)
    system_packages: TextList = Field(default_factory=list)
    run: Annotated[list[RunItem], BeforeValidator(_null_is_empty)] = Field(default_factory=list)
    pre_install: TextList = Field(default_factory=list)
    sdk_version: Text | None = None
    # Removed in Cog 0.17; accepted and ignored, with a warning.
    fast: Any = None
    cog_runtime: Any = None
    python_overrides: Any = None


class Concurrency(_Strict):
    """The deprecated `concurrency` section."""

    max: YamlInt
    default_target: YamlInt | None = None


class CogConfig(_Strict):
    """A whole cog.yaml, as read (before cognix resolves anything)."""

    build: Build
    image: Text | None = None
    model: Text | None = None
    run: Text | None = None
    predict: Text | None = None
    train: Text | None = None
    concurrency: Concurrency | None = None
    environment: TextList = Field(default_factory=list)
    weights: Any = None
    observability: Any = None
    # Removed in Cog 0.17; accepted and ignored, with a warning.
    tests: Any = None

    @property
    def python_minor(self) -> str:
        """Return the major.minor part of `build.python_version` (e.g. "3.11")."""
        return ".".join(self.build.python_version.split(".")[:2])

    @property
    def predictor_ref(self) -> str | None:
        """Return the predictor reference, from `run` or its older name `predict`."""
        return self.run or self.predict


REMOVED_KEYS = {
    ("build", "fast"): "fast push was removed in Cog 0.17",
    ("build", "cog_runtime"): "the Go cog-runtime switch was removed in Cog 0.17",
    ("build", "python_overrides"): "uv override files were removed in Cog 0.17",
    ("tests",): "`tests` was removed in Cog 0.17",
}

DEPRECATED_KEYS = {
    ("build", "python_packages"): "list the packages in a requirements file instead",
    ("build", "pre_install"): "use build.run instead; these run after build.run, as in Cog",
    ("concurrency",): "use @cog.concurrent(max=N) on the run method instead",
}
