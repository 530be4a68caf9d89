"""Read `cognix.toml`: what a project says to cognix that cog.yaml cannot say.

Example::

    [nixpkgs]
    rev = "5880666fd9eb563038431edb35c2d0aa595884e6"   # one of cognix's pins

    [python]
    torch-source = "pypi"            # or "pytorch" (PyTorch's own index)
    extra-index-urls = ["https://my.index/simple"]
    manylinux = "2_28"

    [apt]
    libfoo1 = ["foo.out"]            # apt name -> nixpkgs attributes

    [image]
    max-layers = 100
    extra-nixpkgs = ["ffmpeg"]

    [run.3]                          # replaces build.run item 3 (1-based)
    download = { url = "https://…", sha256 = "…", dest = "/usr/bin/x", mode = "0755" }
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from cognix.config.files import SETTINGS_FILE, UnreadableFile, read_project_file
from cognix.errors import ConfigError, Location, Problem
from cognix.resolve.pins import known_pins

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
IndexUrl = Annotated[str, StringConstraints(pattern=r"^(https?|file)://\S+$")]
FileMode = Annotated[str, StringConstraints(pattern=r"^0?[0-7]{3,4}$")]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pinned_rev(rev: str) -> str:
    known = [pin.rev for pin in known_pins()]
    if rev not in known:
        raise PydanticCustomError(
            "cognix_pin", "{rev} is not one of cognix's pinned nixpkgs revisions", {"rev": rev}
        )
    return rev


class NixpkgsSettings(_Table):
    """`[nixpkgs]`: which pinned revision to use instead of the automatic choice."""

    rev: Annotated[str, AfterValidator(_pinned_rev)] | None = None


class PythonSettings(_Table):
    """`[python]`: where Python packages come from."""

    torch_source: Literal["pytorch", "pypi"] = Field("pytorch", alias="torch-source")
    extra_index_urls: list[IndexUrl] = Field(default_factory=list, alias="extra-index-urls")
    manylinux: Annotated[str, StringConstraints(pattern=r"^2_\d+$")] = "2_28"


Soname = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+.-]+\.so(\.[0-9]+)*$")]


class ImageSettings(_Table):
    """`[image]`: layering, extra nixpkgs packages, libraries the image may lack."""

    max_layers: int = Field(100, ge=2, le=125, alias="max-layers")
    extra_nixpkgs: list[str] = Field(default_factory=list, alias="extra-nixpkgs")
    # Sonames a wheel names that the image need not provide: a plugin the model never loads.
    allow_missing: list[Soname] = Field(default_factory=list, alias="allow-missing")


class Download(_Table):
    """A file fetched at lock time and placed in the image."""

    url: str
    sha256: Sha256
    dest: str
    mode: FileMode | None = None


class RunReplacement(_Table):
    """`[run.N]`: what replaces run item N: a download, nixpkgs packages, or nothing."""

    download: Download | None = None
    nixpkgs: list[str] | None = None
    skip: bool = False


class Settings(_Table):
    """A whole cognix.toml; every table is optional."""

    nixpkgs: NixpkgsSettings = NixpkgsSettings()
    python: PythonSettings = PythonSettings()
    apt: dict[str, list[str]] = Field(default_factory=dict)
    image: ImageSettings = ImageSettings()
    run: dict[Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*$")], RunReplacement] = Field(
        default_factory=dict
    )


def read_settings(project_dir: Path) -> Settings:
    """Return the project's cognix.toml settings (defaults when there is no file)."""
    path = project_dir / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:
        text = read_project_file(path, project_dir).decode("utf-8")
        data = tomllib.loads(text)
    except UnreadableFile as error:
        raise ConfigError(
            [Problem(Location(path, 1), f"{SETTINGS_FILE} {error.reason}")]
        ) from None
    except UnicodeDecodeError as error:
        message = f"{SETTINGS_FILE} is not UTF-8 text (byte {error.start})"
        raise ConfigError([Problem(Location(path, 1), message)]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([_syntax_problem(path, error)]) from None
    except RecursionError:
        message = f"{SETTINGS_FILE} nests its values too deeply"
        raise ConfigError([Problem(Location(path, 1), message)]) from None
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        problems = [_problem(path, text, item) for item in error.errors()]
        raise ConfigError(problems) from None


def _syntax_problem(path: Path, error: tomllib.TOMLDecodeError) -> Problem:
    message = str(error)
    match = _TOML_POSITION.search(message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    reason = _TOML_POSITION.sub("", message).strip()
    return Problem(Location(path, line, column), f"invalid TOML: {reason}")


def _problem(path: Path, text: str, error: Any) -> Problem:
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc)
    location = Location(path, _line_of(text, loc), 1)
    if error["type"] == "extra_forbidden":
        return Problem(location, f"unknown key '{dotted}'", "see `cognix.toml` in the README")
    if error["type"] == "cognix_pin":
        pins = ", ".join(f"{pin.rev} ({pin.branch})" for pin in reversed(known_pins()))
        return Problem(location, f"'{dotted}': {error['msg']}", f"use one of {pins}")
    return Problem(location, f"'{dotted}': {error['msg']}")


def _line_of(text: str, loc: list[str]) -> int:
    """Find the line where `loc`'s key is set: inside its table when it has one (else 1)."""
    lines = [line.strip() for line in text.splitlines()]
    for depth in range(len(loc), 0, -1):
        table, key = loc[: depth - 1], loc[depth - 1]
        header = "[" + ".".join([*table, key]) + "]"
        if header in lines:
            return lines.index(header) + 1
        assignment = re.compile(rf"^\"?{re.escape(key)}\"?\s*=")
        inside = not table
        for number, line in enumerate(lines, start=1):
            if line.startswith("["):
                inside = line == "[" + ".".join(table) + "]"
            elif inside and assignment.match(line):
                return number
    return 1
