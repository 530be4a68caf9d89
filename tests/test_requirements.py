"""Reading pip requirements files and cog.yaml `python_packages` (cognix.config.requirements)."""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognix.config.requirements import (
    RequirementLine,
    RequirementSet,
    read_requirement_lines,
    read_requirements_file,
)
from cognix.errors import ConfigError, Location

from conftest import CASES, CORPUS

PYTORCH = "https://download.pytorch.org/whl/cu121"
SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64
# Pieces that steer generated text into options, URLs, paths, markers and continuations.
FRAGMENTS = (
    *("-r ", "-c ", "-e ", "--hash=", "-i", "--pre", "--index-url=", " ", "\\", "\n", "\r\n"),
    *("#", ";", "@", "[", "]", "==1", "git+https://h/r", "#egg=", "&", "x.whl", ".tar.gz"),
    *("./", "../", "a.txt", "foo", "sha256:ab", 'python_version<"3"', "file:", "${X}"),
)
# tmp_path is shared by a test's examples; each example rewrites what it reads.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def write(directory: Path, text: str, name: str = "requirements.txt") -> Path:
    """Write `text` to `directory/name`, creating folders, and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def read(directory: Path, text: str) -> RequirementSet:
    """Write `text` as requirements.txt and read it with `directory` as the project."""
    return read_requirements_file(write(directory, text), directory)


def only(found: RequirementSet) -> RequirementLine:
    """Return the single requirement of `found`."""
    assert len(found.requirements) == 1
    return found.requirements[0]


def problems_of(error: ConfigError) -> list[tuple[str, int, int, str]]:
    """Return (file name, line, column, message) of each problem."""
    return [
        (
            problem.location.path.name,
            problem.location.line,
            problem.location.column,
            problem.message,
        )
        for problem in error.problems
    ]


def errors(directory: Path, text: str) -> list[tuple[str, int, int, str]]:
    """Read `text` as requirements.txt and return the problems it raises."""
    with pytest.raises(ConfigError) as caught:
        read(directory, text)
    return problems_of(caught.value)


def applies(line: RequirementLine, environment: dict[str, str]) -> bool:
    """Tell whether the line's marker holds in `environment`."""
    assert line.requirement is not None
    marker = line.requirement.marker
    return marker is None or marker.evaluate(environment)


def copy_corpus(name: str, directory: Path) -> Path:
    """Copy a corpus requirements file into `directory`."""
    return Path(shutil.copy(CORPUS / name, directory / "requirements.txt"))


class TestRequirements:
    def test_accepts_names_extras_and_specifiers(self, tmp_path: Path) -> None:
        line = only(read(tmp_path, "Foo.Bar_baz[Fast, cli] >= 1.0, < 2\n"))

        assert line.location == Location(tmp_path / "requirements.txt", 1, 1)
        assert line.text == "Foo.Bar_baz[Fast, cli] >= 1.0, < 2"
        assert line.name == "foo-bar-baz"
        assert line.requirement is not None
        assert line.requirement.extras == {"Fast", "cli"}
        assert str(line.requirement.specifier) == "<2,>=1.0"
        assert (line.url, line.editable, line.hashes, line.local_path) == (None, False, (), None)

    def test_accepts_markers(self, tmp_path: Path) -> None:
        line = only(read(tmp_path, 'tomli==2.0.1; python_version < "3.11"\n'))

        assert line.requirement is not None
        assert str(line.requirement.marker) == 'python_version < "3.11"'

    def test_keeps_environment_variables_as_written(self, tmp_path: Path) -> None:
        text = (
            "--extra-index-url https://${USER}:${TOKEN}@pypi.example.com/simple\n"
            "git+https://${TOKEN}@github.com/org/private.git@v1#egg=private\n"
        )
        found = read(tmp_path, text)

        assert found.extra_index_urls == ("https://${USER}:${TOKEN}@pypi.example.com/simple",)
        assert only(found).url == "git+https://${TOKEN}@github.com/org/private.git@v1#egg=private"

    def test_names_requirement_from_file_in_continued_line(self, tmp_path: Path) -> None:
        found = read(
            tmp_path, "numpy==2.1.3\n\ntomli==2.0.1 \\\n    ; python_version < '3.11'\nrich\n"
        )

        assert [(line.name, line.location.line) for line in found.requirements] == [
            ("numpy", 1),
            ("tomli", 3),
            ("rich", 5),
        ]
        assert found.requirements[1].text == "tomli==2.0.1     ; python_version < '3.11'"

    def test_reads_requirement_markers_case(self, tmp_path: Path) -> None:
        shutil.copytree(CASES / "06-requirement-markers", tmp_path / "case")
        project = tmp_path / "case"

        found = read_requirements_file(project / "deps" / "requirements.txt", project)

        target = {"python_version": "3.12", "platform_system": "Linux", "sys_platform": "linux"}
        kept = [line.name for line in found.requirements if applies(line, target)]
        assert kept == ["numpy"]
        assert [line.location.line for line in found.requirements] == [1, 2, 3]
        tomli = found.requirements[2].requirement
        assert str(tomli) == 'tomli==2.0.1; python_version < "3.11" and platform_system == "Linux"'
        assert found.files == (project / "deps" / "requirements.txt",)


class TestLines:
    def test_drops_comments_and_blank_lines(self, tmp_path: Path) -> None:
        text = "# pinned\n\n   \nnumpy==2.1.3  # the array library\n  # indented comment\n"
        line = only(read(tmp_path, text))

        assert (line.text, line.location.line) == ("numpy==2.1.3", 4)

    def test_keeps_url_fragments_that_are_not_comments(self, tmp_path: Path) -> None:
        line = only(read(tmp_path, "git+https://github.com/org/repo.git#egg=repo # latest\n"))

        assert line.url == "git+https://github.com/org/repo.git#egg=repo"
        assert line.name == "repo"

    def test_reads_crlf_like_lf(self, tmp_path: Path) -> None:
        text = "numpy==2.1.3\r\ntomli \\\r\n  ==2.0.1\r\n"
        found = read(tmp_path, text)

        assert [(line.text, line.location.line) for line in found.requirements] == [
            ("numpy==2.1.3", 1),
            ("tomli   ==2.0.1", 2),
        ]

    def test_skips_utf8_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "requirements.txt"
        path.write_bytes(b"\xef\xbb\xbfnumpy==2.1.3\nfoo bar\n")

        with pytest.raises(ConfigError) as caught:
            read_requirements_file(path, tmp_path)

        assert problems_of(caught.value)[0][1:3] == (2, 5)
        path.write_bytes(b"\xef\xbb\xbfnumpy==2.1.3\n")
        assert only(read_requirements_file(path, tmp_path)).location.column == 1

    def test_reads_utf16_with_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "requirements.txt"
        path.write_bytes("numpy==2.1.3\r\n".encode("utf-16"))

        assert only(read_requirements_file(path, tmp_path)).name == "numpy"

    def test_rejects_text_that_is_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "requirements.txt"
        path.write_bytes(b"numpy\nfoo\xe9==1\n")

        with pytest.raises(ConfigError) as caught:
            read_requirements_file(path, tmp_path)

        assert problems_of(caught.value) == [
            ("requirements.txt", 2, 4, "requirements files must be UTF-8 text; found byte 0xe9")
        ]

    def test_locates_errors_on_continued_lines(self, tmp_path: Path) -> None:
        assert errors(tmp_path, "bar \\\n  ; python_version <\n") == [
            (
                "requirements.txt",
                2,
                21,
                "invalid requirement `bar   ; python_version <`: "
                "expected a marker variable or quoted string",
            )
        ]

    def test_ignores_backslash_at_end_of_file(self, tmp_path: Path) -> None:
        assert only(read(tmp_path, "numpy \\")).text == "numpy"


class TestOptions:
    @pytest.mark.parametrize(
        "text",
        [
            "-i https://mirror.example.com/simple",
            "-ihttps://mirror.example.com/simple",
            "--index-url https://mirror.example.com/simple",
            "--index-url=https://mirror.example.com/simple",
            "--index-url='https://mirror.example.com/simple'",
        ],
    )
    def test_reads_index_url_in_every_form(self, tmp_path: Path, text: str) -> None:
        assert read(tmp_path, text).index_url == "https://mirror.example.com/simple"

    def test_collects_extra_indexes_and_find_links_in_order(self, tmp_path: Path) -> None:
        text = (
            f"--extra-index-url {PYTORCH}\n"
            "-f https://data.pyg.org/whl/torch-2.1.0+cu121.html\n"
            "--extra-index-url=https://pypi.example.com/simple\n"
            f"--extra-index-url {PYTORCH}\n"
            "--find-links=./wheels\n"
        )
        found = read(tmp_path, text)

        assert found.extra_index_urls == (PYTORCH, "https://pypi.example.com/simple")
        assert found.find_links == ("https://data.pyg.org/whl/torch-2.1.0+cu121.html", "./wheels")
        assert (found.index_url, found.pre, found.requirements) == (None, False, ())

    def test_reads_pre(self, tmp_path: Path) -> None:
        assert read(tmp_path, "--pre\nnumpy\n").pre is True

    def test_reads_options_after_a_requirement(self, tmp_path: Path) -> None:
        found = read(tmp_path, f"torch==2.1.0 --extra-index-url {PYTORCH} --pre\n")

        assert only(found).text == "torch==2.1.0"
        assert (found.extra_index_urls, found.pre) == ((PYTORCH,), True)

    def test_ignores_binary_and_host_options_with_debug_log(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        text = (
            "--only-binary :all:\n--no-binary=pillow\n--prefer-binary\n"
            "--trusted-host pypi.example.com\n--use-feature=truststore\nnumpy\n"
        )
        with caplog.at_level(logging.DEBUG, logger="cognix"):
            found = read(tmp_path, text)

        assert [line.name for line in found.requirements] == ["numpy"]
        assert found.warnings == ()
        assert [record.getMessage().split(": ")[1] for record in caplog.records] == [
            "ignoring --only-binary",
            "ignoring --no-binary",
            "ignoring --prefer-binary",
            "ignoring --trusted-host",
            "ignoring --use-feature",
        ]

    def test_warns_about_options_without_effect(self, tmp_path: Path) -> None:
        found = read(tmp_path, "--no-index\nnumpy -C key=value\n")

        assert [(w.location.line, w.location.column, w.message) for w in found.warnings] == [
            (1, 1, "--no-index has no effect with cognix and is ignored"),
            (2, 7, "--config-settings has no effect with cognix and is ignored"),
        ]

    def test_warns_when_index_url_is_replaced(self, tmp_path: Path) -> None:
        found = read(
            tmp_path, "-i https://a.example.com/simple\n-i https://b.example.com/simple\n"
        )

        assert found.index_url == "https://b.example.com/simple"
        assert [str(w.message) for w in found.warnings] == [
            "--index-url https://b.example.com/simple replaces https://a.example.com/simple"
        ]

    def test_collects_hashes_per_line(self, tmp_path: Path) -> None:
        text = f"foo==1.0 \\\n    --hash={SHA_A} \\\n    --hash {SHA_B}\nbar==2.0\n"
        found = read(tmp_path, text)

        assert [(line.name, line.hashes) for line in found.requirements] == [
            ("foo", (SHA_A, SHA_B)),
            ("bar", ()),
        ]

    def test_rejects_unknown_option_with_suggestion(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            read(tmp_path, f"numpy\ntorch --extra-index {PYTORCH}\n")

        problem = caught.value.problems[0]
        assert (problem.location.line, problem.location.column) == (2, 7)
        expected = "unknown option --extra-index; expected a pip requirements-file option"
        assert problem.message == expected
        assert problem.hint == "did you mean --extra-index-url?"

    @pytest.mark.parametrize(
        ("text", "column", "message"),
        [
            ("--index-url", 1, "option --index-url expects a package index URL"),
            ("--index-url=", 1, "option --index-url expects a package index URL"),
            ("-i --pre", 1, "option -i expects a package index URL"),
            ("numpy --hash", 7, "option --hash expects a hash such as sha256:<hex digest>"),
            ("-r", 1, "option -r expects a requirements file path"),
            ("-e", 1, "option -e expects a VCS URL such as git+https://…#egg=NAME"),
        ],
    )
    def test_rejects_option_missing_its_value(
        self, tmp_path: Path, text: str, column: int, message: str
    ) -> None:
        assert errors(tmp_path, text + "\n") == [("requirements.txt", 1, column, message)]

    @pytest.mark.parametrize(
        ("text", "column", "message"),
        [
            ("--pre=yes", 1, "option --pre takes no value"),
            (f"--hash={SHA_A}", 1, "--hash must follow a requirement on its line"),
            ("numpy -r other.txt", 7, "-r must start a line of its own"),
            ("--pre -e git+https://h/r#egg=r", 7, "-e must start a line of its own"),
            (
                "--pre numpy",
                7,
                "unexpected `numpy` after the options; expected an option or the end",
            ),
            (
                "numpy --hash=md5sum:zz",
                14,
                "expected --hash=ALGORITHM:HEXDIGEST such as sha256:…, found `md5sum:zz`",
            ),
        ],
    )
    def test_rejects_misplaced_or_malformed_options(
        self, tmp_path: Path, text: str, column: int, message: str
    ) -> None:
        assert errors(tmp_path, text + "\n") == [("requirements.txt", 1, column, message)]


class TestNestedFiles:
    def test_reads_requirements_and_constraints_relative_to_including_file(
        self, tmp_path: Path
    ) -> None:
        top = write(tmp_path, "numpy\n-r deps/base.txt\n")
        write(tmp_path, "--requirement=more/extra.txt\n-c constraints.txt\n", "deps/base.txt")
        write(tmp_path, "rich\n--pre\n", "deps/more/extra.txt")
        write(tmp_path, "rich<14\n", "deps/constraints.txt")

        found = read_requirements_file(top, tmp_path)

        assert [line.name for line in found.requirements] == ["numpy", "rich"]
        assert [(c.name, c.location) for c in found.constraints] == [
            ("rich", Location(tmp_path / "deps" / "constraints.txt", 1, 1))
        ]
        assert found.pre is True
        assert found.files == (
            top,
            tmp_path / "deps" / "base.txt",
            tmp_path / "deps" / "more" / "extra.txt",
            tmp_path / "deps" / "constraints.txt",
        )

    def test_lists_a_file_included_twice_once(self, tmp_path: Path) -> None:
        top = write(tmp_path, "-r common.txt\n-c common.txt\n")
        write(tmp_path, "numpy==2.1.3\n", "common.txt")

        found = read_requirements_file(top, tmp_path)

        assert found.files == (top, tmp_path / "common.txt")
        assert [line.name for line in found.constraints] == ["numpy"]

    def test_rejects_missing_nested_file_at_include_line(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            read(tmp_path, "numpy\n-r  other.txt\n")

        problem = caught.value.problems[0]
        assert problem.location == Location(tmp_path / "requirements.txt", 2, 5)
        assert problem.message == "requirements file other.txt does not exist"
        assert problem.hint is not None
        assert problem.hint.endswith("-r and -c paths are relative to this file")

    def test_rejects_include_cycle_at_include_line(self, tmp_path: Path) -> None:
        write(tmp_path, "numpy\n-c b.txt\n", "a.txt")
        write(tmp_path, "rich\n-r a.txt\n", "b.txt")

        assert errors(tmp_path, "-r a.txt\n") == [
            ("b.txt", 2, 4, "requirements file a.txt includes itself: a.txt -> b.txt -> a.txt")
        ]

    def test_rejects_requirements_file_from_url(self, tmp_path: Path) -> None:
        assert errors(tmp_path, "-r https://example.com/requirements.txt\n") == [
            (
                "requirements.txt",
                1,
                4,
                "requirements files are read from the project, not from URLs",
            )
        ]

    def test_rejects_missing_top_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            read_requirements_file(tmp_path / "nope.txt", tmp_path)

        assert problems_of(caught.value) == [
            ("nope.txt", 1, 1, f"requirements file {tmp_path / 'nope.txt'} does not exist")
        ]

    def test_collects_problems_from_every_file(self, tmp_path: Path) -> None:
        write(tmp_path, "rich=13\n", "other.txt")

        assert errors(tmp_path, "foo bar\n-r other.txt\n--bogus\n") == [
            (
                "other.txt",
                1,
                5,
                "invalid requirement `rich=13`: "
                "expected semicolon (after name with no version specifier) or end",
            ),
            (
                "requirements.txt",
                1,
                5,
                "invalid requirement `foo bar`: "
                "expected semicolon (after name with no version specifier) or end",
            ),
            (
                "requirements.txt",
                3,
                1,
                "unknown option --bogus; expected a pip requirements-file option",
            ),
        ]


class TestUrls:
    def test_reads_direct_reference(self, tmp_path: Path) -> None:
        url = "https://example.com/pkgs/foo-1.0.tar.gz"
        line = only(read(tmp_path, f'Foo[x] @ {url} ; sys_platform == "linux"\n'))

        assert (line.name, line.url) == ("foo", url)
        assert str(line.requirement) == f'Foo[x] @ {url} ; sys_platform == "linux"'

    def test_reads_vcs_url_with_egg_and_subdirectory(self, tmp_path: Path) -> None:
        url = "git+https://github.com/org/mono.git@v1.2#egg=Sub_Pkg[gpu]&subdirectory=python"
        line = only(read(tmp_path, f"{url}\n"))

        assert (line.name, line.url, line.text, line.editable) == ("sub-pkg", url, url, False)
        assert line.requirement is not None
        assert (line.requirement.name, line.requirement.extras) == ("Sub_Pkg", {"gpu"})
        assert line.requirement.url == url

    def test_names_wheel_url_from_file_name(self, tmp_path: Path) -> None:
        url = "https://example.com/whl/flash_attn-2.5.8%2Bcu122-cp312-cp312-linux_x86_64.whl"
        line = only(read(tmp_path, f"{url} ; python_version >= '3.12'\n"))

        assert (line.name, line.url) == ("flash-attn", url)
        assert line.requirement is not None
        assert str(line.requirement.marker) == 'python_version >= "3.12"'

    def test_reads_editable_vcs_url(self, tmp_path: Path) -> None:
        line = only(read(tmp_path, "-e git+https://github.com/org/tts.git#egg=TorToiSe\n"))

        assert line.location == Location(tmp_path / "requirements.txt", 1, 4)
        assert (line.name, line.editable, line.requirement) == ("tortoise", True, None)
        assert line.url == "git+https://github.com/org/tts.git#egg=TorToiSe"

    def test_reads_editable_in_long_form(self, tmp_path: Path) -> None:
        line = only(read(tmp_path, "--editable=git+https://h.example/r.git#egg=r\n"))

        assert (line.name, line.editable) == ("r", True)

    @pytest.mark.parametrize(
        ("text", "column", "message"),
        [
            (
                "git+https://github.com/openai/CLIP.git@main",
                1,
                "cannot tell which package git+https://github.com/openai/CLIP.git@main "
                "installs; expected #egg=NAME",
            ),
            (
                "https://example.com/archive/main.zip",
                1,
                "cannot tell which package https://example.com/archive/main.zip installs; "
                "expected #egg=NAME",
            ),
            (
                "git+https://h.example/r.git#egg=r==1.0",
                33,
                "invalid #egg=r==1.0; expected a package name, e.g. #egg=my_package",
            ),
            (
                "https://h.example/not-a-wheel.whl",
                1,
                "invalid wheel filename (wrong number of parts): 'not-a-wheel'",
            ),
            (
                "https://h.example/x-1.0.tar.gz extra",
                32,
                "expected `; MARKER` or the end of the requirement after a URL",
            ),
            (
                "https://h.example/x-1.0.tar.gz ; python_version <",
                50,
                "invalid marker: expected a marker variable or quoted string",
            ),
            ("file:///tmp/x-1.0.tar.gz", 1, "file: URLs are not supported"),
            ("x @ file:///tmp/x-1.0.tar.gz", 5, "file: URLs are not supported"),
            (
                "-e https://h.example/x-1.0.tar.gz",
                4,
                "cannot install "
                "`https://h.example/x-1.0.tar.gz` in editable mode; expected a VCS URL",
            ),
            (
                "-e git+https://h.example/r.git",
                4,
                "cannot tell which package "
                "git+https://h.example/r.git installs; expected #egg=NAME",
            ),
        ],
    )
    def test_rejects_urls_it_cannot_name(
        self, tmp_path: Path, text: str, column: int, message: str
    ) -> None:
        assert errors(tmp_path, text + "\n") == [("requirements.txt", 1, column, message)]

    def test_suggests_name_for_unnamed_vcs_url(self, tmp_path: Path) -> None:
        url = "git+https://github.com/openai/CLIP.git@main"
        with pytest.raises(ConfigError) as caught:
            read(tmp_path, url)

        expected = f"write `CLIP @ {url}` or add #egg=CLIP, with the name the package declares"
        assert caught.value.problems[0].hint == expected


class TestLocalPaths:
    def test_reads_bare_local_artifacts(self, tmp_path: Path) -> None:
        text = "./dist/my_pkg-1.0-py3-none-any.whl\nvendor/other-2.0.tar.bz2\n"
        found = read(tmp_path, text)

        assert [(line.name, line.local_path, line.requirement) for line in found.requirements] == [
            ("my-pkg", tmp_path / "dist" / "my_pkg-1.0-py3-none-any.whl", None),
            ("other", tmp_path / "vendor" / "other-2.0.tar.bz2", None),
        ]

    def test_reads_local_paths_relative_to_project(self, tmp_path: Path) -> None:
        top = write(tmp_path, "-r deps/more.txt\n")
        write(tmp_path, "./dist/x-1.0.tar.gz\n", "deps/more.txt")

        found = read_requirements_file(top, tmp_path)

        assert only(found).local_path == tmp_path / "dist" / "x-1.0.tar.gz"

    @pytest.mark.parametrize("text", ["-e .", "-e ./", "--editable=.[dev]"])
    def test_drops_editable_project_with_warning(self, tmp_path: Path, text: str) -> None:
        found = read(tmp_path, f"numpy\n{text}\n")

        assert [line.name for line in found.requirements] == ["numpy"]
        warning = found.warnings[0]
        assert (warning.location.line, warning.location.column) == (2, 1)
        assert (
            warning.message == "-e . installs the project itself; the line is dropped, as Cog does"
        )

    @pytest.mark.parametrize(
        ("text", "column", "message"),
        [
            (
                "../x-1.0.tar.gz",
                1,
                "local package `../x-1.0.tar.gz` lies outside the project directory",
            ),
            ("./vendor/pkg", 1, "local package `./vendor/pkg` is not a wheel or source archive"),
            (
                "./dist/x.tar.gz",
                1,
                "cannot tell the package name of `./dist/x.tar.gz`; expected NAME-VERSION.tar.gz",
            ),
            (
                './x-1.0.tar.gz; python_version < "3.12"',
                15,
                "environment markers are not supported on local package paths",
            ),
            ("./x-1.0.tar.gz[gpu]", 15, "extras are not supported on local packages"),
            (
                f"./x-1.0.tar.gz --hash={SHA_A}",
                16,
                "options and hashes are not supported on local package paths",
            ),
            (
                "x @ ./x-1.0.tar.gz",
                5,
                "`NAME @ path` is not supported for local packages; list the path directly",
            ),
            (
                "-e ./vendor/pkg",
                4,
                "cannot install `./vendor/pkg` in editable mode; expected a VCS URL",
            ),
        ],
    )
    def test_rejects_local_forms_cog_rejects(
        self, tmp_path: Path, text: str, column: int, message: str
    ) -> None:
        assert errors(tmp_path, text + "\n") == [("requirements.txt", 1, column, message)]


class TestCogPackages:
    def test_removes_cog_and_coglet_with_warnings(self, tmp_path: Path) -> None:
        found = read(tmp_path, "numpy\ncog==0.9.4\n  Coglet>=0.1\n")

        assert [line.name for line in found.requirements] == ["numpy"]
        assert [(w.location.line, w.location.column, w.message) for w in found.warnings] == [
            (2, 1, "cog is provided by cognix; this line is replaced by the locked cog SDK"),
            (3, 3, "coglet is provided by cognix with the cog SDK; this line is dropped"),
        ]
        assert (
            found.warnings[0].hint == "choose the SDK version with build.sdk_version in cog.yaml"
        )

    def test_removes_cog_from_constraints(self, tmp_path: Path) -> None:
        write(tmp_path, "cog<1\nrich<14\n", "pins.txt")

        found = read(tmp_path, "-c pins.txt\n")

        assert [line.name for line in found.constraints] == ["rich"]
        assert len(found.warnings) == 1


class TestPythonPackages:
    def test_reads_items_with_options(self, tmp_path: Path) -> None:
        cog_yaml = tmp_path / "cog.yaml"
        found = read_requirement_lines(
            [
                (Location(cog_yaml, 6, 7), "diffusers==0.12.1"),
                (Location(cog_yaml, 7, 7), f"torch==2.1.0 --extra-index-url={PYTORCH}"),
                (Location(cog_yaml, 8, 7), "--pre"),
            ]
        )

        assert [(line.name, line.location) for line in found.requirements] == [
            ("diffusers", Location(cog_yaml, 6, 7)),
            ("torch", Location(cog_yaml, 7, 7)),
        ]
        assert (found.extra_index_urls, found.pre, found.files) == ((PYTORCH,), True, ())

    def test_locates_errors_inside_items(self, tmp_path: Path) -> None:
        cog_yaml = tmp_path / "cog.yaml"
        with pytest.raises(ConfigError) as caught:
            read_requirement_lines(
                [(Location(cog_yaml, 6, 9), "numpy"), (Location(cog_yaml, 7, 9), "torch=2.1")]
            )

        assert problems_of(caught.value) == [
            (
                "cog.yaml",
                7,
                14,
                "invalid requirement `torch=2.1`: expected semicolon (after name with no "
                "version specifier) or end",
            )
        ]

    def test_reads_nested_file_relative_to_cog_yaml(self, tmp_path: Path) -> None:
        write(tmp_path, "rich\n", "extra.txt")

        found = read_requirement_lines([(Location(tmp_path / "cog.yaml", 4, 7), "-r extra.txt")])

        assert [line.name for line in found.requirements] == ["rich"]
        assert found.files == (tmp_path / "extra.txt",)

    def test_reads_no_items(self) -> None:
        assert read_requirement_lines([]) == RequirementSet()

    def test_drops_editable_project_and_cog(self, tmp_path: Path) -> None:
        cog_yaml = tmp_path / "cog.yaml"
        found = read_requirement_lines(
            [(Location(cog_yaml, 3, 7), "-e ."), (Location(cog_yaml, 4, 7), "cog")]
        )

        assert found.requirements == ()
        assert [w.location for w in found.warnings] == [
            Location(cog_yaml, 3, 7),
            Location(cog_yaml, 4, 7),
        ]


class TestCorpus:
    def test_rejects_shell_script_with_located_errors(self, tmp_path: Path) -> None:
        path = copy_corpus("023.requirements.txt", tmp_path)

        with pytest.raises(ConfigError) as caught:
            read_requirements_file(path, tmp_path)

        name_only = "expected semicolon (after name with no version specifier) or end"
        assert problems_of(caught.value) == [
            ("requirements.txt", 1, 5, f"invalid requirement `git add .`: {name_only}"),
            ("requirements.txt", 2, 5, f"invalid requirement `git commit`: {name_only}"),
            (
                "requirements.txt",
                2,
                12,
                "unknown option -m; expected a pip requirements-file option",
            ),
            ("requirements.txt", 3, 5, f"invalid requirement `git push`: {name_only}"),
            (
                "requirements.txt",
                4,
                5,
                f"invalid requirement `cog push r8.im/bahgatai/main`: {name_only}",
            ),
        ]
        assert str(caught.value) == str(caught.value.problems[0])

    def test_reads_comment_only_file(self, tmp_path: Path) -> None:
        found = read_requirements_file(copy_corpus("034.requirements.txt", tmp_path), tmp_path)

        assert found == RequirementSet(files=(tmp_path / "requirements.txt",))

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("037.requirements.txt", ["pillow", "torch", "torchvision"]),
            ("045.requirements.txt", ["torch"]),
        ],
    )
    def test_reads_plain_files(self, tmp_path: Path, name: str, expected: list[str]) -> None:
        found = read_requirements_file(copy_corpus(name, tmp_path), tmp_path)

        assert [line.name for line in found.requirements] == expected
        assert found.warnings == ()

    def test_reads_long_file_with_extras_and_mixed_case(self, tmp_path: Path) -> None:
        found = read_requirements_file(copy_corpus("043.requirements.txt", tmp_path), tmp_path)

        names = [line.name for line in found.requirements]
        assert len(names) == 30
        assert names[8] == "sentry-sdk"
        assert found.requirements[8].requirement is not None
        assert found.requirements[8].requirement.extras == {"fastapi", "loguru"}
        assert names.count("pillow") == 2
        picked = [names[i] for i in (16, 19, 20, 25)]
        assert picked == ["opencv-python", "pyyaml", "requests", "tf-slim"]
        assert found.requirements[-1].location.line == 30


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS)).map("".join)))
def test_arbitrary_text_raises_only_config_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "-r a.txt\nfoo\n", "a.txt")
    with contextlib.suppress(ConfigError):
        read_requirement_lines([(Location(tmp_path / "cog.yaml", 2, 3), text)])
    with contextlib.suppress(ConfigError):
        read(tmp_path, text)


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURE_OK)
@given(data=st.binary())
def test_arbitrary_bytes_raise_only_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        read_requirements_file(path, tmp_path)


def test_files_included_many_times_are_read_once(tmp_path: Path) -> None:
    # Thirteen files, each including the next four times: 4**12 reads without the memo.
    for index in range(12):
        (tmp_path / f"r{index}.txt").write_text(f"-r r{index + 1}.txt\n" * 4)
    (tmp_path / "r12.txt").write_text("six\n")

    found = read_requirements_file(tmp_path / "r0.txt", tmp_path)

    assert [line.text for line in found.requirements] == ["six"]
    assert len(found.files) == 13
