"""Tests for cognix.resolve.system: apt package names to nixpkgs attributes."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import yaml

from cognix.errors import ConfigError, Location
from cognix.resolve.runsteps import RunItem, plan_run_steps
from cognix.resolve.system import (
    SystemPackage,
    attribute_at,
    load_apt_table,
    map_apt_packages,
)

CORPUS = Path(__file__).parent / "data" / "corpus"
COG_YAML = Path("cog.yaml")
ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$")
# Cog's base image installs these (cog.md 3.1); a cog.yaml may name any of them.
COG_BASE_IMAGE = [
    "build-essential",
    "cmake",
    "curl",
    "ffmpeg",
    "findutils",
    "g++",
    "gcc",
    "git",
    "libavcodec-dev",
    "libcairo2-dev",
    "libfontconfig1",
    "libgirepository1.0-dev",
    "libgl1",
    "libglx-mesa0",
    "libglib2.0-0",
    "libopencv-dev",
    "libsm6",
    "libsndfile1",
    "libssl-dev",
    "libunistring-dev",
    "libxext6",
    "libxrender1",
    "sox",
    "unzip",
    "wget",
    "zip",
    "zstd",
]
COMMON = [
    "libgl1-mesa-glx",
    "libxrender-dev",
    "git-lfs",
    "espeak-ng",
    "tesseract-ocr",
    "poppler-utils",
    "graphviz",
    "libmagic1",
    "imagemagick",
    "libsndfile1-dev",
    "portaudio19-dev",
    "libopenblas-dev",
    "pkg-config",
]
# Names the corpus uses that cognix refuses on purpose, each with a hint.
KNOWINGLY_REFUSED = {"python3-opencv"}


def at(line: int, column: int = 7) -> Location:
    """Return a location in the test's cog.yaml."""
    return Location(COG_YAML, line, column)


def mapped(*names: str, overrides: dict[str, list[str]] | None = None) -> list[SystemPackage]:
    """Map `names` as if written on lines 4, 5, … of cog.yaml."""
    requested = [(at(4 + offset), name) for offset, name in enumerate(names)]
    return map_apt_packages(requested, overrides or {})


def attributes(name: str) -> tuple[str, ...]:
    """Return the nixpkgs attributes one apt name maps to."""
    (package,) = mapped(name)
    return package.nixpkgs


def corpus_apt_names() -> dict[str, str]:
    """Return every apt name of the corpus's system_packages and apt run commands, by file."""
    names: dict[str, str] = {}
    for path in sorted(CORPUS.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except yaml.YAMLError:
            continue  # 007.yaml is broken on purpose; its system_packages are comments
        build = data.get("build") if isinstance(data, dict) else None
        if not isinstance(build, dict):
            continue
        for name in build.get("system_packages") or []:
            names.setdefault(str(name), path.name)
        for command in _run_commands(build):
            for name in _apt_installs(command):
                names.setdefault(name, path.name)
    return names


def _run_commands(build: dict[str, object]) -> list[str]:
    items = [*(build.get("run") or []), *(build.get("pre_install") or [])]  # type: ignore[misc]
    commands = [item.get("command") if isinstance(item, dict) else item for item in items]
    return [command for command in commands if isinstance(command, str)]


def _apt_installs(command: str) -> list[str]:
    """Plan each `&&`/`;` part alone, so that a refused part hides no apt install."""
    names: list[str] = []
    for part in re.split(r"&&|;", command):
        try:
            plan = plan_run_steps([RunItem(at(5), part)], Path("/nonexistent-project"))
        except ConfigError:
            continue
        names += [name for _, name in plan.apt_packages]
    return names


class TestCoverage:
    def test_the_corpus_collection_finds_both_sources(self) -> None:
        names = corpus_apt_names()
        assert names["libgl1-mesa-glx"] == "009.yaml"  # build.system_packages
        assert names["aria2"] == "001.yaml"  # apt install in a run command
        assert len(names) >= 45

    @pytest.mark.parametrize("name", sorted(corpus_apt_names()))
    def test_every_corpus_name_maps_or_is_knowingly_refused(self, name: str) -> None:
        if name in KNOWINGLY_REFUSED:
            with pytest.raises(ConfigError) as raised:
                mapped(name)
            assert "cannot come from nixpkgs" in raised.value.message
            assert raised.value.hint
        else:
            (package,) = mapped(name)
            assert package.nixpkgs or package.kind == "dropped"

    @pytest.mark.parametrize("name", COG_BASE_IMAGE + COMMON)
    def test_cog_base_image_and_common_names_map(self, name: str) -> None:
        assert attributes(name)


class TestMappings:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("libgl1", ("libGL", "libx11", "libxext", "mesa")),
            ("libgl1-mesa-glx", ("libGL", "libx11", "libxext", "mesa")),
            ("libglib2.0-0", ("glib.out",)),
            ("libsm6", ("libsm", "libice")),
            ("libxext6", ("libxext", "libx11")),
            ("libxrender1", ("libxrender", "libx11")),
            ("libxrender-dev", ("libxrender", "libxrender.dev", "libx11")),
            ("ffmpeg", ("ffmpeg.bin", "ffmpeg.lib")),
            ("libavcodec-dev", ("ffmpeg.lib", "ffmpeg.dev")),
            ("libsndfile1", ("libsndfile.out",)),
            ("libgomp1", ("stdenv.cc.cc.lib",)),
            ("libfontconfig1", ("fontconfig.lib",)),
            ("libssl-dev", ("openssl.out", "openssl.dev")),
            ("git-lfs", ("git-lfs", "git")),
            ("poppler-utils", ("poppler-utils",)),
            ("tar", ("gnutar",)),
            ("cuda-toolkit-11-8", ("cudaPackages_11_8.cudatoolkit",)),
        ],
    )
    def test_maps_common_names_exactly(self, name: str, expected: tuple[str, ...]) -> None:
        assert attributes(name) == expected

    def test_marks_build_tools_and_says_they_may_be_left_out(self) -> None:
        gcc, cmake, ffmpeg = mapped("gcc", "cmake", "ffmpeg")
        assert (gcc.kind, gcc.nixpkgs) == ("build-tool", ("gcc",))
        assert cmake.kind == "build-tool"
        assert cmake.note is not None
        assert "may leave it out with a warning" in cmake.note
        assert ffmpeg.kind == "runtime"

    def test_drops_packages_the_image_needs_no_nixpkgs_package_for(self) -> None:
        (python_dev,) = mapped("python3-dev")
        assert python_dev == SystemPackage(
            "python3-dev",
            (),
            "dropped",
            at(4),
            "the image's Python comes from nixpkgs and carries its own headers",
        )

    def test_versioned_family_maps_through_its_pattern(self) -> None:
        (toolkit,) = mapped("cuda-toolkit-12-4")
        assert (toolkit.nixpkgs, toolkit.kind) == (("cudaPackages_12_4.cudatoolkit",), "cuda")


class TestRequests:
    def test_strips_version_and_architecture_suffixes(self) -> None:
        packages = mapped("ffmpeg=7:4.4.2-0ubuntu0.22.04.1", "libgl1:amd64", "git:amd64=1:2.34")
        assert [package.apt for package in packages] == ["ffmpeg", "libgl1", "git"]
        assert packages[0].nixpkgs == ("ffmpeg.bin", "ffmpeg.lib")

    def test_merges_duplicates_keeping_the_first_location(self) -> None:
        packages = mapped("ffmpeg", "libsm6", "ffmpeg=7:4.4", "libsm6")
        assert [(package.apt, package.location) for package in packages] == [
            ("ffmpeg", at(4)),
            ("libsm6", at(5)),
        ]

    def test_overrides_win_over_the_table(self) -> None:
        (ffmpeg,) = mapped("ffmpeg", overrides={"ffmpeg": ["ffmpeg-headless"]})
        assert (ffmpeg.nixpkgs, ffmpeg.kind) == (("ffmpeg-headless",), "runtime")
        assert ffmpeg.location == at(4)

    def test_overrides_map_names_the_table_does_not_know(self) -> None:
        (foo,) = mapped("libfoo1", overrides={"libfoo1": ["foo.out"]})
        assert foo == SystemPackage("libfoo1", ("foo.out",), "runtime", at(4), foo.note)

    def test_an_empty_override_drops_the_package(self) -> None:
        (ffmpeg,) = mapped("ffmpeg", overrides={"ffmpeg": []})
        assert (ffmpeg.nixpkgs, ffmpeg.kind) == ((), "dropped")

    def test_an_override_lifts_a_refusal(self) -> None:
        (opencv,) = mapped("python3-opencv", overrides={"python3-opencv": ["opencv4"]})
        assert opencv.nixpkgs == ("opencv4",)


class TestUnknownNames:
    def test_reports_an_unknown_name_with_a_near_name_and_the_override(self) -> None:
        with pytest.raises(ConfigError) as raised:
            mapped("ffmpeg", "libgl1-mesa-glxx")
        (problem,) = raised.value.problems
        assert problem.location == at(5)
        assert problem.message == "unknown apt package 'libgl1-mesa-glxx'"
        assert problem.hint == (
            "did you mean 'libgl1-mesa-glx'? or map it in cognix.toml: "
            '[apt] libgl1-mesa-glxx = ["nixpkgs-attr"]'
        )

    def test_reports_every_unknown_name_at_once_quoting_dotted_keys(self) -> None:
        with pytest.raises(ConfigError) as raised:
            mapped("zzqqxx", "libsm6", "libwhatever9.9-0")
        first, second = raised.value.problems
        assert (first.location, first.message) == (at(4), "unknown apt package 'zzqqxx'")
        assert first.hint == 'map it in cognix.toml: [apt] zzqqxx = ["nixpkgs-attr"]'
        assert second.location == at(6)
        assert second.hint is not None
        assert second.hint.endswith('[apt] "libwhatever9.9-0" = ["nixpkgs-attr"]')
        assert str(raised.value) == "cog.yaml:4:7: unknown apt package 'zzqqxx'"

    def test_refuses_a_known_name_with_its_reason_and_hint(self) -> None:
        with pytest.raises(ConfigError) as raised:
            mapped("python3-opencv")
        (problem,) = raised.value.problems
        assert problem.message == (
            "apt package 'python3-opencv' cannot come from nixpkgs: it installs OpenCV's "
            "Python module for Debian's Python, not the image's"
        )
        assert problem.hint == (
            "add opencv-python-headless (or opencv-python) to build.python_requirements, "
            'or map it in cognix.toml: [apt] python3-opencv = ["nixpkgs-attr"]'
        )


class TestRenames:
    @pytest.mark.parametrize(
        ("attribute", "branch", "expected"),
        [
            ("libx11", "nixos-26.05", "libx11"),
            ("libx11", "nixos-25.11", "xorg.libX11"),
            ("libxrender.dev", "nixos-23.11", "xorg.libXrender.dev"),
            ("mesa", "nixos-24.11", "mesa.drivers"),
            ("mesa", "nixos-25.05", "mesa"),
            ("poppler-utils", "nixos-24.05", "poppler_utils"),
            ("glib.out", "nixos-23.11", "glib.out"),
        ],
    )
    def test_spells_attributes_for_older_pins(
        self, attribute: str, branch: str, expected: str
    ) -> None:
        assert attribute_at(attribute, branch) == expected


class TestTable:
    def raw(self) -> dict[str, object]:
        text = resources.files("cognix.data").joinpath("apt-to-nixpkgs.toml").read_text()
        return tomllib.loads(text)

    def test_every_mapped_entry_has_attributes_a_checked_file_and_a_known_kind(self) -> None:
        packages = self.raw()["packages"]
        assert isinstance(packages, dict)
        for name, entry in packages.items():
            assert entry["nixpkgs"], name
            assert entry["checked-in"].startswith("pkgs/"), name
            assert entry["checked-at"], name
            assert entry.get("kind", "runtime") in ("runtime", "build-tool"), name

    def test_every_attribute_is_a_nix_attribute_path(self) -> None:
        table = load_apt_table()
        spelled = [a for entry in table.values() for a in entry.nixpkgs]
        raw = self.raw()
        assert isinstance(raw["renames"], dict)
        spelled += [rename["old"] for rename in raw["renames"].values()]
        spelled += [*raw["renames"]]
        assert [a for a in spelled if not ATTRIBUTE.fullmatch(a)] == []

    def test_every_rename_concerns_a_mapped_attribute(self) -> None:
        used = {a.split(".")[0] for e in load_apt_table().values() for a in e.nixpkgs}
        raw = self.raw()
        assert isinstance(raw["renames"], dict)
        assert set(raw["renames"]) <= used

    def test_names_are_debian_package_names(self) -> None:
        assert [n for n in load_apt_table() if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", n)] == []

    def test_the_table_is_large_enough_and_read_once(self) -> None:
        assert len(load_apt_table()) >= 140
        assert load_apt_table() is load_apt_table()
