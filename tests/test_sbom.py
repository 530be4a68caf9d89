"""`cognix sbom`: CycloneDX JSON from the committed locks, checked by the library's own
schema validator, and the parser of `nix path-info --json --recursive` on hand-written output."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from cognix import __version__, external
from cognix.audit.sbom import StorePath, nix_closure, parse_path_info, sbom, sha256_hex
from cognix.config.load import load_project
from cognix.errors import CognixError, InputError, JobFailed
from cognix.external import find_program_or_none

from conftest import EXAMPLES, REPO

LOCKED_PROJECTS = sorted(
    path.parent
    for path in [*EXAMPLES.glob("*/pylock.toml"), *REPO.glob("tests/data/nixgen/*/pylock.toml")]
)
NIXPKGS_REV = "5880666fd9eb563038431edb35c2d0aa595884e6"
NIXPKGS_PURL = f"pkg:github/nixos/nixpkgs@{NIXPKGS_REV}"
# The pin's nar-hash, sha256-OURZPk…/YI=, in hex and in Nix's base-32 (`nix hash to-base32`).
NAR_HEX = "3944593e49eb4e342b94dcb13ddab3caa994ffcd567acd4250ffc5b7546ffd82"
NAR_NIX32 = "sha256:10pxdxabgigza11csyjnrpzr9afangd3vcfwjhmk8kpb94z5ji1r"
NAR_SRI = "sha256-OURZPknrTjQrlNyxPdqzyqmU/81Wes1CUP/Ft1Rv/YI="


_VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def _validate(text: str) -> None:
    """Check `text` against CycloneDX 1.6 with the library's validator (format checks too)."""
    assert _VALIDATOR.validate_str(text) is None


def _components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {component["bom-ref"]: component for component in document["components"]}


def _properties(component: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["name"], item["value"]) for item in component.get("properties", [])]


@pytest.mark.parametrize("folder", LOCKED_PROJECTS, ids=lambda path: path.name)
def test_sbom_validates_and_lists_every_locked_wheel_with_its_sha256(folder: Path) -> None:
    text = sbom(load_project(folder))

    _validate(text)
    lock = tomllib.loads((folder / "pylock.toml").read_text())
    expected = {
        (
            f"pkg:pypi/{package['name']}@{package['version']}",
            wheel["url"],
            wheel["hashes"]["sha256"],
        )
        for package in lock["packages"]
        for wheel in package["wheels"]
    }
    listed = {
        (component["purl"], reference["url"], hash_["content"])
        for component in json.loads(text)["components"]
        if component.get("purl", "").startswith("pkg:pypi/")
        for reference in component["externalReferences"]
        for hash_ in reference["hashes"]
    }
    assert listed == expected
    single = {
        f"pkg:pypi/{package['name']}@{package['version']}": package["wheels"][0]["hashes"][
            "sha256"
        ]
        for package in lock["packages"]
        if len(package["wheels"]) == 1
    }
    hashed = {
        component["purl"]: [hash_["content"] for hash_ in component["hashes"]]
        for component in json.loads(text)["components"]
        if "hashes" in component and component.get("purl", "").startswith("pkg:pypi/")
    }
    assert hashed == {purl: [sha256] for purl, sha256 in single.items()}


@pytest.mark.parametrize("folder", LOCKED_PROJECTS, ids=lambda path: path.name)
def test_sbom_is_byte_identical_across_runs(folder: Path) -> None:
    assert sbom(load_project(folder)) == sbom(load_project(folder))


def test_sbom_does_not_depend_on_where_the_project_is(tmp_path: Path) -> None:
    copy = shutil.copytree(EXAMPLES / "hello-world", tmp_path / "hello-world")

    assert sbom(load_project(copy)) == sbom(load_project(EXAMPLES / "hello-world"))


def test_hello_world_sbom_header_root_and_graph() -> None:
    document = json.loads(sbom(load_project(EXAMPLES / "hello-world")))

    assert (document["bomFormat"], document["specVersion"], document["version"]) == (
        "CycloneDX",
        "1.6",
        1,
    )
    assert document["serialNumber"] == "urn:uuid:52ea8441-dd77-5e1c-b2fa-f1e456f7d149"
    assert document["metadata"]["timestamp"] == "2026-12-03T13:41:41+00:00"
    assert document["metadata"]["tools"] == {
        "components": [{"name": "cognix", "type": "application", "version": __version__}]
    }
    assert document["metadata"]["component"] == {
        "bom-ref": "image:cog-hello-world",
        "name": "cog-hello-world",
        "properties": [
            {
                "name": "cognix:inputs-digest",
                "value": "sha256-ktxT2UX6JzzyNN5DJFvIqBZaLd0hCHPL4FfYwHKPQGo=",
            },
            {"name": "cognix:platform", "value": "x86_64-manylinux_2_28"},
            {"name": "cognix:python", "value": "3.11"},
        ],
        "type": "container",
    }
    graph = {item["ref"]: item.get("dependsOn", []) for item in document["dependencies"]}
    assert graph["image:cog-hello-world"] == [NIXPKGS_PURL, "pkg:pypi/cog@0.23.1"]
    assert graph["pkg:pypi/cog@0.23.1"] == [
        "pkg:pypi/coglet@0.23.1",
        "pkg:pypi/pyyaml@6.0.4",
        "pkg:pypi/requests@2.34.2",
        "pkg:pypi/structlog@26.1.0",
        "pkg:pypi/typing-extensions@4.16.0",
    ]
    assert graph["pkg:pypi/requests@2.34.2"] == [
        "pkg:pypi/certifi@2026.10.19.post1",
        "pkg:pypi/charset-normalizer@3.5.3",
        "pkg:pypi/idna@3.20",
        "pkg:pypi/urllib3@2.8.0",
    ]
    assert len(graph) == 12


def test_cog_sdk_is_marked_and_only_it() -> None:
    components = _components(json.loads(sbom(load_project(EXAMPLES / "hello-world"))))

    marked = [ref for ref, item in components.items() if "cognix:role" in dict(_properties(item))]
    assert marked == ["pkg:pypi/cog@0.23.1"]
    assert _properties(components["pkg:pypi/cog@0.23.1"]) == [("cognix:role", "cog-sdk")]


def test_nixpkgs_pin_is_a_component_with_its_nar_hash() -> None:
    components = _components(json.loads(sbom(load_project(EXAMPLES / "hello-world"))))

    assert components[NIXPKGS_PURL] == {
        "bom-ref": NIXPKGS_PURL,
        "externalReferences": [
            {
                "type": "distribution",
                "url": f"https://github.com/NixOS/nixpkgs/archive/{NIXPKGS_REV}.tar.gz",
            },
            {"type": "vcs", "url": "https://github.com/NixOS/nixpkgs"},
        ],
        "hashes": [{"alg": "SHA-256", "content": NAR_HEX}],
        "name": "nixpkgs",
        "properties": [
            {"name": "cognix:last-modified", "value": "1787204541"},
            {"name": "cognix:nar-hash", "value": NAR_SRI},
            {"name": "cognix:nixpkgs-branch", "value": "nixos-26.05"},
            {"name": "cognix:python-attribute", "value": "python311"},
        ],
        "purl": NIXPKGS_PURL,
        "type": "library",
        "version": NIXPKGS_REV,
    }


def test_system_packages_are_components_with_their_nixpkgs_attributes() -> None:
    document = json.loads(sbom(load_project(REPO / "tests/data/nixgen/opencv")))

    components = _components(document)
    assert components["system-package:libgl1"] == {
        "bom-ref": "system-package:libgl1",
        "description": "apt package libgl1, from nixpkgs as libGL, libx11, libxext, mesa",
        "name": "libgl1",
        "properties": [
            {"name": "cognix:kind", "value": "runtime"},
            {"name": "cognix:nixpkgs-attribute", "value": "libGL"},
            {"name": "cognix:nixpkgs-attribute", "value": "libx11"},
            {"name": "cognix:nixpkgs-attribute", "value": "libxext"},
            {"name": "cognix:nixpkgs-attribute", "value": "mesa"},
        ],
        "type": "library",
    }
    assert _properties(components["system-package:libglib2.0-0"]) == [
        ("cognix:kind", "runtime"),
        ("cognix:nixpkgs-attribute", "glib.out"),
    ]
    graph = {item["ref"]: item.get("dependsOn", []) for item in document["dependencies"]}
    assert graph["image:cog-opencv"] == [
        NIXPKGS_PURL,
        "pkg:pypi/cog@0.23.1",
        "pkg:pypi/opencv-python@4.10.0.84",
        "system-package:libgl1",
        "system-package:libglib2.0-0",
    ]


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A copy of examples/hello-world, free to edit."""
    return Path(shutil.copytree(EXAMPLES / "hello-world", tmp_path / "hello-world"))


def test_run_downloads_are_file_components_with_their_sha256(hello: Path) -> None:
    weights = hashlib.sha256(b"weights").hexdigest()
    lock = tomllib.loads((hello / "pylock.toml").read_text())
    lock["tool"]["cognix"]["run"] = [
        {
            "line": 5,
            "kind": "download",
            "url": "https://example.com/models/weights.bin",
            "dest": "/src/weights.bin",
            "sha256": weights,
            "size": 7,
        },
        {"line": 6, "kind": "nixpkgs", "attribute": "ffmpeg"},
    ]
    (hello / "pylock.toml").write_text(tomli_w.dumps(lock))

    text = sbom(load_project(hello))

    _validate(text)
    document = json.loads(text)
    components = _components(document)
    url = "https://example.com/models/weights.bin"
    assert components["download:5:/src/weights.bin"] == {
        "bom-ref": "download:5:/src/weights.bin",
        "externalReferences": [{"type": "distribution", "url": url}],
        "hashes": [{"alg": "SHA-256", "content": weights}],
        "name": "/src/weights.bin",
        "properties": [
            {"name": "cognix:cog-yaml-line", "value": "5"},
            {"name": "cognix:dest", "value": "/src/weights.bin"},
            {"name": "cognix:size", "value": "7"},
        ],
        "purl": (
            f"pkg:generic/weights.bin?checksum=sha256:{weights}"
            "&download_url=https://example.com/models/weights.bin"
        ),
        "type": "file",
    }
    assert components["nixpkgs-attribute:ffmpeg"] == {
        "bom-ref": "nixpkgs-attribute:ffmpeg",
        "description": "nixpkgs attribute ffmpeg, named by a run command",
        "name": "ffmpeg",
        "properties": [{"name": "cognix:cog-yaml-line", "value": "6"}],
        "type": "library",
    }
    graph = {item["ref"]: item.get("dependsOn", []) for item in document["dependencies"]}
    assert graph["image:cog-hello-world"] == [
        "download:5:/src/weights.bin",
        "nixpkgs-attribute:ffmpeg",
        NIXPKGS_PURL,
        "pkg:pypi/cog@0.23.1",
    ]


def test_image_name_comes_from_cog_yaml(hello: Path) -> None:
    cog_yaml = hello / "cog.yaml"
    cog_yaml.write_text(cog_yaml.read_text() + 'image: "r8.im/acme/hello"\n')

    document = json.loads(sbom(load_project(hello)))

    root = document["metadata"]["component"]
    assert (root["name"], root["bom-ref"]) == ("r8.im/acme/hello", "image:r8.im/acme/hello")


def test_missing_lock_is_an_input_error(hello: Path) -> None:
    (hello / "pylock.toml").unlink()

    with pytest.raises(InputError) as raised:
        sbom(load_project(hello))

    assert raised.value.message == f"{hello / 'pylock.toml'} does not exist"


# The Nix closure, as `nix path-info --json --recursive` prints it.

PYTHON = "/nix/store/1111111111111111111111111111111v-python3-3.11.9"
GLIBC = "/nix/store/2222222222222222222222222222222a-glibc-2.39-52"
STREAM = "/nix/store/3333333333333333333333333333333z-stream-cog-hello-world"
# Nix 2.8 to 2.18: a list; narHash in SRI form (older Nix: `sha256:` and base-32).
PATH_INFO_LIST = f"""[
  {{"path": "{PYTHON}", "narHash": "{NAR_SRI}", "narSize": 1024,
    "references": ["{GLIBC}", "{PYTHON}"], "registrationTime": 1700000000, "valid": true}},
  {{"path": "{GLIBC}", "narHash": "{NAR_NIX32}", "narSize": 2048,
    "references": ["{GLIBC}"], "deriver": "/nix/store/x.drv"}},
  {{"path": "{STREAM}", "narHash": "sha256:{"0" * 64}", "narSize": 512,
    "references": ["{PYTHON}", "{GLIBC}"]}}
]"""
# Nix 2.19 and later: an object keyed by path; paths it does not have are null.
PATH_INFO_OBJECT = json.dumps(
    {
        **{entry.pop("path"): entry for entry in json.loads(PATH_INFO_LIST)},
        "/nix/store/4444444444444444444444444444444b-absent": None,
    }
)
CLOSURE = [
    StorePath(PYTHON, NAR_SRI, 1024, (PYTHON, GLIBC)),
    StorePath(GLIBC, NAR_NIX32, 2048, (GLIBC,)),
    StorePath(STREAM, "sha256:" + "0" * 64, 512, (PYTHON, GLIBC)),
]


def test_parse_path_info_reads_the_list_form() -> None:
    assert parse_path_info(PATH_INFO_LIST) == CLOSURE


def test_parse_path_info_reads_the_object_form() -> None:
    assert parse_path_info(PATH_INFO_OBJECT) == CLOSURE


def test_parse_path_info_refuses_what_is_not_path_info() -> None:
    with pytest.raises(JobFailed) as not_json:
        parse_path_info("warning: something\n[]")
    with pytest.raises(JobFailed) as no_path:
        parse_path_info('[{"narHash": "sha256-x"}]')

    assert not_json.value.message.startswith("nix path-info printed something other than JSON")
    assert no_path.value.message == (
        "nix path-info printed an entry without a path: {'narHash': 'sha256-x'}"
    )


def test_store_path_names_split_as_nix_does() -> None:
    assert [store_path.name_and_version() for store_path in CLOSURE] == [
        ("python3", "3.11.9"),
        ("glibc", "2.39-52"),
        ("stream-cog-hello-world", None),
    ]


def test_sha256_hex_reads_sri_base32_and_hex() -> None:
    assert sha256_hex(NAR_SRI) == NAR_HEX
    assert sha256_hex(NAR_NIX32) == NAR_HEX
    assert sha256_hex(f"sha256:{NAR_HEX}") == NAR_HEX
    with pytest.raises(JobFailed) as bad_digit:
        sha256_hex("sha256:" + "e" * 52)
    assert bad_digit.value.message == f"'e' is not a Nix base-32 digit in {'e' * 52!r}"


def test_closure_paths_are_components_with_their_nar_hashes() -> None:
    project = load_project(EXAMPLES / "hello-world")

    text = sbom(project, CLOSURE)

    _validate(text)
    assert text == sbom(project, parse_path_info(PATH_INFO_OBJECT))
    document = json.loads(text)
    components = _components(document)
    assert components[PYTHON] == {
        "bom-ref": PYTHON,
        "hashes": [{"alg": "SHA-256", "content": NAR_HEX}],
        "name": "python3",
        "properties": [
            {"name": "cognix:nar-size", "value": "1024"},
            {"name": "cognix:nix-store-path", "value": PYTHON},
        ],
        "type": "library",
        "version": "3.11.9",
    }
    assert components[STREAM]["hashes"] == [{"alg": "SHA-256", "content": "0" * 64}]
    assert (components[GLIBC]["name"], components[GLIBC]["version"]) == ("glibc", "2.39-52")
    graph = {item["ref"]: item.get("dependsOn", []) for item in document["dependencies"]}
    assert graph[STREAM] == [PYTHON, GLIBC]
    assert graph[PYTHON] == [GLIBC]
    assert graph[GLIBC] == []
    assert graph["image:cog-hello-world"] == [STREAM, NIXPKGS_PURL, "pkg:pypi/cog@0.23.1"]
    # The closure is part of what the serial number identifies.
    without = json.loads(sbom(project))
    assert document["serialNumber"] != without["serialNumber"]


def test_the_validator_refuses_a_broken_sbom() -> None:
    document = json.loads(sbom(load_project(EXAMPLES / "hello-world")))
    document["components"][0]["hashes"][0]["content"] = "not hex"

    assert _VALIDATOR.validate_str(json.dumps(document)) is not None


@pytest.mark.skipif(find_program_or_none("nix") is None, reason="nix is not installed")
def test_nix_closure_reads_what_this_nix_prints(tmp_path: Path) -> None:
    (tmp_path / "cognix-sbom-probe").write_text("a file for the closure test\n")
    try:
        added = external.run(["nix-store", "--add", str(tmp_path / "cognix-sbom-probe")])
    except CognixError as error:
        pytest.skip(f"cannot add to the Nix store here: {error.message}")
    path = added.stdout.strip()
    try:
        closure = nix_closure(path)
        nar_hash = external.run(["nix-store", "--query", "--hash", path]).stdout.strip()
    finally:
        external.run(["nix-store", "--delete", path], check=False)

    assert [(item.path, item.references, item.name) for item in closure] == [
        (path, (), "cognix-sbom-probe")
    ]
    assert closure[0].nar_sha256() == sha256_hex(nar_hash)
    assert closure[0].nar_size == len(nar(b"a file for the closure test\n"))


def nar(contents: bytes) -> bytes:
    """Return the NAR serialisation of a regular, non-executable file."""

    def string(value: bytes) -> bytes:
        return len(value).to_bytes(8, "little") + value + bytes(-len(value) % 8)

    words = [b"nix-archive-1", b"(", b"type", b"regular", b"contents", contents, b")"]
    return b"".join(string(word) for word in words)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lock: lock["packages"][0].update(name=""), "pylock.toml: a package has no name"),
        (
            lambda lock: lock["tool"]["cognix"]["nixpkgs"].update({"nar-hash": "sha256-!!!"}),
            "pylock.toml: the nixpkgs pin's nar-hash is not a sha256 hash Nix writes: "
            "'sha256-!!!'",
        ),
    ],
)
def test_a_malformed_lock_is_an_input_error(hello: Path, change: Any, message: str) -> None:
    lock = tomllib.loads((hello / "pylock.toml").read_text())
    change(lock)
    (hello / "pylock.toml").write_text(tomli_w.dumps(lock))

    with pytest.raises(InputError) as raised:
        sbom(load_project(hello))

    assert raised.value.message == message
    assert raised.value.hint == "run `cognix lock` to write the lock again"


def test_system_package_attributes_that_are_no_list_are_left_out(hello: Path) -> None:
    lock = tomllib.loads((hello / "pylock.toml").read_text())
    lock["tool"]["cognix"]["system-packages"] = [{"apt": "libx", "nixpkgs": 5}]
    (hello / "pylock.toml").write_text(tomli_w.dumps(lock))

    document = json.loads(sbom(load_project(hello)))

    component = _components(document)["system-package:libx"]
    assert component["description"] == "apt package libx, from nixpkgs as "
