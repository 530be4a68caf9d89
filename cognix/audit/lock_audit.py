"""Check a project's pylock.toml: every artifact hashed, nixpkgs pinned, inputs unchanged.

`audit_lock` reads the lock as written and reports each problem at the line of the entry
it concerns: a wheel, sdist or run-step download without a sha256, a nixpkgs pin without a
rev or nar-hash, an inputs digest that no longer matches the project's files. With `deep`,
every artifact is downloaded again, streamed through sha256 so memory stays flat, and its
hash and size are compared with the lock's.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cognix.config.load import Project
from cognix.errors import InputError, JobFailed, Location, Problem
from cognix.lock import LOCK_FILE, read_lock_document
from cognix.resolve.downloads import HashedDownload, http_client, stream_url

log = logging.getLogger(__name__)

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
SRI_SHA256 = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")
GIT_REV = re.compile(r"[0-9a-f]{40}")
_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\"-]+?)\s*\]\]?\s*(#.*)?")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")
_RELOCK = "run `cognix lock` to write the lock again"


@dataclass(frozen=True)
class LockedArtifact:
    """One file the lock pins: a wheel, an sdist or a run-step download.

    `owner` names what the file belongs to, as findings show it; `line` is where its
    entry starts in the lock.
    """

    owner: str
    url: str
    sha256: str | None
    size: int | None
    line: int

    @property
    def filename(self) -> str:
        """Return the last part of the artifact's URL."""
        return httpx.URL(self.url).path.rsplit("/", 1)[-1] or self.url


@dataclass(frozen=True)
class LockAudit:
    """What `cognix audit lock` found in one lock; clean when `findings` is empty."""

    path: Path
    packages: int
    artifacts: int
    deep: bool
    findings: tuple[Problem, ...]

    @property
    def clean(self) -> bool:
        """Return whether the lock passed every check."""
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        """Return what was checked and found as JSON-ready data, for `--json`."""
        return {
            "lock": str(self.path),
            "clean": self.clean,
            "deep": self.deep,
            "packages": self.packages,
            "artifacts": self.artifacts,
            "findings": [
                {
                    "file": str(problem.location.path),
                    "line": problem.location.line,
                    "message": problem.message,
                    "hint": problem.hint,
                }
                for problem in self.findings
            ],
        }

    def summary(self) -> str:
        """Return the closing line: what was checked, and how many problems were found."""
        checked = f"{_count(self.packages, 'package')}, {_count(self.artifacts, 'artifact')}"
        if self.findings:
            return f"{LOCK_FILE}: {_count(len(self.findings), 'problem')} ({checked} checked)"
        downloaded = ", each downloaded again and matching" if self.deep else ""
        return f"{LOCK_FILE} is sound: {checked} hashed{downloaded}; nixpkgs pinned; up to date"


def audit_lock(project: Project, *, deep: bool = False) -> LockAudit:
    """Check the project's pylock.toml and return every problem found, located.

    Raises `InputError` when there is no lock and `ConfigError` when it is not TOML;
    everything else wrong with the lock is a finding.
    """
    path = project.directory / LOCK_FILE
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path} does not exist", "run `cognix lock` first")
    text, document = read_lock_document(path)
    lines = _EntryLines.of(text)
    artifacts, findings = _artifacts(document, lines, path)
    findings += _pin_findings(document, lines, path)
    findings += _staleness_findings(document, lines, path, project)
    if deep:
        findings += _download_findings(artifacts, path)
    packages = document.get("packages")
    return LockAudit(
        path=path,
        packages=len(packages) if isinstance(packages, list) else 0,
        artifacts=len(artifacts),
        deep=deep,
        findings=tuple(sorted(findings, key=lambda finding: finding.location)),
    )


@dataclass
class _EntryLines:
    """Where each entry of a lock starts: 1-based lines of its `[[…]]` or `[…]` header."""

    packages: list[int] = field(default_factory=list)
    wheels: list[list[int]] = field(default_factory=list)
    sdists: dict[int, int] = field(default_factory=dict)
    runs: list[int] = field(default_factory=list)
    keys: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> _EntryLines:
        """Scan `text` for the headers and keys cognix writes; other layouts answer line 1."""
        lines = cls()
        table = ""
        # TOML ends lines with LF or CRLF only; str.splitlines also splits at \x0c and U+2028.
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            header = _HEADER.fullmatch(line)
            key = _KEY.match(line)
            if header:
                table = header.group(2)
                lines._record(table, header.group(1) == "[[", number)
            elif key:
                lines.keys.setdefault((table, key.group(1)), number)
        return lines

    def _record(self, table: str, array: bool, number: int) -> None:
        if array and table == "packages":
            self.packages.append(number)
            self.wheels.append([])
        elif array and table == "packages.wheels" and self.wheels:
            self.wheels[-1].append(number)
        elif table == "packages.sdist" and self.packages:
            self.sdists[len(self.packages) - 1] = number
        elif array and table == "tool.cognix.run":
            self.runs.append(number)
        self.keys.setdefault((table, ""), number)

    def package(self, index: int) -> int:
        return _nth(self.packages, index, self.keys.get(("", "packages"), 1))

    def wheel(self, package: int, index: int) -> int:
        wheels = self.wheels[package] if package < len(self.wheels) else []
        return _nth(wheels, index, self.package(package))

    def run(self, index: int) -> int:
        return _nth(self.runs, index, self.keys.get(("tool.cognix", "run"), 1))

    def key(self, table: str, key: str) -> int:
        """Return the line of `key` in `table`, else of the table's header, else 1."""
        return self.keys.get((table, key)) or self.keys.get((table, ""), 1)


def _nth(numbers: list[int], index: int, fallback: int) -> int:
    return numbers[index] if index < len(numbers) else fallback


def _artifacts(
    document: dict[str, Any], lines: _EntryLines, path: Path
) -> tuple[list[LockedArtifact], list[Problem]]:
    """Return the lock's artifacts, and a finding for each one without a usable hash."""
    artifacts: list[LockedArtifact] = []
    findings: list[Problem] = []
    for artifact in _each_artifact(document, lines):
        if not artifact.url:
            message = f"{artifact.owner}: an artifact has no url"
            findings.append(Problem(Location(path, artifact.line), message, _RELOCK))
        elif artifact.sha256 is None:
            message = f"{artifact.owner}: {artifact.filename} has no sha256 hash"
            findings.append(Problem(Location(path, artifact.line), message, _RELOCK))
        elif not SHA256_HEX.fullmatch(artifact.sha256):
            message = (
                f"{artifact.owner}: the sha256 of {artifact.filename} is not 64 lowercase"
                f" hex digits: {artifact.sha256!r}"
            )
            findings.append(Problem(Location(path, artifact.line), message, _RELOCK))
        artifacts.append(artifact)
    findings += _packages_without_artifacts(document, lines, path)
    packages = document.get("packages")
    if packages is not None and not isinstance(packages, list):
        message = f"packages is not an array of tables but {type(packages).__name__} {packages!r}"
        findings.append(Problem(Location(path, lines.key("", "packages")), message, _RELOCK))
    return artifacts, findings


def _each_artifact(document: dict[str, Any], lines: _EntryLines) -> Iterator[LockedArtifact]:
    """Yield every wheel and sdist of every package, then every run-step download."""
    for index, package in enumerate(_tables(document.get("packages"))):
        owner = f"package {package.get('name', '?')} {package.get('version', '?')}"
        for number, wheel in enumerate(_tables(package.get("wheels"))):
            yield _artifact(owner, wheel, wheel.get("hashes"), lines.wheel(index, number))
        sdist = package.get("sdist")
        if isinstance(sdist, dict):
            line = lines.sdists.get(index, lines.package(index))
            yield _artifact(owner, sdist, sdist.get("hashes"), line)
    for index, step in enumerate(_tables(_cognix_table(document).get("run"))):
        if step.get("kind") == "download":
            owner = f"download of cog.yaml line {step.get('line', '?')}"
            yield _artifact(owner, step, step, lines.run(index))


def _artifact(owner: str, entry: dict[str, Any], hashes: Any, line: int) -> LockedArtifact:
    sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
    size = entry.get("size")
    return LockedArtifact(
        owner=owner,
        url=entry["url"] if isinstance(entry.get("url"), str) else "",
        sha256=sha256 if isinstance(sha256, str) else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        line=line,
    )


def _packages_without_artifacts(
    document: dict[str, Any], lines: _EntryLines, path: Path
) -> list[Problem]:
    findings = []
    for index, package in enumerate(_tables(document.get("packages"))):
        if not _tables(package.get("wheels")) and not isinstance(package.get("sdist"), dict):
            owner = f"package {package.get('name', '?')} {package.get('version', '?')}"
            message = f"{owner} has no wheel or sdist, so nothing pins its bytes"
            findings.append(Problem(Location(path, lines.package(index)), message, _RELOCK))
    return findings


def _pin_findings(document: dict[str, Any], lines: _EntryLines, path: Path) -> list[Problem]:
    """Return a finding for a nixpkgs pin without a commit or a nar-hash."""
    pin = _cognix_table(document).get("nixpkgs")
    pin = pin if isinstance(pin, dict) else {}
    table = "tool.cognix.nixpkgs"
    findings = []
    rev = pin.get("rev")
    if not (isinstance(rev, str) and GIT_REV.fullmatch(rev)):
        message = "the nixpkgs pin has no rev (a 40-digit commit)"
        if rev is not None:
            message = f"the nixpkgs pin's rev is not a 40-digit commit: {rev!r}"
        findings.append(Problem(Location(path, lines.key(table, "rev")), message, _RELOCK))
    nar_hash = pin.get("nar-hash")
    if not (isinstance(nar_hash, str) and SRI_SHA256.fullmatch(nar_hash)):
        message = "the nixpkgs pin has no nar-hash, so Nix cannot check what it fetches"
        if nar_hash is not None:
            message = f"the nixpkgs pin's nar-hash is not an SRI sha256: {nar_hash!r}"
        location = Location(path, lines.key(table, "nar-hash"))
        findings.append(Problem(location, message, _RELOCK))
    return findings


def _staleness_findings(
    document: dict[str, Any], lines: _EntryLines, path: Path, project: Project
) -> list[Problem]:
    """Return a finding when the lock's inputs digest is not that of the project's files."""
    recorded = _cognix_table(document).get("inputs-digest")
    location = Location(path, lines.key("tool.cognix", "inputs-digest"))
    if not isinstance(recorded, str):
        return [Problem(location, "the lock records no inputs-digest", _RELOCK)]
    if recorded == project.inputs_digest():
        return []
    names = [
        input_path.resolve().relative_to(project.directory.resolve()).as_posix()
        for input_path, _ in project.inputs
    ]
    message = f"the lock is stale: the project's inputs ({', '.join(names)}) changed"
    recorded_names = _cognix_table(document).get("inputs")
    if isinstance(recorded_names, list):
        added = [name for name in names if name not in recorded_names]
        removed = [str(name) for name in recorded_names if name not in names]
        message += f"; new since the lock: {', '.join(added)}" if added else ""
        message += f"; gone since the lock: {', '.join(removed)}" if removed else ""
    return [Problem(location, message, _RELOCK)]


def _download_findings(artifacts: list[LockedArtifact], path: Path) -> list[Problem]:
    """Download every hashed artifact again and return a finding for each that differs."""
    findings = []
    with http_client() as http:
        for artifact in artifacts:
            if artifact.sha256 is None or not SHA256_HEX.fullmatch(artifact.sha256):
                continue
            log.info("downloading %s", artifact.url)
            try:
                fetched = _hash_at_most(artifact, http)
            except JobFailed as error:
                message = f"{artifact.owner}: {error.message}"
                findings.append(Problem(Location(path, artifact.line), message))
                continue
            except httpx.HTTPError as error:
                # Not a transient failure the download retries: a redirect loop, a bad URL.
                message = f"{artifact.owner}: could not download {artifact.url}: {error}"
                findings.append(Problem(Location(path, artifact.line), message))
                continue
            if fetched.sha256 != artifact.sha256 or artifact.size not in (None, fetched.size):
                message = (
                    f"{artifact.owner}: {artifact.filename} from {artifact.url} has sha256 "
                    f"{fetched.sha256} ({fetched.size} bytes), the lock records "
                    f"{artifact.sha256} ({_bytes(artifact.size)})"
                )
                hint = "the file changed where it is served; find out why before relocking"
                findings.append(Problem(Location(path, artifact.line), message, hint))
    return findings


_SLACK = 1 << 20


class _TooLarge(Exception):
    """The server sent more bytes than the lock records: the hash cannot match."""


def _hash_at_most(artifact: LockedArtifact, http: httpx.Client) -> HashedDownload:
    """Download and hash `artifact`, stopping 1 MiB past its locked size, if it has one.

    A server that sends without end must not keep the audit running for ever. A body a
    little longer than the lock records is still hashed whole, to show both hashes.
    """
    limit = None if artifact.size is None else artifact.size + _SLACK

    def consume(chunks: Iterable[bytes]) -> HashedDownload:
        digest = hashlib.sha256()
        size = 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise _TooLarge
        return HashedDownload(artifact.url, digest.hexdigest(), size)

    try:
        return stream_url(http, artifact.url, consume)
    except _TooLarge:
        message = (
            f"{artifact.filename} from {artifact.url} is larger than the lock records: "
            f"the server sent more than {limit} bytes, the lock records {_bytes(artifact.size)}"
        )
        raise JobFailed(message) from None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _bytes(size: int | None) -> str:
    return "no size" if size is None else f"{size} bytes"


def _cognix_table(document: dict[str, Any]) -> dict[str, Any]:
    tool = document.get("tool")
    table = tool.get("cognix") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else {}


def _tables(value: Any) -> list[dict[str, Any]]:
    """Return the tables of an array of tables, an empty one for each other item."""
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, dict) else {} for item in value]
