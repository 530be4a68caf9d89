"""Work out what one requirement names: a PEP 508 requirement, a URL or a local artifact.

Cog's rules for local artifacts (bare wheel or sdist paths inside the project, nothing else
on the line) come from `pkg/requirements/local_artifact.go` in replicate/cog 0.22+.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
ARTIFACT_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_REQUIREMENT_HINT = "write NAME, NAME==VERSION, NAME[EXTRA]>=VERSION; MARKER or NAME @ URL"
_LOCAL_HINT = "Cog installs a local package only from a bare path, e.g. ./dist/NAME-1.0.tar.gz"
_WHEEL_HINT = "wheel file names look like NAME-VERSION-PYTHONTAG-ABITAG-PLATFORM.whl"
_FILE_URL_HINT = "list the wheel or sdist by its path in the project, e.g. ./dist/NAME-1.0.tar.gz"


@dataclass(frozen=True)
class Spec:
    """What a requirement names, before its options are applied."""

    name: str
    requirement: Requirement | None
    url: str | None = None
    local_path: Path | None = None


class SpecError(Exception):
    """A requirement that cannot be read; `offset` points into its text."""

    def __init__(self, offset: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message
        self.hint = hint


def parse_spec(text: str, project_dir: Path, *, editable: bool = False) -> Spec:
    """Read one requirement as written; raise `SpecError` pointing at what is wrong."""
    if editable:
        return _editable_spec(text)
    if is_url(text):
        return _url_spec(text, editable=False)
    if _looks_local(text):
        return _local_spec(text, project_dir)
    return _pep508_spec(text)


def is_url(text: str) -> bool:
    """Tell whether `text` starts with a URL scheme pip understands."""
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or not scheme[:1].isalpha():
        return False
    if not all(char.isalnum() or char in "+-." for char in scheme):
        return False
    return rest.startswith("//") or scheme == "file" or scheme.startswith(VCS_PREFIXES)


def syntax_error(error: InvalidRequirement | InvalidMarker) -> tuple[int, str]:
    """Return the offset and first line of a packaging parse error, in lower case."""
    cause = error.__cause__
    span = getattr(cause, "span", None)
    message = getattr(cause, "message", None) or str(error).splitlines()[0]
    offset = span[1] if isinstance(span, tuple) else 0
    return offset, message[:1].lower() + message[1:]


def _editable_spec(text: str) -> Spec:
    if not text.lower().startswith(VCS_PREFIXES):
        message = f"cannot install `{text}` in editable mode; expected a VCS URL"
        hint = "write -e git+https://…#egg=NAME, or build a wheel and list its path"
        raise SpecError(0, message, hint)
    return _url_spec(text, editable=True)


def _url_spec(text: str, *, editable: bool) -> Spec:
    url, marker, marker_offset = _split_url_marker(text)
    _check_single_word(url, "a URL")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise SpecError(0, f"invalid URL `{url}`: {error}") from None
    if parts.scheme.lower() == "file":
        raise SpecError(0, "file: URLs are not supported", _FILE_URL_HINT)
    label = _url_label(url, parts)
    if marker is not None:
        _check_marker(marker, marker_offset)
    name = canonicalize_name(Requirement(label).name)
    requirement = None if editable else _direct_reference(label, url, marker)
    return Spec(name, requirement, url)


def _split_url_marker(text: str) -> tuple[str, str | None, int]:
    """Split `URL ; MARKER`; a `;` counts only next to whitespace, as URLs may hold one."""
    for index, char in enumerate(text):
        beside = text[index - 1 : index] + text[index + 1 : index + 2]
        if char == ";" and index > 0 and any(side.isspace() for side in beside):
            rest = text[index + 1 :]
            marker = rest.strip()
            return text[:index].rstrip(), marker, index + 1 + len(rest) - len(rest.lstrip())
    return text, None, 0


def _check_single_word(text: str, what: str) -> None:
    words = text.split()
    if len(words) > 1:
        message = f"expected `; MARKER` or the end of the requirement after {what}"
        raise SpecError(text.index(words[1], len(words[0])), message)


def _check_marker(marker: str, offset: int) -> None:
    try:
        Marker(marker)
    except InvalidMarker as error:
        position, message = syntax_error(error)
        raise SpecError(offset + position, f"invalid marker: {message}") from None


def _url_label(url: str, parts: SplitResult) -> str:
    """Return the `name[extras]` a URL installs, from #egg= or the file name."""
    fragment = dict(parse_qsl(parts.fragment, keep_blank_values=True))
    if "egg" in fragment:
        return _egg_label(fragment["egg"], url.find("egg=") + len("egg="))
    vcs = parts.scheme.lower().startswith(VCS_PREFIXES)
    name = None if vcs else artifact_name(unquote(parts.path.rpartition("/")[2]))
    if name is None:
        guess = _guess_name(parts) if vcs else "NAME"
        message = f"cannot tell which package {url} installs; expected #egg=NAME"
        hint = f"write `{guess} @ {url}` or add #egg={guess}, with the name the package declares"
        raise SpecError(0, message, hint)
    return name


def _egg_label(egg: str, offset: int) -> str:
    try:
        requirement = Requirement(egg)
    except InvalidRequirement:
        requirement = None
    if requirement is None or requirement.specifier or requirement.url or requirement.marker:
        message = f"invalid #egg={egg}; expected a package name, e.g. #egg=my_package"
        raise SpecError(offset, message)
    return egg


def _guess_name(parts: SplitResult) -> str:
    last = parts.path.rstrip("/").rpartition("/")[2].partition("@")[0]
    return last.removesuffix(".git") or "NAME"


def _direct_reference(label: str, url: str, marker: str | None) -> Requirement | None:
    text = f"{label} @ {url}" + (f" ; {marker}" if marker else "")
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def artifact_name(filename: str) -> str | None:
    """Return the canonical project name in a wheel or sdist file name, if it is one."""
    lower = filename.lower()
    if lower.endswith(".whl"):
        try:
            return parse_wheel_filename(filename)[0]
        except InvalidWheelFilename as error:
            message = str(error)[:1].lower() + str(error)[1:]
            raise SpecError(0, message, _WHEEL_HINT) from None
    suffix = next((suffix for suffix in ARTIFACT_SUFFIXES if lower.endswith(suffix)), None)
    if suffix is None:
        return None
    name, dash, version = filename[: -len(suffix)].rpartition("-")
    if dash and _is_name(name) and _is_version(version):
        return canonicalize_name(name)
    return None


def _is_name(text: str) -> bool:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return False
    return requirement.name == text and not (requirement.specifier or requirement.marker)


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _looks_local(text: str) -> bool:
    head = text.split(None, 1)[0].split(";", 1)[0].split("[", 1)[0]
    if "@" in head:
        return False
    pathlike = head.startswith(".") or "/" in head or "\\" in head
    return pathlike or head.lower().endswith(ARTIFACT_SUFFIXES)


def _local_spec(text: str, project_dir: Path) -> Spec:
    if ";" in text:
        message = "environment markers are not supported on local package paths"
        raise SpecError(text.index(";"), message, _LOCAL_HINT)
    _check_single_word(text, "a local package path")
    if "[" in text and text.endswith("]"):
        raise SpecError(text.index("["), "extras are not supported on local packages", _LOCAL_HINT)
    if not text.lower().endswith(ARTIFACT_SUFFIXES):
        message = f"local package `{text}` is not a wheel or source archive"
        hint = "Cog installs .whl, .zip, .tar.gz, .tgz, .tar.bz2 and .tar.xz files"
        raise SpecError(0, message, hint)
    name = artifact_name(text.replace("\\", "/").rpartition("/")[2])
    if name is None:
        message = f"cannot tell the package name of `{text}`; expected NAME-VERSION.tar.gz"
        raise SpecError(0, message)
    return Spec(name, None, local_path=_inside(text, project_dir))


def _inside(text: str, project_dir: Path) -> Path:
    root = os.path.abspath(project_dir)
    path = Path(os.path.abspath(os.path.join(root, text)))
    if not path.is_relative_to(root):
        message = f"local package `{text}` lies outside the project directory"
        raise SpecError(0, message, "Cog builds from the project directory; move the file into it")
    return path


def _pep508_spec(text: str) -> Spec:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        offset, message = syntax_error(error)
        message = f"invalid requirement `{text}`: {message}"
        raise SpecError(offset, message, _REQUIREMENT_HINT) from None
    if requirement.url is not None:
        _check_direct_url(requirement.url, text)
    return Spec(canonicalize_name(requirement.name), requirement, requirement.url)


def _check_direct_url(url: str, text: str) -> None:
    offset = max(text.find(url), 0)
    if url.lower().startswith("file:"):
        raise SpecError(offset, "file: URLs are not supported", _FILE_URL_HINT)
    if not is_url(url):
        message = "`NAME @ path` is not supported for local packages; list the path directly"
        raise SpecError(offset, message, _LOCAL_HINT)
