"""nix/wheel-select.nix, evaluated by real Nix (builtins only), against `packaging.tags`.

The reference is pip's rule: list the target's tags in `packaging.tags` order (`cpython_tags`
then `compatible_tags`, on the manylinux platforms of the target's glibc and architecture, in
`packaging._manylinux.platform_tags` order, without `linux_<arch>`), and install the wheel
whose best tag comes first, a higher build tag breaking a tie.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from packaging import _manylinux
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

from cognix import external

from conftest import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="nix-instantiate is not installed"
)

NIX_DIR = REPO / "nix"
LOCKS = sorted(
    path
    for folder in (REPO / "examples", REPO / "tests" / "data")
    for path in folder.rglob("pylock.toml")
)
TARGETS = [
    {"python": "3.11", "platform": "x86_64-manylinux_2_28"},
    {"python": "3.8", "platform": "x86_64-manylinux_2_28"},
    {"python": "3.12", "platform": "x86_64-manylinux_2_28"},
    {"python": "3.11", "platform": "x86_64-manylinux_2_17"},
    {"python": "3.11", "platform": "aarch64-manylinux_2_28"},
]
LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def manylinux_platforms(platform: str) -> list[str]:
    """`packaging._manylinux.platform_tags` for "<arch>-manylinux_2_<minor>", on any machine."""
    arch, _, glibc = platform.partition("-manylinux_2_")
    oldest = 5 if arch in ("x86_64", "i686") else 17
    platforms = []
    for minor in range(int(glibc), oldest - 1, -1):
        platforms.append(f"manylinux_2_{minor}_{arch}")
        if minor in LEGACY:
            platforms.append(f"{LEGACY[minor]}_{arch}")
    return platforms


def target_tags(target: dict[str, str]) -> list[Tag]:
    """Every tag the target accepts, best first."""
    minor = int(target["python"].split(".")[1])
    platforms = manylinux_platforms(target["platform"])
    return [
        *cpython_tags(python_version=(3, minor), abis=[f"cp3{minor}"], platforms=platforms),
        *compatible_tags(
            python_version=(3, minor), interpreter=f"cp3{minor}", platforms=platforms
        ),
    ]


def filename_of(wheel: dict[str, Any]) -> str:
    """A pylock.toml wheel's file name: `name`, else the URL's last segment, decoded."""
    return wheel.get("name") or unquote(urlsplit(wheel["url"]).path.rsplit("/", 1)[-1])


def pip_choice(target: dict[str, str], wheels: list[dict[str, Any]]) -> str | None:
    """The file name of the wheel pip would install for `target`, or None."""
    order = {tag: index for index, tag in reversed(list(enumerate(target_tags(target))))}
    best: tuple[int, tuple[()] | tuple[int, str]] | None = None
    chosen = None
    for wheel in wheels:
        filename = filename_of(wheel)
        _, _, build, tags = parse_wheel_filename(filename)
        ranks = [order[tag] for tag in tags if tag in order]
        if not ranks:
            continue
        key = (min(ranks), build)
        if best is None or key[0] < best[0] or (key[0] == best[0] and key[1] > best[1]):
            best, chosen = key, filename
    return chosen


def case_of(target: dict[str, str], name: str, version: str, wheels: list[Any]) -> dict[str, Any]:
    """One input of `nix_choices`."""
    return {"target": target, "package": {"name": name, "version": version, "wheels": wheels}}


def test_platform_order_is_packaging_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: (2, 28))
    assert manylinux_platforms("x86_64-manylinux_2_28") == list(
        _manylinux.platform_tags(["x86_64"])
    )


EVALUATE = """
{ nixDir, casesJson }:
let
  inherit (import (nixDir + "/wheel-select.nix")) selectWheel wheelTags;
  choose =
    case:
    let
      result = builtins.tryEval (wheelTags (selectWheel case.target case.package)).filename;
    in
    if result.success then result.value else null;
in
map choose (builtins.fromJSON casesJson)
"""


def nix_choices(cases: list[dict[str, Any]]) -> list[str | None]:
    """selectWheel's file name for each {target, package}, null where it throws; one call."""
    argv = ["nix-instantiate", "--eval", "--strict", "--json", "--expr", EVALUATE]
    argv += ["--argstr", "nixDir", str(NIX_DIR), "--argstr", "casesJson", json.dumps(cases)]
    return json.loads(external.run(argv).stdout)  # type: ignore[no-any-return]


def test_locked_packages_get_pips_wheel() -> None:
    assert LOCKS, "no pylock.toml in the repository"
    cases = []
    for lock in LOCKS:
        document = tomllib.loads(lock.read_text())
        target = document["tool"]["cognix"]["target"]
        for package in document["packages"]:
            wheels = [
                {key: wheel[key] for key in ("url", "name") if key in wheel}
                for wheel in package.get("wheels", [])
            ]
            cases.append(case_of(target, package["name"], package["version"], wheels))
    expected = [pip_choice(case["target"], case["package"]["wheels"]) for case in cases]
    assert None not in expected
    assert nix_choices(cases) == expected


# Wheel sets, by file name (a "/"-free URL segment is made for each).
WHEEL_SETS: dict[str, list[str]] = {
    "charset-normalizer's three": [
        "charset_normalizer-3.5.3-py3-none-any.whl",
        "charset_normalizer-3.5.3-cp37-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
        "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
    ],
    "cp311 and cp312 and pure": [
        "p-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "p-1.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "p-1.0-py3-none-any.whl",
    ],
    "cp312 only": ["p-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"],
    "musllinux, macOS and Windows": [
        "p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
        "p-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        "p-1.0-cp311-cp311-macosx_10_9_x86_64.macosx_11_0_universal2.whl",
        "p-1.0-cp311-cp311-win_amd64.whl",
    ],
    "plain linux": ["p-1.0-cp311-cp311-linux_x86_64.whl"],
    "manylinux_2_31 too new": ["p-1.0-cp311-cp311-manylinux_2_31_x86_64.whl"],
    "newest fitting glibc": [
        "p-1.0-cp311-cp311-manylinux_2_31_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux2014_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux1_x86_64.whl",
    ],
    "legacy aliases": [
        "p-1.0-cp311-cp311-manylinux1_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux2010_x86_64.whl",
    ],
    "alias after its glibc": [
        "p-1.0-cp311-cp311-manylinux2014_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    ],
    "abi3 cp39 or pure": ["p-1.0-py3-none-any.whl", "p-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"],
    "abi3 cp312": ["p-1.0-cp312-abi3-manylinux_2_17_x86_64.whl"],
    "abi3 older first": [
        "p-1.0-cp36-abi3-manylinux_2_17_x86_64.whl",
        "p-1.0-cp39-abi3-manylinux_2_17_x86_64.whl",
    ],
    "abi3, cpython none, py none": [
        "p-1.0-py3-none-manylinux_2_17_x86_64.whl",
        "p-1.0-cp311-none-manylinux_2_17_x86_64.whl",
        "p-1.0-cp311-abi3-manylinux_2_17_x86_64.whl",
    ],
    "platform beats abi": [
        "p-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
        "p-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    ],
    "platform py beats any": ["p-1.0-cp311-none-any.whl", "p-1.0-py3-none-manylinux1_x86_64.whl"],
    "pure ones": [
        "p-1.0-py3-none-any.whl",
        "p-1.0-py311-none-any.whl",
        "p-1.0-cp311-none-any.whl",
        "p-1.0-py310-none-any.whl",
    ],
    "py2.py3": ["p-1.0-py2-none-any.whl", "p-1.0-py2.py3-none-any.whl"],
    "py30": ["p-1.0-py30-none-any.whl"],
    "build tags": [
        "p-1.0-9-py3-none-any.whl",
        "p-1.0-10-py3-none-any.whl",
        "p-1.0-py3-none-any.whl",
        "p-1.0-10a-py3-none-any.whl",
    ],
    "build tag loses to a better tag": [
        "p-1.0-99-py3-none-any.whl",
        "p-1.0-cp311-cp311-manylinux1_x86_64.whl",
    ],
    "aarch64": [
        "p-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "p-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ],
    "upper case tags": ["p-1.0-CP311-CP311-MANYLINUX_2_17_X86_64.whl"],
    "cp38": [
        "p-1.0-cp37-abi3-manylinux_2_17_x86_64.whl",
        "p-1.0-cp38-cp38-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
    ],
    "none": [],
}


def synthetic_wheels(filenames: list[str]) -> list[dict[str, Any]]:
    """pylock.toml wheel entries: URLs for most, a `name` (beating an odd URL) for every third."""
    wheels: list[dict[str, Any]] = []
    for index, filename in enumerate(filenames):
        if index % 3 == 2:
            wheels.append({"name": filename, "url": "https://example.invalid/download?id=1"})
        else:
            wheels.append({"url": f"https://files.example/packages/ab/{filename}#sha256=00"})
    return wheels


def test_synthetic_wheels_get_pips_wheel() -> None:
    cases = [
        case_of(target, "p", "1.0", synthetic_wheels(filenames))
        for target in TARGETS
        for filenames in WHEEL_SETS.values()
    ]
    expected = [pip_choice(case["target"], case["package"]["wheels"]) for case in cases]
    got = nix_choices(cases)
    labels = [f"{t['python']} {t['platform']} {name}" for t in TARGETS for name in WHEEL_SETS]
    assert dict(zip(labels, got, strict=True)) == dict(zip(labels, expected, strict=True))
    # The reference is not degenerate: it picks and refuses.
    by_label = dict(zip(labels, expected, strict=True))
    assert by_label["3.11 x86_64-manylinux_2_28 charset-normalizer's three"] == (
        "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64"
        ".manylinux_2_5_x86_64.whl"
    )
    assert by_label["3.11 x86_64-manylinux_2_28 build tags"] == "p-1.0-10a-py3-none-any.whl"
    assert by_label["3.12 x86_64-manylinux_2_28 cp312 only"] is not None
    for refused in ("cp312 only", "musllinux, macOS and Windows", "plain linux", "none"):
        assert by_label[f"3.11 x86_64-manylinux_2_28 {refused}"] is None


def test_percent_encoded_url_is_decoded() -> None:
    url = "https://download.example/whl/cu121/torch-2.1.0%2Bcu121-cp311-cp311-linux_x86_64.whl"
    wheels = [
        {"url": url},
        {"url": url.replace("linux_x86_64", "manylinux_2_17_x86_64")},
    ]
    case = case_of(TARGETS[0], "torch", "2.1.0+cu121", wheels)
    assert nix_choices([case]) == ["torch-2.1.0+cu121-cp311-cp311-manylinux_2_17_x86_64.whl"]


def test_no_fitting_wheel_is_an_error_naming_the_wheels() -> None:
    expression = """
    { nixDir }:
    (import (nixDir + "/wheel-select.nix")).selectWheel
      { python = "3.11"; platform = "x86_64-manylinux_2_28"; }
      {
        name = "demo";
        version = "1.0";
        wheels = [
          { url = "https://files.example/demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"; }
          { url = "https://files.example/demo-1.0-cp311-cp311-win_amd64.whl"; }
        ];
      }
    """
    argv = ["nix-instantiate", "--eval", "--strict", "--expr", expression]
    failed = external.run([*argv, "--argstr", "nixDir", str(NIX_DIR)], check=False)
    assert failed.returncode != 0
    message = (
        "cognix: demo 1.0: no wheel in pylock.toml fits CPython 3.11 on x86_64-manylinux_2_28"
        " (wheels: demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl,"
        " demo-1.0-cp311-cp311-win_amd64.whl)"
    )
    assert message in failed.stderr


def test_wheel_tags_reads_file_names() -> None:
    expression = """
    { nixDir }:
    let
      inherit (import (nixDir + "/wheel-select.nix")) wheelTags;
    in
    [
      (wheelTags "pyyaml-6.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
      (wheelTags { url = "https://x.example/a/p-1.0-12b-py2.py3-none-any.whl?x=1"; })
    ]
    """
    argv = ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression]
    parsed = json.loads(external.run([*argv, "--argstr", "nixDir", str(NIX_DIR)]).stdout)
    assert [{key: value for key, value in p.items() if key != "tags"} for p in parsed] == [
        {
            "filename": "pyyaml-6.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
            "distribution": "pyyaml",
            "version": "6.0.4",
            "build": None,
            "pythonTags": ["cp311"],
            "abiTags": ["cp311"],
            "platformTags": ["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
        },
        {
            "filename": "p-1.0-12b-py2.py3-none-any.whl",
            "distribution": "p",
            "version": "1.0",
            "build": "12b",
            "pythonTags": ["py2", "py3"],
            "abiTags": ["none"],
            "platformTags": ["any"],
        },
    ]
    assert [len(p["tags"]) for p in parsed] == [2, 2]
