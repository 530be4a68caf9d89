"""Describe what a project's image is made of as a CycloneDX 1.6 SBOM, from its lock.

`sbom` lists the locked Python packages (purl, wheel URLs, sha256, dependencies, the cog
SDK marked), the nixpkgs pin with its nar-hash, the system packages and the run-step
downloads, with the image as the root component. Given the Nix closure of a build (see
`parse_path_info`), every store path is listed too. Nothing in the document comes from the
clock or chance: the serial number is derived from the lock's bytes and the closure, and the
timestamp is the lock's `exclude-newer`, so the same lock gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from cognix import __version__, external
from cognix.config.load import Project
from cognix.errors import InputError, JobFailed
from cognix.lock import LOCK_FILE, read_lock_document
from cognix.nixgen.project_json import default_image_name

SPEC_VERSION = "1.6"
COG_SDK_PACKAGE = "cog"
NIXPKGS_REPOSITORY = "https://github.com/NixOS/nixpkgs"
# Nix's own base-32 alphabet (no e, o, u, t), used in store paths and `sha256:` hashes.
NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_STORE_PATH = re.compile(r"/nix/store/[0-9a-df-np-sv-z]{32}-(?P<name>[^/]+)")
_VERSION_DASH = re.compile(r"-(?![A-Za-z])")
_RELOCK = "run `cognix lock` to write the lock again"
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "cognix:sbom")


@dataclass(frozen=True)
class StorePath:
    """One path of a Nix closure, as `nix path-info --json --recursive` reports it."""

    path: str
    nar_hash: str | None = None
    nar_size: int | None = None
    references: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return the name after the store hash, e.g. `python3-3.11.9`."""
        found = _STORE_PATH.match(self.path)
        return found.group("name") if found else self.path.rsplit("/", 1)[-1]

    def name_and_version(self) -> tuple[str, str | None]:
        """Split the name as `builtins.parseDrvName` does: at the first `-` not before a letter."""
        found = _VERSION_DASH.search(self.name)
        if found is None:
            return self.name, None
        return self.name[: found.start()], self.name[found.end() :]

    def nar_sha256(self) -> str | None:
        """Return the NAR's sha256 as 64 hex digits, from either form Nix prints."""
        return None if self.nar_hash is None else sha256_hex(self.nar_hash)


def nix_closure(store_path: str) -> list[StorePath]:
    """Return every path in the closure of `store_path` (or of a `result` link to one).

    Raises `InputError` when it names no path in the Nix store: `nix path-info` would
    otherwise read it as a flake reference.
    """
    resolved = Path(store_path).resolve()
    if not (resolved.exists() and resolved.is_relative_to(_NIX_STORE)):
        raise InputError(
            f"--built {store_path} is not a path in the Nix store",
            "pass the `result` link that `nix build .#image` made, or the store path it points to",
        )
    nix = external.find_program("nix", "install Nix 2.8 or newer from https://nixos.org/download")
    argv = external.nix_command(nix, "path-info", "--json", "--recursive", store_path)
    return parse_path_info(external.run(argv).stdout)


_NIX_STORE = Path("/nix/store")


def parse_path_info(text: str) -> list[StorePath]:
    """Read the output of `nix path-info --json --recursive` into store paths.

    Nix 2.8 to 2.18 print a list of objects with `path`, `narHash`, `narSize` and
    `references`; Nix 2.19 and later print an object keyed by path. Both are read.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise JobFailed(f"nix path-info printed something other than JSON: {error}") from None
    if isinstance(document, dict):
        entries = [
            {**info, "path": path} for path, info in document.items() if isinstance(info, dict)
        ]
    elif isinstance(document, list):
        entries = [item for item in document if isinstance(item, dict)]
    else:
        raise JobFailed("nix path-info printed neither a list nor an object")
    return sorted((_store_path(entry) for entry in entries), key=lambda item: item.path)


def _store_path(entry: dict[str, Any]) -> StorePath:
    path = entry.get("path")
    if not isinstance(path, str):
        raise JobFailed(f"nix path-info printed an entry without a path: {entry!r}")
    nar_hash = entry.get("narHash")
    nar_size = entry.get("narSize")
    references = entry.get("references", [])
    return StorePath(
        path=path,
        nar_hash=nar_hash if isinstance(nar_hash, str) else None,
        nar_size=nar_size if isinstance(nar_size, int) else None,
        references=tuple(sorted(r for r in references if isinstance(r, str))),
    )


def sha256_hex(nix_hash: str) -> str:
    """Return 64 hex digits for a sha256 written as SRI (`sha256-…`) or by Nix (`sha256:…`)."""
    if nix_hash.startswith("sha256-"):
        try:
            digest = base64.b64decode(nix_hash.removeprefix("sha256-"), validate=True)
        except ValueError:
            raise JobFailed(f"not a sha256 hash Nix writes: {nix_hash!r}") from None
    elif nix_hash.startswith("sha256:") and len(nix_hash) == 7 + 64:
        digest = bytes.fromhex(nix_hash.removeprefix("sha256:"))
    elif nix_hash.startswith("sha256:"):
        digest = _nix32_decode(nix_hash.removeprefix("sha256:"))
    else:
        raise JobFailed(f"not a sha256 hash Nix writes: {nix_hash!r}")
    if len(digest) != 32:
        raise JobFailed(f"not a sha256 hash Nix writes: {nix_hash!r}")
    return digest.hex()


def _nix32_decode(text: str) -> bytes:
    """Decode Nix's base-32: its last character holds the lowest five bits."""
    value = 0
    for position, character in enumerate(reversed(text)):
        digit = NIX32_ALPHABET.find(character)
        if digit < 0:
            raise JobFailed(f"{character!r} is not a Nix base-32 digit in {text!r}")
        value |= digit << (5 * position)
    length = len(text) * 5 // 8
    if value >= 1 << (8 * length):
        raise JobFailed(f"{text!r} is not a Nix base-32 hash")
    return value.to_bytes(length, "little")


def sbom(project: Project, closure: Sequence[StorePath] = ()) -> str:
    """Return the CycloneDX JSON of the project's image, from its pylock.toml.

    `closure` adds the store paths of a build (from `parse_path_info`). The same lock and
    closure always give the same text. Raises `InputError` when there is no lock.
    """
    path = project.directory / LOCK_FILE
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path} does not exist", "run `cognix lock` first")
    text, document = read_lock_document(path)
    cognix_table = _table(_table(document, "tool"), "cognix")
    root = _root_component(project, cognix_table)
    bom = Bom(
        serial_number=_serial_number(text, closure),
        metadata=BomMetaData(
            timestamp=_timestamp(cognix_table),
            tools=ToolRepository(components=[_cognix_component()]),
            component=root,
        ),
    )
    top_level: list[Component] = []
    top_level += _add_packages(bom, document, cognix_table)
    top_level += _add_nix_parts(bom, cognix_table)
    top_level += _add_closure(bom, closure)
    bom.register_dependency(root, top_level)
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def _root_component(project: Project, cognix_table: dict[str, Any]) -> Component:
    name = project.config.image or default_image_name(project.directory.resolve().name)
    target = _table(cognix_table, "target")
    facts = {
        "cognix:inputs-digest": cognix_table.get("inputs-digest"),
        "cognix:python": target.get("python"),
        "cognix:platform": target.get("platform"),
        "cognix:cuda": _table(cognix_table, "cuda").get("version"),
    }
    return Component(
        type=ComponentType.CONTAINER,
        name=name,
        bom_ref=f"image:{name}",
        properties=_properties(facts.items()),
    )


def _cognix_component() -> Component:
    return Component(type=ComponentType.APPLICATION, name="cognix", version=__version__)


def _serial_number(lock_text: str, closure: Sequence[StorePath]) -> uuid.UUID:
    digest = hashlib.sha256(lock_text.encode())
    for store_path in closure:
        digest.update(f"\0{store_path.path}\0{store_path.nar_hash}".encode())
    return uuid.uuid5(_SERIAL_NAMESPACE, digest.hexdigest())


def _timestamp(cognix_table: dict[str, Any]) -> datetime.datetime:
    exclude_newer = cognix_table.get("exclude-newer")
    try:
        moment = datetime.datetime.strptime(str(exclude_newer), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        message = f"{LOCK_FILE} has no exclude-newer date: {exclude_newer!r}"
        raise InputError(message, _RELOCK) from None
    return moment.replace(tzinfo=datetime.UTC)


def _add_packages(
    bom: Bom, document: dict[str, Any], cognix_table: dict[str, Any]
) -> list[Component]:
    """Add a component per locked package with its dependencies; return the top-level ones."""
    sdk = _table(cognix_table, "cog").get("sdk")
    by_name: dict[str, Component] = {}
    needs: dict[str, list[str]] = {}
    for package in _tables(document.get("packages")):
        component = _package_component(package, sdk)
        by_name[component.name] = component
        needs[component.name] = [
            str(item.get("name")) for item in _tables(package.get("dependencies"))
        ]
        bom.components.add(component)
    needed = {name for names in needs.values() for name in names}
    for name, component in by_name.items():
        # A dependency the lock leaves out (its marker excludes the target) is not installed.
        present = [by_name[dependency] for dependency in needs[name] if dependency in by_name]
        bom.register_dependency(component, present)
    return [component for name, component in by_name.items() if name not in needed]


def _package_component(package: dict[str, Any], sdk: Any) -> Component:
    name = str(package.get("name", ""))
    version = str(package.get("version", ""))
    files = [*_tables(package.get("wheels")), *_tables([package.get("sdist")])]
    references = [
        ExternalReference(
            type=ExternalReferenceType.DISTRIBUTION,
            url=XsUri(str(item["url"])),
            hashes=_sha256(_table(item, "hashes").get("sha256")),
        )
        for item in files
        if isinstance(item.get("url"), str)
    ]
    # A package locked with several wheels (one per tag set) has no single hash of its own.
    hashes = _sha256(_table(files[0], "hashes").get("sha256")) if len(files) == 1 else []
    role = "cog-sdk" if name == COG_SDK_PACKAGE and version == sdk else None
    if not name.strip():
        raise InputError(f"{LOCK_FILE}: a package has no name", _RELOCK)
    purl = PackageURL(type="pypi", name=name, version=version or None)
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=version,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=hashes,
        external_references=references,
        properties=_properties([("cognix:role", role), ("cognix:marker", package.get("marker"))]),
    )


def _add_nix_parts(bom: Bom, cognix_table: dict[str, Any]) -> list[Component]:
    """Add the nixpkgs pin, system packages and run steps; return them, in that order."""
    parts = [_nixpkgs_component(_table(cognix_table, "nixpkgs"))]
    for package in _tables(cognix_table.get("system-packages")):
        parts.append(_system_component(package))
    for step in _tables(cognix_table.get("run")):
        if step.get("kind") == "download":
            parts.append(_download_component(step))
        elif step.get("kind") == "nixpkgs":
            parts.append(_run_attribute_component(step))
    for part in parts:
        bom.components.add(part)
        bom.register_dependency(part)
    return parts


def _nixpkgs_component(pin: dict[str, Any]) -> Component:
    rev = str(pin.get("rev", ""))
    nar_hash = pin.get("nar-hash")
    try:
        nar_sha256 = sha256_hex(nar_hash) if isinstance(nar_hash, str) else None
    except JobFailed as error:
        message = f"{LOCK_FILE}: the nixpkgs pin's nar-hash is {error.message}"
        raise InputError(message, _RELOCK) from None
    facts = {
        "cognix:nixpkgs-branch": pin.get("branch"),
        "cognix:nar-hash": nar_hash,
        "cognix:last-modified": pin.get("last-modified"),
        "cognix:python-attribute": pin.get("python-attr"),
    }
    purl = PackageURL(type="github", namespace="NixOS", name="nixpkgs", version=rev)
    return Component(
        type=ComponentType.LIBRARY,
        name="nixpkgs",
        version=rev,
        purl=purl,
        bom_ref=purl.to_string(),
        # The hash Nix checks the pin by: sha256 of the source tree's NAR serialisation.
        hashes=_sha256(nar_sha256),
        external_references=[
            ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(NIXPKGS_REPOSITORY)),
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(f"{NIXPKGS_REPOSITORY}/archive/{rev}.tar.gz"),
            ),
        ],
        properties=_properties(facts.items()),
    )


def _system_component(package: dict[str, Any]) -> Component:
    apt = str(package.get("apt", ""))
    listed = package.get("nixpkgs")
    attributes = [str(item) for item in (listed if isinstance(listed, list) else [])]
    facts = [("cognix:nixpkgs-attribute", attribute) for attribute in attributes]
    return Component(
        type=ComponentType.LIBRARY,
        name=apt,
        bom_ref=f"system-package:{apt}",
        description=f"apt package {apt}, from nixpkgs as {', '.join(attributes)}",
        properties=_properties([*facts, ("cognix:kind", package.get("kind"))]),
    )


def _download_component(step: dict[str, Any]) -> Component:
    url = str(step.get("url", ""))
    sha256 = step.get("sha256")
    dest = str(step.get("dest", ""))
    filename = url.rsplit("/", 1)[-1] or url
    qualifiers = {"download_url": url, **({"checksum": f"sha256:{sha256}"} if sha256 else {})}
    facts = [("cognix:dest", dest), ("cognix:cog-yaml-line", step.get("line"))]
    return Component(
        type=ComponentType.FILE,
        name=dest or filename,
        bom_ref=f"download:{step.get('line')}:{dest}",
        purl=PackageURL(type="generic", name=filename, qualifiers=qualifiers),
        hashes=_sha256(sha256),
        external_references=[
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url))
        ],
        properties=_properties([*facts, ("cognix:size", step.get("size"))]),
    )


def _run_attribute_component(step: dict[str, Any]) -> Component:
    attribute = str(step.get("attribute", ""))
    return Component(
        type=ComponentType.LIBRARY,
        name=attribute,
        bom_ref=f"nixpkgs-attribute:{attribute}",
        description=f"nixpkgs attribute {attribute}, named by a run command",
        properties=_properties([("cognix:cog-yaml-line", step.get("line"))]),
    )


def _add_closure(bom: Bom, closure: Sequence[StorePath]) -> list[Component]:
    """Add a component per store path with its references; return those none refers to."""
    by_path = {store_path.path: _store_component(store_path) for store_path in closure}
    referred: set[str] = set()
    for store_path in closure:
        component = by_path[store_path.path]
        bom.components.add(component)
        others = [ref for ref in store_path.references if ref != store_path.path]
        referred.update(others)
        bom.register_dependency(component, [by_path[ref] for ref in others if ref in by_path])
    return [component for path, component in by_path.items() if path not in referred]


def _store_component(store_path: StorePath) -> Component:
    facts = [("cognix:nix-store-path", store_path.path), ("cognix:nar-size", store_path.nar_size)]
    name, version = store_path.name_and_version()
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=version,
        bom_ref=store_path.path,
        hashes=_sha256(store_path.nar_sha256()),
        properties=_properties(facts),
    )


def _sha256(hex_digest: Any) -> list[HashType]:
    if not isinstance(hex_digest, str):
        return []
    return [HashType(alg=HashAlgorithm.SHA_256, content=hex_digest)]


def _properties(facts: Iterable[tuple[str, Any]]) -> list[Property]:
    return [Property(name=name, value=str(value)) for name, value in facts if value is not None]


def _table(table: dict[str, Any], key: str) -> dict[str, Any]:
    value = table.get(key)
    return value if isinstance(value, dict) else {}


def _tables(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]
