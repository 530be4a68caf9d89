"""`audit lock` on the committed locks, on locks with a hash or pin removed, on a changed
input, and `--deep` against a local HTTP server serving the locked files."""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from cognix.audit.lock_audit import audit_lock
from cognix.config.load import load_project
from cognix.errors import ConfigError, InputError, Location, Problem

from conftest import EXAMPLES, REPO, ServedFiles, serving

LOCKED_PROJECTS = sorted(
    path.parent
    for path in [*EXAMPLES.glob("*/pylock.toml"), *REPO.glob("tests/data/nixgen/*/pylock.toml")]
)
RELOCK = "run `cognix lock` to write the lock again"
CERTIFI_SHA256 = "1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2"
CHARSET_ABI3_SHA256 = "26c6ad87bb79628954b52f8f7b9e18ab5cd9667546712ded9689fb7677e630d6"
CHARSET_ABI3_WHEEL = (
    "charset_normalizer-3.5.3-cp37-abi3-manylinux1_x86_64.manylinux_2_28_x86_64"
    ".manylinux_2_5_x86_64.whl"
)
NAR_HASH = "sha256-OURZPknrTjQrlNyxPdqzyqmU/81Wes1CUP/Ft1Rv/YI="


def test_committed_locks_exist() -> None:
    assert [path.relative_to(REPO).as_posix() for path in LOCKED_PROJECTS] == [
        "examples/hello-world",
        "examples/image",
        "examples/streaming",
        "tests/data/nixgen/gpu-torch",
        "tests/data/nixgen/gpu-torch-ffmpeg",
        "tests/data/nixgen/opencv",
    ]


@pytest.mark.parametrize("folder", LOCKED_PROJECTS, ids=lambda path: path.name)
def test_committed_locks_are_clean(folder: Path) -> None:
    audit = audit_lock(load_project(folder))

    assert audit.findings == ()
    assert audit.clean


def test_clean_summary_counts_packages_and_artifacts() -> None:
    audit = audit_lock(load_project(EXAMPLES / "hello-world"))

    assert (audit.packages, audit.artifacts, audit.deep) == (10, 12, False)
    assert audit.summary() == (
        "pylock.toml is sound: 10 packages, 12 artifacts hashed; nixpkgs pinned; up to date"
    )


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A copy of examples/hello-world, free to edit."""
    return Path(shutil.copytree(EXAMPLES / "hello-world", tmp_path / "hello-world"))


def _edit_lock(folder: Path, old: str, new: str) -> None:
    lock = folder / "pylock.toml"
    text = lock.read_text()
    assert text.count(old) == 1
    lock.write_text(text.replace(old, new))


def test_removed_wheel_hash_is_found_at_the_wheel(hello: Path) -> None:
    _edit_lock(hello, f'sha256 = "{CHARSET_ABI3_SHA256}"\n', "")

    audit = audit_lock(load_project(hello))

    message = f"package charset-normalizer 3.5.3: {CHARSET_ABI3_WHEEL} has no sha256 hash"
    assert audit.findings == (Problem(Location(hello / "pylock.toml", 27), message, RELOCK),)
    assert not audit.clean
    assert audit.summary() == "pylock.toml: 1 problem (10 packages, 12 artifacts checked)"
    assert audit.as_json() == {
        "lock": str(hello / "pylock.toml"),
        "clean": False,
        "deep": False,
        "packages": 10,
        "artifacts": 12,
        "findings": [
            {"file": str(hello / "pylock.toml"), "line": 27, "message": message, "hint": RELOCK}
        ],
    }


def test_removed_hashes_table_and_a_bad_hash_are_both_found(hello: Path) -> None:
    _edit_lock(hello, f'[packages.wheels.hashes]\nsha256 = "{CERTIFI_SHA256}"\n', "")
    _edit_lock(hello, CHARSET_ABI3_SHA256, CHARSET_ABI3_SHA256.upper())

    audit = audit_lock(load_project(hello))

    lock = hello / "pylock.toml"
    assert [(problem.location, problem.message) for problem in audit.findings] == [
        (
            Location(lock, 9),
            "package certifi 2026.10.19.post1: certifi-2026.10.19.post1-py3-none-any.whl"
            " has no sha256 hash",
        ),
        (
            Location(lock, 25),
            f"package charset-normalizer 3.5.3: the sha256 of {CHARSET_ABI3_WHEEL} is not 64"
            f" lowercase hex digits: '{CHARSET_ABI3_SHA256.upper()}'",
        ),
    ]
    assert audit.summary() == "pylock.toml: 2 problems (10 packages, 12 artifacts checked)"


def test_package_without_artifacts_is_found(hello: Path) -> None:
    document = _lock_document(hello)
    document["packages"][0]["wheels"] = []
    _write_lock(hello, document)

    audit = audit_lock(load_project(hello))

    message = "package certifi 2026.10.19.post1 has no wheel or sdist, so nothing pins its bytes"
    assert audit.findings == (Problem(Location(hello / "pylock.toml", 5), message, RELOCK),)


def test_removed_nar_hash_is_found_at_the_pin(hello: Path) -> None:
    _edit_lock(hello, f'nar-hash = "{NAR_HASH}"\n', "")

    audit = audit_lock(load_project(hello))

    message = "the nixpkgs pin has no nar-hash, so Nix cannot check what it fetches"
    assert audit.findings == (Problem(Location(hello / "pylock.toml", 159), message, RELOCK),)


def test_bad_nar_hash_and_rev_are_found_at_their_lines(hello: Path) -> None:
    _edit_lock(hello, NAR_HASH, "sha256:0000")
    _edit_lock(hello, 'rev = "5880666fd9eb563038431edb35c2d0aa595884e6"', 'rev = "main"')

    audit = audit_lock(load_project(hello))

    lock = hello / "pylock.toml"
    assert audit.findings == (
        Problem(
            Location(lock, 161), "the nixpkgs pin's rev is not a 40-digit commit: 'main'", RELOCK
        ),
        Problem(
            Location(lock, 162),
            "the nixpkgs pin's nar-hash is not an SRI sha256: 'sha256:0000'",
            RELOCK,
        ),
    )


def test_changed_input_makes_the_lock_stale(hello: Path) -> None:
    cog_yaml = hello / "cog.yaml"
    cog_yaml.write_text(cog_yaml.read_text().replace('"3.11"', '"3.12"'))

    audit = audit_lock(load_project(hello))

    message = "the lock is stale: the project's inputs (cog.yaml) changed"
    assert audit.findings == (Problem(Location(hello / "pylock.toml", 144), message, RELOCK),)


def test_new_input_file_is_named(hello: Path) -> None:
    (hello / ".dockerignore").write_text("*.tmp\n")

    audit = audit_lock(load_project(hello))

    message = (
        "the lock is stale: the project's inputs (cog.yaml, .dockerignore) changed;"
        " new since the lock: .dockerignore"
    )
    assert audit.findings == (Problem(Location(hello / "pylock.toml", 144), message, RELOCK),)


def test_missing_lock_is_an_input_error(hello: Path) -> None:
    (hello / "pylock.toml").unlink()

    with pytest.raises(InputError) as raised:
        audit_lock(load_project(hello))

    assert raised.value.message == f"{hello / 'pylock.toml'} does not exist"
    assert raised.value.hint == "run `cognix lock` first"


def test_lock_that_is_not_toml_is_a_config_error(hello: Path) -> None:
    (hello / "pylock.toml").write_text("[[packages]\n")

    with pytest.raises(ConfigError) as raised:
        audit_lock(load_project(hello))

    [problem] = raised.value.problems
    assert problem.location == Location(hello / "pylock.toml", 1)
    # The rest of the message is tomllib's, and may change with Python.
    assert problem.message.startswith("pylock.toml is not valid TOML (")


# --deep: a local server serves the locked files; the lock names them by its URL.


# Reset by the `server` fixture for each test.
SERVED = ServedFiles()


@pytest.fixture
def server() -> Iterator[str]:
    SERVED.bodies.clear()
    SERVED.requests.clear()
    SERVED.redirects.clear()
    with serving(SERVED) as url:
        yield url


WHEEL = b"PK\x05\x06" + bytes(18) + b"a wheel's bytes" * 1000
WEIGHTS = bytes(range(256)) * 64


@pytest.fixture
def served(hello: Path, server: str) -> Path:
    """hello-world locked against `server`: two wheels of one package and a download."""
    SERVED.bodies |= {
        "/tiny-1.0-py3-none-any.whl": WHEEL,
        "/tiny-1.0-cp311-abi3-manylinux_2_28_x86_64.whl": WHEEL[::-1],
        "/weights.bin": WEIGHTS,
    }
    document = _lock_document(hello)
    document["packages"] = [
        {
            "name": "tiny",
            "version": "1.0",
            "wheels": [
                _wheel_entry(server, path, body)
                for path, body in SERVED.bodies.items()
                if path.endswith(".whl")
            ],
        }
    ]
    document["tool"]["cognix"]["run"] = [
        {
            "line": 5,
            "kind": "download",
            "url": f"{server}/weights.bin",
            "dest": "/src/weights.bin",
            "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
            "size": len(WEIGHTS),
        }
    ]
    _write_lock(hello, document)
    return hello


def _wheel_entry(server: str, path: str, body: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(body).hexdigest()
    return {"url": f"{server}{path}", "size": len(body), "hashes": {"sha256": digest}}


def test_deep_downloads_every_artifact_and_finds_them_unchanged(served: Path) -> None:
    audit = audit_lock(load_project(served), deep=True)

    assert audit.findings == ()
    assert sorted(SERVED.requests) == [
        "/tiny-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
        "/tiny-1.0-py3-none-any.whl",
        "/weights.bin",
    ]
    assert audit.summary() == (
        "pylock.toml is sound: 1 package, 3 artifacts hashed, each downloaded again and"
        " matching; nixpkgs pinned; up to date"
    )


def test_without_deep_nothing_is_downloaded(served: Path) -> None:
    assert audit_lock(load_project(served)).findings == ()
    assert SERVED.requests == []


def test_deep_names_a_changed_byte_with_both_hashes(served: Path, server: str) -> None:
    changed = bytearray(WHEEL)
    changed[100] ^= 1
    SERVED.bodies["/tiny-1.0-py3-none-any.whl"] = bytes(changed)

    audit = audit_lock(load_project(served), deep=True)

    url = f"{server}/tiny-1.0-py3-none-any.whl"
    message = (
        f"package tiny 1.0: tiny-1.0-py3-none-any.whl from {url} has sha256"
        f" {hashlib.sha256(changed).hexdigest()} ({len(WHEEL)} bytes), the lock records"
        f" {hashlib.sha256(WHEEL).hexdigest()} ({len(WHEEL)} bytes)"
    )
    hint = "the file changed where it is served; find out why before relocking"
    assert audit.findings == (Problem(Location(served / "pylock.toml", 9), message, hint),)


def test_deep_names_a_changed_download_and_a_missing_one(served: Path, server: str) -> None:
    SERVED.bodies["/weights.bin"] = WEIGHTS + b"!"
    del SERVED.bodies["/tiny-1.0-cp311-abi3-manylinux_2_28_x86_64.whl"]

    audit = audit_lock(load_project(served), deep=True)

    lock = served / "pylock.toml"
    assert [(problem.location, problem.message) for problem in audit.findings] == [
        (
            Location(lock, 16),
            f"package tiny 1.0: could not download {server}/tiny-1.0-cp311-abi3"
            "-manylinux_2_28_x86_64.whl: HTTP 404",
        ),
        (
            Location(lock, _line_of(lock, "[[tool.cognix.run]]")),
            f"download of cog.yaml line 5: weights.bin from {server}/weights.bin has sha256"
            f" {hashlib.sha256(WEIGHTS + b'!').hexdigest()} ({len(WEIGHTS) + 1} bytes),"
            f" the lock records {hashlib.sha256(WEIGHTS).hexdigest()} ({len(WEIGHTS)} bytes)",
        ),
    ]


def test_download_without_a_hash_is_found(served: Path) -> None:
    document = _lock_document(served)
    del document["tool"]["cognix"]["run"][0]["sha256"]
    _write_lock(served, document)

    audit = audit_lock(load_project(served), deep=True)

    lock = served / "pylock.toml"
    message = "download of cog.yaml line 5: weights.bin has no sha256 hash"
    assert audit.findings == (
        Problem(Location(lock, _line_of(lock, "[[tool.cognix.run]]")), message, RELOCK),
    )
    assert "/weights.bin" not in SERVED.requests


def _lock_document(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pylock.toml").read_text())


def _write_lock(folder: Path, document: dict[str, Any]) -> None:
    (folder / "pylock.toml").write_text(tomli_w.dumps(document))


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    assert lines.count(text) == 1
    return lines.index(text) + 1


def test_deep_stops_reading_a_body_far_longer_than_the_lock_records(served: Path) -> None:
    SERVED.bodies["/weights.bin"] = WEIGHTS + bytes(3 << 20)

    audit = audit_lock(load_project(served), deep=True)

    lock = served / "pylock.toml"
    url = _lock_document(served)["tool"]["cognix"]["run"][0]["url"]
    assert [(problem.location, problem.message) for problem in audit.findings] == [
        (
            Location(lock, _line_of(lock, "[[tool.cognix.run]]")),
            f"download of cog.yaml line 5: weights.bin from {url} is larger than the lock"
            f" records: the server sent more than {len(WEIGHTS) + (1 << 20)} bytes, the lock"
            f" records {len(WEIGHTS)} bytes",
        )
    ]


def test_deep_reports_a_redirect_loop(served: Path, server: str) -> None:
    SERVED.redirects["/weights.bin"] = "/weights.bin"

    audit = audit_lock(load_project(served), deep=True)

    lock = served / "pylock.toml"
    assert [(problem.location, problem.message) for problem in audit.findings] == [
        (
            Location(lock, _line_of(lock, "[[tool.cognix.run]]")),
            f"download of cog.yaml line 5: could not download {server}/weights.bin:"
            " Exceeded maximum allowed redirects.",
        )
    ]


def test_packages_that_are_not_an_array_are_found(hello: Path) -> None:
    document = _lock_document(hello)
    document["packages"] = "x"
    _write_lock(hello, document)

    audit = audit_lock(load_project(hello))

    lock = hello / "pylock.toml"
    assert audit.findings == (
        Problem(
            Location(lock, _line_of(lock, 'packages = "x"')),
            "packages is not an array of tables but str 'x'",
            RELOCK,
        ),
    )
