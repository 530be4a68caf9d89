"""The lock-time native-library check, on real ELF files built with gcc and a local index."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cognix import external
from cognix.errors import JobFailed, ToolMissing
from cognix.resolve import _native_debian, downloads
from cognix.resolve._native_elf import read_links
from cognix.resolve.native import (
    BASELINE_SONAMES,
    MANYLINUX_2_28_LIBRARIES,
    LockedWheel,
    MissingLibrary,
    NativeReport,
    check_native_libraries,
    locked_wheels,
    sonames_of_apt_packages,
)

from conftest import ServedFiles, serving

CONTENTS = b"""\
usr/lib/x86_64-linux-gnu/libgone.so.2                   libs/libgone2
usr/lib/x86_64-linux-gnu/libgone.so.2.0.1               libs/libgone2
usr/lib/x86_64-linux-gnu/libgone.so                     libdevel/libgone-dev
lib/x86_64-linux-gnu/libold.so.1                        libs/libold1,oldlibs/libold1-compat
usr/lib/x86_64-linux-gnu/blas/libblas.so.3              libs/libblas3
usr/lib/x86_64-linux-gnu/plugins/libgone.so.2           libs/gone-plugins
usr/lib/x86_64-linux-gnu/libnf.so.4                     non-free/libs/libnf4
usr/lib/x86_64-linux-gnu/gone.conf                      libs/libgone2
usr/share/doc/libgone2/copyright                        doc/libgone2
usr/lib/i386-linux-gnu/libgone.so.2                     libs/libgone2-i386
"""
SOURCES = {
    "dep.c": "int dep(void) { return 1; }\n",
    "gone.c": "int gone(void) { return 2; }\n",
    "user.c": "int dep(void); int gone(void);\nint user(void) { return dep() + gone(); }\n",
}


@dataclass(frozen=True)
class _Wheels:
    user_so: Path
    dep: LockedWheel
    user: LockedWheel


@pytest.fixture
def index() -> Iterator[tuple[str, ServedFiles]]:
    files = ServedFiles({"/Contents-amd64.gz": gzip.compress(CONTENTS)})
    with serving(files) as url:
        yield url, files


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("elf")
    for name, text in SOURCES.items():
        (folder / name).write_text(text)
    _gcc(folder, "libdep.so.1", "dep.c")
    _gcc(folder, "libgone.so.2", "gone.c")
    _gcc(folder, "user.so", "user.c", "-L.", "-l:libdep.so.1", "-l:libgone.so.2", "-lm")
    return folder


def _gcc(folder: Path, output: str, *arguments: str) -> None:
    argv = ["gcc", "-shared", "-fPIC", "-Wl,--no-as-needed", f"-Wl,-soname,{output}"]
    try:
        external.run([*argv, "-o", output, *arguments], cwd=folder)
    except ToolMissing:
        pytest.skip("gcc is missing: it builds the ELF files these tests read")


@pytest.fixture
def wheels(libraries: Path, index: tuple[str, ServedFiles]) -> _Wheels:
    url, files = index
    # The data file makes dep the larger wheel, for the tests of the size limit.
    padding = random.Random(0).randbytes(8192)
    dep_bytes = _wheel(
        {
            "dep/__init__.py": b"",
            "dep/data.bin": padding,
            "dep.libs/libdep.so.1": libraries / "libdep.so.1",
        }
    )
    user_bytes = _wheel({"user/__init__.py": b"", "user/_native.so": libraries / "user.so"})
    files.bodies["/dep-1.0-py3-none-any.whl"] = dep_bytes
    files.bodies["/user-1.0-py3-none-any.whl"] = user_bytes
    dep = _locked("dep", f"{url}/dep-1.0-py3-none-any.whl", dep_bytes)
    user = _locked("user", f"{url}/user-1.0-py3-none-any.whl", user_bytes, ("dep",))
    return _Wheels(libraries / "user.so", dep, user)


def _wheel(members: dict[str, bytes | Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content if isinstance(content, bytes) else content.read_bytes())
    return buffer.getvalue()


def _locked(name: str, url: str, body: bytes, dependencies: tuple[str, ...] = ()) -> LockedWheel:
    digest = hashlib.sha256(body).hexdigest()
    return LockedWheel(name, "1.0", url, digest, len(body), dependencies)


def _check(wheels: _Wheels, url: str, cache: Path, **options: Any) -> NativeReport:
    options.setdefault("contents_url", f"{url}/Contents-amd64.gz")
    return check_native_libraries([wheels.dep, wheels.user], set(), cache_dir=cache, **options)


class TestElfReader:
    def test_reads_needed_and_soname(self, libraries: Path) -> None:
        with (libraries / "user.so").open("rb") as member:
            links = read_links(member, "user/_native.so")

        assert links is not None
        assert links.soname == "user.so"
        assert links.needed == ("libdep.so.1", "libgone.so.2", "libm.so.6", "libc.so.6")

    def test_ignores_other_files(self) -> None:
        assert read_links(io.BytesIO(b"print('hello')\n" * 8), "x.py") is None

    def test_skips_a_truncated_elf_file(self, libraries: Path) -> None:
        head = (libraries / "user.so").read_bytes()[:200]

        assert read_links(io.BytesIO(head), "user/_native.so") is None


class TestCheck:
    def test_library_of_another_locked_wheel_is_found(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        report = _check(wheels, index[0], tmp_path)

        assert report.missing == (
            MissingLibrary("user", "1.0", "user/_native.so", "libgone.so.2", ("libgone2",)),
        )

    def test_missing_library_is_reported_with_its_apt_package(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        report = _check(wheels, index[0], tmp_path)

        assert report.message() == (
            "the image would lack native libraries that locked wheels need:\n"
            "  user 1.0: user/_native.so needs libgone.so.2 (apt: libgone2)"
        )
        # libgone2 is no apt name cognix maps, so cog.yaml cannot get it: cognix.toml can.
        assert report.hint() == (
            "if the model never loads the files that need them, list "
            'allow-missing = ["libgone.so.2"] under [image] in cognix.toml'
        )

    def test_system_package_provides_the_library(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, _ = index
        system = sonames_of_apt_packages(
            ["libgone2"], cache_dir=tmp_path, contents_url=f"{url}/Contents-amd64.gz"
        )
        report = check_native_libraries([wheels.dep, wheels.user], system, cache_dir=tmp_path)

        assert system == {"libgone.so.2", "libgone.so.2.0.1"}
        assert report.missing == ()
        assert report.message() == ""
        assert report.hint() is None

    def test_changed_wheel_bytes_are_refused(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, files = index
        changed = files.bodies["/user-1.0-py3-none-any.whl"] + b"\0"
        files.bodies["/user-1.0-py3-none-any.whl"] = changed

        with pytest.raises(JobFailed) as raised:
            _check(wheels, url, tmp_path)

        assert raised.value.message == (
            "the bytes of user-1.0-py3-none-any.whl no longer match pylock.toml "
            f"(expected sha256 {wheels.user.sha256}, got {hashlib.sha256(changed).hexdigest()})"
        )
        assert not list((tmp_path / "wheels").iterdir())

    def test_large_wheels_are_listed_unread(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, files = index
        report = _check(wheels, url, tmp_path, limit=wheels.user.size)

        assert report.unread == (("dep", wheels.dep.size), ("user", wheels.user.size))
        assert report.missing == ()
        assert files.requests == []
        assert report.message() == (
            "not read, as they are too large to download now: dep (0.0 MB), user (0.0 MB)"
        )

    def test_needs_that_an_unread_dependency_may_meet_are_not_missing(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        limit = wheels.user.size + 1
        report = _check(wheels, index[0], tmp_path, limit=limit)

        assert wheels.dep.size >= limit
        assert report.unread == (("dep", wheels.dep.size),)
        assert report.missing == ()
        assert report.message() == (
            "not read, as they are too large to download now: dep (0.0 MB)\n"
            "not checked, as they may come from a wheel that was not read:\n"
            "  user 1.0: user/_native.so needs libdep.so.1 (no Debian package ships it), "
            "libgone.so.2 (apt: libgone2)"
        )
        assert report.hint() == "`cognix lock --deep` reads the large wheels too"

    def test_deep_reads_large_wheels(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        report = _check(wheels, index[0], tmp_path, limit=1, deep=True)

        assert report.unread == ()
        assert [item.soname for item in report.missing] == ["libgone.so.2"]

    def test_second_run_reads_only_the_cache(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, files = index
        first = _check(wheels, url, tmp_path)
        asked = len(files.requests)
        second = _check(wheels, url, tmp_path)

        assert asked == 3
        assert len(files.requests) == asked
        assert second == first

    def test_cached_wheel_bytes_are_used(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, files = index
        (tmp_path / "wheels").mkdir()
        for wheel in (wheels.dep, wheels.user):
            body = files.bodies.pop(f"/{wheel.filename}")
            (tmp_path / "wheels" / f"{wheel.sha256}.whl").write_bytes(body)

        report = _check(wheels, url, tmp_path, limit=1)

        assert report.unread == ()
        assert files.requests == ["/Contents-amd64.gz"]

    def test_damaged_cached_wheel_is_downloaded_again(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        damaged = tmp_path / "wheels" / f"{wheels.user.sha256}.whl"
        damaged.parent.mkdir()
        damaged.write_bytes(b"not a wheel")

        report = _check(wheels, index[0], tmp_path)

        assert [item.soname for item in report.missing] == ["libgone.so.2"]
        assert not damaged.exists()

    def test_transient_failures_are_retried(
        self,
        wheels: _Wheels,
        index: tuple[str, ServedFiles],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url, files = index
        monkeypatch.setattr(downloads, "FIRST_BACKOFF_SECONDS", 0.0)
        files.failures["/user-1.0-py3-none-any.whl"] = [500, 503]
        report = _check(wheels, url, tmp_path)

        assert files.requests.count("/user-1.0-py3-none-any.whl") == 3
        assert [item.soname for item in report.missing] == ["libgone.so.2"]

    def test_unreachable_apt_index_leaves_packages_unknown(
        self, wheels: _Wheels, index: tuple[str, ServedFiles], tmp_path: Path
    ) -> None:
        url, _ = index
        report = _check(wheels, url, tmp_path, contents_url=f"{url}/gone.gz")

        assert report.message() == (
            "the image would lack native libraries that locked wheels need:\n"
            "  user 1.0: user/_native.so needs libgone.so.2 (apt: unknown)\n"
            f"which apt packages ship them is unknown: could not download {url}/gone.gz: HTTP 404"
        )


class TestDebianIndex:
    def test_maps_sonames_in_the_library_folders(self) -> None:
        body = gzip.compress(CONTENTS)
        chunks = [body[start : start + 7] for start in range(0, len(body), 7)]

        assert _native_debian.parse_contents(chunks) == {
            "libblas.so.3": ("libblas3",),
            "libgone.so": ("libgone-dev",),
            "libgone.so.2": ("libgone2",),
            "libgone.so.2.0.1": ("libgone2",),
            "libnf.so.4": ("libnf4",),
            "libold.so.1": ("libold1", "libold1-compat"),
        }

    def test_index_is_read_once(self, index: tuple[str, ServedFiles], tmp_path: Path) -> None:
        url, files = index
        for _ in range(2):
            found = sonames_of_apt_packages(
                ["libold1-compat"], cache_dir=tmp_path, contents_url=f"{url}/Contents-amd64.gz"
            )
            assert found == {"libold.so.1"}

        assert files.requests == ["/Contents-amd64.gz"]


def test_baseline_is_the_image_part_of_the_manylinux_policy() -> None:
    assert {"libc.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1"} <= BASELINE_SONAMES
    assert "ld-linux-x86-64.so.2" in BASELINE_SONAMES
    assert "libGL.so.1" in MANYLINUX_2_28_LIBRARIES
    assert not {"libGL.so.1", "libX11.so.6", "libglib-2.0.so.0"} & BASELINE_SONAMES


def test_locked_wheels_reads_pylock() -> None:
    text = """
lock-version = "1.0"
[[packages]]
name = "opencv-python"
version = "4.10.0.84"
dependencies = [{ name = "numpy" }]
wheels = [{ url = "https://example.org/a/opencv_python-4.10.0.84-cp37-abi3-x.whl", size = 5, \
hashes = { sha256 = "ab" } }]
"""
    [wheel] = locked_wheels(text)

    assert wheel == LockedWheel(
        "opencv-python",
        "4.10.0.84",
        "https://example.org/a/opencv_python-4.10.0.84-cp37-abi3-x.whl",
        "ab",
        5,
        ("numpy",),
    )
    assert wheel.filename == "opencv_python-4.10.0.84-cp37-abi3-x.whl"


# The wheel `uv pip compile` locks for case 07 (opencv-python==4.10.0.84, Python 3.11,
# x86_64-manylinux_2_28), as PyPI lists it.
OPENCV = LockedWheel(
    "opencv-python",
    "4.10.0.84",
    "https://files.pythonhosted.org/packages/3f/a4/"
    "d2537f47fd7fcfba966bd806e3ec18e7ee1681056d4b0a9c8d983983e4d5/"
    "opencv_python-4.10.0.84-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "9ace140fc6d647fbe1c692bcb2abce768973491222c067c131d80957c595b71f",
    62548253,
    ("numpy",),
)
OPENCV_APT = ("libgl1", "libxcb1", "libxext6", "libx11-6", "libsm6", "libice6", "libglib2.0-0")


@pytest.fixture(scope="module")
def network_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cognix-cache")


@pytest.mark.network
def test_opencv_python_needs_libgl(network_cache: Path) -> None:
    report = check_native_libraries([OPENCV], set(), cache_dir=network_cache)

    qxcb = [item for item in report.missing if item.member.endswith("/libqxcb.so")]
    assert qxcb[0] == MissingLibrary(
        "opencv-python",
        "4.10.0.84",
        "cv2/qt/plugins/platforms/libqxcb.so",
        "libGL.so.1",
        ("libgl1",),
    )
    assert {item.soname for item in report.missing} == {
        "libGL.so.1",
        "libICE.so.6",
        "libSM.so.6",
        "libX11.so.6",
        "libXext.so.6",
        "libglib-2.0.so.0",
        "libgthread-2.0.so.0",
        "libxcb.so.1",
    }
    assert report.apt_packages() == OPENCV_APT
    assert report.message().splitlines()[1] == (
        "  opencv-python 4.10.0.84: cv2/qt/plugins/platforms/libqxcb.so needs "
        "libGL.so.1 (apt: libgl1), libxcb.so.1 (apt: libxcb1), libXext.so.6 (apt: libxext6), "
        "libX11.so.6 (apt: libx11-6), libSM.so.6 (apt: libsm6), libICE.so.6 (apt: libice6)"
    )


@pytest.mark.network
def test_opencv_python_passes_with_the_named_apt_packages(network_cache: Path) -> None:
    system = sonames_of_apt_packages(OPENCV_APT, cache_dir=network_cache)

    assert check_native_libraries([OPENCV], system, cache_dir=network_cache).missing == ()


@pytest.mark.network
def test_debian_index_maps_libgl_to_libgl1(network_cache: Path) -> None:
    sonames = _native_debian.load_soname_map(network_cache)

    assert sonames["libGL.so.1"] == ("libgl1",)
    assert sonames["libglib-2.0.so.0"] == ("libglib2.0-0",)
    assert "libGL.so.1" in sonames_of_apt_packages(["libgl1"], cache_dir=network_cache)


def test_hint_names_mappable_apt_packages_and_allows_the_rest() -> None:
    report = NativeReport(
        (
            MissingLibrary("cv", "1", "cv/a.so", "libGL.so.1", ("libgl1", "libgl1-mesa-dev")),
            MissingLibrary("nv", "1", "nv/t.so", "libucs.so.9", ("libucx9",)),
        )
    )

    assert report.hint() == (
        "add libgl1 to build.system_packages in cog.yaml; if the model never loads the files "
        'that need them, list allow-missing = ["libucs.so.9"] under [image] in cognix.toml'
    )
