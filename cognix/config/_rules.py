"""The rules of cog.yaml that pydantic's field types cannot say alone.

Each check takes the validated `CogConfig` and the locations of its values, and returns
problems; nothing here raises. The rules follow Cog's own validation
(../shared/reference/cog.md section 1), adjusted where cognix decides more strictly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from packaging.version import InvalidVersion, Version

from cognix.config._validate import PlainData
from cognix.config.model import DEPRECATED_KEYS, REMOVED_KEYS, CogConfig
from cognix.errors import Problem
from cognix.resolve.pins import supported_pythons

_PYTHON_VERSION = re.compile(r"^3\.(\d+)(?:\.(\d+))?$")
_CUDA_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")
_ENV_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_RESERVED_ENV = {
    "PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED",
    "LIBRARY_PATH", "HF_ENDPOINT", "HF_HUB_ENABLE_HF_TRANSFER",
}  # fmt: skip
_RESERVED_ENV_PREFIXES = (
    "R8_", "REPLICATE_", "COG_OBSERVABILITY_", "COG_TRACE_", "OTEL_", "CUDA_", "NVIDIA_",
    "NV_", "PGET_", "KUBERNETES_",
)  # fmt: skip
MIN_COG_SDK = Version("0.16.0")


def check_rules(config: CogConfig, plain: PlainData) -> list[Problem]:
    """Return every problem the cross-field rules find."""
    checks = (
        _python_version, _exclusive_keys, _references, _concurrency, _cuda, _environment,
        _sdk_version,
    )  # fmt: skip
    return [problem for check in checks for problem in check(config, plain)]


def key_warnings(plain: PlainData) -> list[Problem]:
    """Return warnings for removed and deprecated keys that are present."""
    warnings = []
    for path, reason in REMOVED_KEYS.items():
        if path in plain.key_locations:
            message = f"'{'.'.join(path)}' has no effect: {reason}"
            warnings.append(Problem(plain.key_locations[path], message))
    for path, advice in DEPRECATED_KEYS.items():
        # An empty list (all items commented out) uses nothing deprecated.
        if path in plain.key_locations and _value_at(plain.data, path) not in (None, []):
            message = f"'{'.'.join(path)}' is deprecated in Cog"
            warnings.append(Problem(plain.key_locations[path], message, advice))
    return warnings


def _value_at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _python_version(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    text = config.build.python_version
    location = plain.locate(("build", "python_version"))
    match = _PYTHON_VERSION.match(text)
    if match is None:
        hint = 'write the version as text, e.g. python_version: "3.11"'
        if re.fullmatch(r"3\.\d", text):
            hint = f'if you meant 3.{text[2]}0, quote it: python_version: "3.{text[2]}0"'
        message = f"python_version must be major.minor or major.minor.patch, got '{text}'"
        yield Problem(location, message, hint)
        return
    minor = f"3.{match.group(1)}"
    if minor not in supported_pythons():
        known = ", ".join(supported_pythons())
        message = f"Python {minor} is not in any nixpkgs revision cognix pins"
        yield Problem(location, message, f"use one of {known}")


def _exclusive_keys(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    pairs = (
        (("run",), ("predict",), "only one of run or predict can be set"),
        (("model",), ("image",), "only one of model or image can be set"),
        (
            ("build", "python_requirements"),
            ("build", "python_packages"),
            "only one of python_packages or python_requirements can be set",
        ),
    )
    for first, second, message in pairs:
        if first in plain.key_locations and second in plain.key_locations:
            later = max(plain.key_locations[first], plain.key_locations[second])
            yield Problem(later, message, "remove one of the two")


def _references(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    for key in ("run", "predict", "train"):
        ref = getattr(config, key)
        if ref is not None and len(ref.split(".py:")) != 2:
            message = f"'{key}' must be in the form 'file.py:Name', got '{ref}'"
            yield Problem(plain.locate((key,)), message)


def _concurrency(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    if config.concurrency is None:
        return
    location = plain.locate(("concurrency", "max"))
    maximum = config.concurrency.max
    if maximum < 1:
        yield Problem(location, f"concurrency.max must be at least 1, got {maximum}")
    elif maximum > 1 and _minor_number(config) < 11:
        message = "concurrency.max above 1 needs Python 3.11 or newer"
        yield Problem(location, message, "raise build.python_version to 3.11")


def _minor_number(config: CogConfig) -> int:
    match = _PYTHON_VERSION.match(config.build.python_version)
    # An unreadable version is reported by its own rule; do not report it twice.
    return int(match.group(1)) if match else 99


def _cuda(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    cuda = config.build.cuda
    if cuda is not None:
        match = _CUDA_VERSION.match(cuda)
        location = plain.locate(("build", "cuda"))
        if match is None:
            yield Problem(location, f"cuda must be major.minor, e.g. \"12.1\", got '{cuda}'")
        elif int(match.group(1)) < 11:
            yield Problem(location, f"the oldest CUDA Cog supports is 11, got '{cuda}'")
    cudnn = config.build.cudnn
    if cudnn is not None and not cudnn.isdigit():
        location = plain.locate(("build", "cudnn"))
        yield Problem(location, f"cudnn must be a major version such as \"8\", got '{cudnn}'")


def _environment(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, item in enumerate(config.environment):
        location = plain.locate(("environment", index))
        match = _ENV_ITEM.match(item)
        if match is None:
            yield Problem(location, f"environment item '{item}' is not NAME=value")
            continue
        name = match.group(1)
        if name in _RESERVED_ENV or name.startswith(_RESERVED_ENV_PREFIXES):
            yield Problem(location, f"environment variable {name} is reserved for Cog")
        elif name in seen:
            yield Problem(location, f"environment variable {name} is already defined")
        seen.add(name)


def _sdk_version(config: CogConfig, plain: PlainData) -> Iterator[Problem]:
    text = config.build.sdk_version
    if text is None or text == "prerelease":
        return
    location = plain.locate(("build", "sdk_version"))
    try:
        version = Version(text)
    except InvalidVersion:
        yield Problem(location, f"sdk_version must be a version such as \"0.23.1\", got '{text}'")
        return
    if version < MIN_COG_SDK:
        yield Problem(location, f"sdk_version {text} is older than the oldest supported, 0.16.0")
