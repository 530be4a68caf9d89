"""Tests for cognix.resolve.runsteps: what each cog.yaml run command becomes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cognix.errors import ConfigError, Location, Problem
from cognix.resolve.runsteps import Download, RunItem, RunPlan, ShellStep, plan_run_steps

COG_YAML = Path("cog.yaml")
CORPUS = Path(__file__).parent / "data" / "corpus"
OTHER_HINT = (
    "do this work in setup(), or replace this item in cognix.toml [run.1] with a download "
    "(url and sha256) or nixpkgs attributes"
)
PROJECT_HINT = (
    "do this work in setup(), or describe its result as a download with a sha256 "
    "in cognix.toml [run.1]"
)
RELATIVE_HINT = "write the absolute path, or `cd` to an absolute directory first in the same item"


def at(line: int, column: int = 7) -> Location:
    """Return a location in the test's cog.yaml."""
    return Location(COG_YAML, line, column)


def plan(*commands: str, project: Path | None = None) -> RunPlan:
    """Plan `commands` as run items on lines 5, 6, … of cog.yaml."""
    items = [RunItem(at(5 + offset), command) for offset, command in enumerate(commands)]
    return plan_run_steps(items, project or Path("/nonexistent-project"))


def refusals(*commands: str, project: Path | None = None) -> list[Problem]:
    """Return the problems that planning `commands` raises."""
    with pytest.raises(ConfigError) as raised:
        plan(*commands, project=project)
    return raised.value.problems


def refusal(command: str, project: Path | None = None) -> Problem:
    """Return the one problem that planning `command` raises."""
    [problem] = refusals(command, project=project)
    assert problem.location == at(5)
    return problem


def requirements(command: str) -> list[str]:
    """Return the Python requirements a command adds."""
    return [text for _, text in plan(command).python_requirements]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a project folder with a script, a requirements file, weights and a wheel."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "prepare.py").write_text("print('hi')\n")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "pkg-1.0-py3-none-any.whl").write_bytes(b"")
    for name in ("predict.py", "requirements.txt", "weights.bin", "config.yaml", "setup.sh"):
        (tmp_path / name).write_text("\n")
    return tmp_path


class TestPip:
    def test_accepts_plain_requirements_with_their_location(self) -> None:
        result = plan("pip install torch==2.1.0 'numpy<2' opencv-python")
        assert result.python_requirements == (
            (at(5), "torch==2.1.0"),
            (at(5), "numpy<2"),
            (at(5), "opencv-python"),
        )

    @pytest.mark.parametrize(
        "program",
        [
            "pip",
            "pip3",
            "pip3.11",
            "/usr/bin/pip",
            "python -m pip",
            "python3 -m pip",
            "python3.11 -m pip",
            "uv pip",
            "sudo pip",
        ],
    )
    def test_accepts_every_spelling_of_pip(self, program: str) -> None:
        assert requirements(f"{program} install einops") == ["einops"]

    def test_ignores_options_that_do_not_change_the_environment(self) -> None:
        command = "pip install -U --upgrade --no-cache-dir -q -qU --user --system x"
        assert requirements(command) == ["x"]

    def test_keeps_index_options_as_requirements_file_lines(self) -> None:
        result = plan(
            "pip install torch --extra-index-url https://download.pytorch.org/whl/cu121 "
            "-i https://pypi.example/simple -f https://x.example/links.html --pre",
            "pip install a --extra-index-url=https://download.pytorch.org/whl/cu121",
        )
        assert [line for _, line in result.pip_options] == [
            "--extra-index-url https://download.pytorch.org/whl/cu121",
            "--index-url https://pypi.example/simple",
            "--find-links https://x.example/links.html",
            "--pre",
            "--extra-index-url https://download.pytorch.org/whl/cu121",
        ]
        assert result.extra_index_urls == ("https://download.pytorch.org/whl/cu121",)
        assert result.index_urls == ("https://pypi.example/simple",)
        assert result.find_links == ("https://x.example/links.html",)

    def test_keeps_urls_vcs_and_editable_vcs_as_requirements(self) -> None:
        command = (
            "pip install git+https://h.example/a.git@v1 https://h.example/b-1.0.tar.gz "
            "'c @ https://h.example/c.whl' -e 'git+https://h.example/d#egg=d'"
        )
        assert requirements(command) == [
            "git+https://h.example/a.git@v1",
            "https://h.example/b-1.0.tar.gz",
            "c @ https://h.example/c.whl",
            "git+https://h.example/d#egg=d",
        ]

    def test_strips_the_space_a_folded_backslash_leaves(self) -> None:
        assert requirements("pip install a \\ b") == ["a", "b"]

    def test_drops_a_pip_command_that_installs_nothing_and_cache_purges(self) -> None:
        result = plan("pip install --upgrade", "pip cache purge", "python3 -m ensurepip")
        assert result.dropped == (
            (at(5), "`pip install --upgrade` names no package to install"),
            (at(6), "`pip cache purge` is not needed: no pip cache goes into the image"),
            (
                at(7),
                "`python3 -m ensurepip` is not needed: the Python environment is built from "
                "the lock",
            ),
        )

    def test_refuses_requirements_files_as_project_reads(self, project: Path) -> None:
        problem = refusal("pip install -r requirements.txt", project)
        assert problem.message == (
            "run commands execute before the project is copied in (as in Cog), so "
            "`pip install -r requirements.txt` cannot read `requirements.txt`"
        )
        assert problem.hint == "name the file in build.python_requirements instead"

    def test_refuses_a_requirements_file_at_an_absolute_path(self) -> None:
        problem = refusal("pip install -c /tmp/constraints.txt")
        assert problem.message == (
            "`pip install -c /tmp/constraints.txt` reads requirements from "
            "`/tmp/constraints.txt`, which cognix cannot see"
        )

    def test_refuses_no_deps(self) -> None:
        problem = refusal("pip install --no-deps x")
        assert problem.message == (
            "`pip install --no-deps x` uses `--no-deps`, but cognix resolves every "
            "requirement together with its dependencies"
        )
        assert problem.hint == (
            "list the package in build.python_requirements, where its dependencies are resolved"
        )

    def test_refuses_a_local_path(self) -> None:
        problem = refusal("pip install /tmp/nvdiffrast")
        assert problem.message == (
            "`pip install /tmp/nvdiffrast` installs `/tmp/nvdiffrast` from a local path, "
            "which the lock cannot pin"
        )
        assert problem.hint == (
            "name the package as a requirement from an index or as `name @ git+URL@commit`"
        )

    @pytest.mark.parametrize(
        "argument", ["x @ file:///tmp/x", "git+file:///tmp/repo", "./pkg", "pkg-1.0.whl"]
    )
    def test_refuses_other_local_forms(self, argument: str) -> None:
        assert "from a local path" in refusal(f"pip install '{argument}'").message

    def test_refuses_installing_the_project_itself(self, project: Path) -> None:
        problem = refusal('pip install -e ".[export]"', project)
        assert problem.message == (
            "run commands execute before the project is copied in (as in Cog), so "
            "`pip install -e .[export]` cannot read `.`"
        )
        assert problem.hint == (
            "list the project's dependencies in build.python_requirements; "
            "the project itself is copied to /src"
        )

    def test_refuses_a_wheel_of_the_project(self, project: Path) -> None:
        problem = refusal("pip install dist/pkg-1.0-py3-none-any.whl", project)
        assert problem.message.endswith("cannot read `dist/pkg-1.0-py3-none-any.whl`")
        assert problem.hint == (
            "list the file in the requirements file that build.python_requirements names"
        )

    def test_refuses_an_invalid_requirement(self) -> None:
        problem = refusal("pip install 'torch==='")
        assert problem.message == (
            "`pip install torch===` names `torch===`, which is not a valid Python requirement"
        )

    def test_refuses_an_unknown_option(self) -> None:
        problem = refusal("pip install --target /opt/x y")
        assert problem.message == (
            "`pip install --target /opt/x y` uses the pip option `--target`, "
            "which cognix does not support"
        )
        assert problem.hint == "drop the option, or replace this item in cognix.toml [run.1]"

    def test_names_pip_in_option_messages_whatever_runs_it(self) -> None:
        problem = refusal("python3 -m pip install --prefix /opt x")
        assert "uses the pip option `--prefix`" in problem.message

    def test_refuses_an_option_without_its_value(self) -> None:
        problem = refusal("pip install x --extra-index-url")
        assert problem.message == (
            "`pip install x --extra-index-url` ends where the option `--extra-index-url` "
            "needs a value"
        )

    @pytest.mark.parametrize("command", ["pip uninstall -y x", "pip download x", "uv add x"])
    def test_refuses_other_pip_commands(self, command: str) -> None:
        assert refusal(command).message.startswith(f"cognix cannot run `{command}`")


class TestApt:
    def test_accepts_install_with_its_usual_flags(self) -> None:
        result = plan(
            "DEBIAN_FRONTEND=noninteractive apt-get install -qqy --no-install-recommends "
            "ffmpeg libgl1 g++",
            "apt install -y libglib2.0-0",
        )
        assert result.apt_packages == (
            (at(5), "ffmpeg"),
            (at(5), "libgl1"),
            (at(5), "g++"),
            (at(6), "libglib2.0-0"),
        )

    def test_keeps_only_the_name_of_a_versioned_or_qualified_package(self) -> None:
        result = plan("apt-get -y install ffmpeg=7:4.4.2-0ubuntu0.22.04.1 libc6:amd64")
        assert [name for _, name in result.apt_packages] == ["ffmpeg", "libc6"]

    def test_upgrade_of_named_packages_installs_them(self) -> None:
        result = plan("apt upgrade --no-install-recommends -y openssl tar")
        assert [name for _, name in result.apt_packages] == ["openssl", "tar"]

    def test_drops_update_clean_and_bare_upgrade(self) -> None:
        commands = "apt-get update && apt-get install -y git|apt update -y|apt-get clean|"
        result = plan(*(commands + "apt-get upgrade -y|rm -rf /var/lib/apt/lists/*").split("|"))
        assert result.dropped == (
            (
                at(5),
                "`apt-get update` is not needed: system packages come from the pinned "
                "nixpkgs, not apt",
            ),
            (
                at(6),
                "`apt update -y` is not needed: system packages come from the pinned "
                "nixpkgs, not apt",
            ),
            (at(7), "`apt-get clean` is not needed: no apt files go into the image"),
            (
                at(8),
                "`apt-get upgrade -y` is not needed: the pinned nixpkgs fixes every system "
                "package version",
            ),
            (
                at(9),
                "`rm -rf /var/lib/apt/lists/*` is not needed: no apt or pip caches go into "
                "the image",
            ),
        )

    def test_refuses_removing_packages(self) -> None:
        problem = refusal("apt-get remove -y x")
        assert problem.message == (
            "`apt-get remove -y x` removes system packages, which cognix cannot do"
        )

    def test_refuses_a_local_deb(self) -> None:
        problem = refusal("apt-get install -y /tmp/x.deb")
        assert problem.message == (
            "`apt-get install -y /tmp/x.deb` installs `/tmp/x.deb` from a local file, "
            "which cognix cannot pin"
        )
        assert problem.hint == (
            "replace this item in cognix.toml [run.1] with the nixpkgs attributes for the package"
        )

    def test_refuses_a_name_that_is_not_a_package(self) -> None:
        problem = refusal("apt-get install -y Foo_Bar")
        assert problem.message == (
            "`apt-get install -y Foo_Bar` names `Foo_Bar`, which is not an apt package name"
        )

    def test_refuses_an_unknown_apt_option(self) -> None:
        problem = refusal("apt-get install -t jammy-backports x")
        assert problem.message == (
            "`apt-get install -t jammy-backports x` uses the apt-get option `-t`, "
            "which cognix does not support"
        )

    @pytest.mark.parametrize(
        "command",
        [
            "add-apt-repository -y ppa:git-core/ppa",
            "apt-add-repository universe",
            "apt-key add /tmp/key.gpg",
        ],
    )
    def test_refuses_apt_repositories(self, command: str) -> None:
        problem = refusal(command)
        assert problem.message == (
            f"`{command}` adds an apt repository, but cognix takes system packages from "
            "nixpkgs, not apt"
        )
        assert problem.hint == (
            "replace this item in cognix.toml [run.1] with the nixpkgs attributes that "
            "provide what you need from that repository"
        )


class TestDownloads:
    def test_curl_to_a_file_keeps_the_mode_of_a_following_chmod(self) -> None:
        command = (
            "curl -o /usr/local/bin/pget -L https://h.example/pget && chmod +x /usr/local/bin/pget"
        )
        assert plan(command) == RunPlan(
            downloads=(Download("https://h.example/pget", "/usr/local/bin/pget", "0755", at(5)),)
        )

    def test_chmod_in_a_later_item_sets_the_mode_and_other_files_stay_steps(self) -> None:
        result = plan(
            "curl -fsSLo /opt/tool https://h.example/tool",
            "chmod 750 /opt/tool /opt/other",
            "chmod u+x,go-r /opt/tool",
        )
        assert result.downloads == (
            Download("https://h.example/tool", "/opt/tool", "0710", at(5)),
        )
        assert result.shell_steps == (ShellStep(("chmod", "750", "/opt/other"), at(6)),)

    @pytest.mark.parametrize(
        ("mode", "expected"),
        [
            ("+x", "0755"),
            ("a+x", "0755"),
            ("u+x", "0744"),
            ("=r", "0444"),
            ("+w", "0644"),
            ("u=rwx,g=rx,o=", "0750"),
            ("4755", "4755"),
            ("600", "0600"),
        ],
    )
    def test_chmod_modes_follow_chmod_with_a_022_umask(self, mode: str, expected: str) -> None:
        result = plan(f"curl -o /x https://h.example/x && chmod {mode} /x")
        assert [download.mode for download in result.downloads] == [expected]

    def test_curl_remote_name_and_redirect(self) -> None:
        result = plan(
            "cd /opt && curl -L -O https://h.example/a/model.bin?x=1",
            "curl -sL https://h.example/b.txt > /etc/b.txt",
        )
        assert [(d.url, d.dest) for d in result.downloads] == [
            ("https://h.example/a/model.bin?x=1", "/opt/model.bin"),
            ("https://h.example/b.txt", "/etc/b.txt"),
        ]

    def test_wget_output_document_and_directory_prefix(self) -> None:
        result = plan(
            "wget -q -O /w/a.pth https://h.example/a.pth",
            "wget --quiet --output-document=/w/b.pth https://h.example/b.pth",
            "wget -c 'https://h.example/c.pth' -P /w/models/",
            "wget -nv https://h.example/d.pth -P ~/models",
        )
        assert [d.dest for d in result.downloads] == [
            "/w/a.pth",
            "/w/b.pth",
            "/w/models/c.pth",
            "/root/models/d.pth",
        ]

    def test_pget_url_and_destination(self) -> None:
        result = plan("pget -f https://h.example/w.tar /src/w.tar")
        assert result.downloads == (
            Download("https://h.example/w.tar", "/src/w.tar", None, at(5)),
        )

    def test_refuses_pget_extract(self) -> None:
        problem = refusal("pget -x https://h.example/w.tar /w")
        assert problem.message == (
            "`pget -x https://h.example/w.tar /w` unpacks an archive, which a hashed download "
            "cannot express"
        )
        assert problem.hint == (
            "describe the archive as a download with a sha256 in cognix.toml [run.1], "
            "and unpack it in setup()"
        )

    def test_refuses_a_relative_destination(self) -> None:
        problem = refusal("wget https://h.example/x.bin")
        assert problem.message == (
            "`wget https://h.example/x.bin` uses the relative path `x.bin`, but the directory "
            "run commands start in is not fixed by cog.yaml"
        )
        assert problem.hint == RELATIVE_HINT

    def test_refuses_a_download_to_standard_output(self) -> None:
        problem = refusal("curl -L https://h.example/x")
        assert problem.message == (
            "`curl -L https://h.example/x` writes the download to standard output, not to a file"
        )
        assert problem.hint == (
            "write it as `curl -L -o /absolute/path URL`, or describe it as a download with "
            "a sha256 in cognix.toml [run.1]"
        )

    @pytest.mark.parametrize(
        "command",
        ["curl -o /x file:///etc/passwd", "wget -O /x a b", "curl -o /x", "pget https://h/x"],
    )
    def test_refuses_anything_but_one_url_and_a_destination(self, command: str) -> None:
        assert refusal(command).message == (
            f"`{command}` does not name one http(s) URL and where to save it"
        )

    def test_refuses_a_url_without_a_file_name(self) -> None:
        problem = refusal("wget -P /w https://h.example/")
        assert problem.message == (
            "`wget -P /w https://h.example/` saves under a name taken from the URL, "
            "and `https://h.example/` has none"
        )

    def test_refuses_headers_as_an_unknown_option(self) -> None:
        problem = refusal("curl -H 'Authorization: x' -o /x https://h.example/x")
        assert "uses the curl option `-H`" in problem.message

    @pytest.mark.parametrize(
        "command", ["curl -fsSL https://h.example/install.sh | sh", "wget -qO- https://h/x | bash"]
    )
    def test_refuses_a_script_piped_into_a_shell(self, command: str) -> None:
        problem = refusal(command)
        assert problem.message == (
            f"`{command}` runs a script fetched from the network, which is not reproducible"
        )
        assert problem.hint == (
            "replace this item in cognix.toml [run.1] with the nixpkgs attributes that provide "
            "the tool, or do this work in setup()"
        )


class TestShellSteps:
    def test_accepts_filesystem_commands_as_argv(self) -> None:
        result = plan(
            "mkdir -p /models",
            "ln -sf /usr/bin/python3 /usr/local/bin/python",
            "cp /etc/a /etc/b && mv /etc/b /etc/c; rm -f /etc/c; touch /tmp/ready",
            "sed -i 's/a/b/' /etc/conf",
        )
        assert result.shell_steps == (
            ShellStep(("mkdir", "-p", "/models"), at(5)),
            ShellStep(("ln", "-sf", "/usr/bin/python3", "/usr/local/bin/python"), at(6)),
            ShellStep(("cp", "/etc/a", "/etc/b"), at(7)),
            ShellStep(("mv", "/etc/b", "/etc/c"), at(7)),
            ShellStep(("rm", "-f", "/etc/c"), at(7)),
            ShellStep(("touch", "/tmp/ready"), at(7)),
            ShellStep(("sed", "-i", "s/a/b/", "/etc/conf"), at(8)),
        )

    def test_echo_into_a_file_records_where_its_output_goes(self) -> None:
        result = plan("echo 'export A=1' >> ~/.bashrc", "echo hi > /etc/motd", "echo building")
        assert result.shell_steps == (
            ShellStep(("echo", "export A=1"), at(5), None, "/root/.bashrc", True),
            ShellStep(("echo", "hi"), at(6), None, "/etc/motd", False),
        )
        assert result.dropped == (
            (at(7), "`echo building` only prints, so it has no effect on the image"),
        )

    def test_cd_to_an_absolute_directory_allows_relative_paths(self) -> None:
        result = plan("cd /opt/app && mkdir -p cache && cd sub && touch ok")
        assert result.shell_steps == (
            ShellStep(("mkdir", "-p", "cache"), at(5), "/opt/app"),
            ShellStep(("touch", "ok"), at(5), "/opt/app/sub"),
        )

    def test_refuses_a_relative_cd(self) -> None:
        problem = refusal("cd build")
        assert problem.message == (
            "`cd build` uses the relative path `build`, but the directory run commands start "
            "in is not fixed by cog.yaml"
        )

    def test_refuses_a_relative_path(self) -> None:
        problem = refusal("mkdir -p models")
        assert problem.message == (
            "`mkdir -p models` uses the relative path `models`, but the directory run "
            "commands start in is not fixed by cog.yaml"
        )
        assert problem.hint == RELATIVE_HINT

    def test_refuses_a_relative_echo_target(self) -> None:
        assert "the relative path `out.txt`" in refusal("echo x > out.txt").message

    def test_refuses_a_wildcard(self) -> None:
        problem = refusal("cp /opt/a/* /opt/b/")
        assert problem.message == (
            "`cp /opt/a/* /opt/b/` uses a wildcard in `/opt/a/*`, which cognix does not expand"
        )

    def test_refuses_sed_that_does_not_edit_in_place(self) -> None:
        assert refusal("sed s/a/b/ /etc/x").message.startswith("cognix cannot run `sed")

    def test_refuses_a_redirect_of_another_program(self) -> None:
        problem = refusal("mkdir -p /x > /tmp/log")
        assert problem.message == "`mkdir -p /x > /tmp/log` sends the output of `mkdir` to a file"

    def test_drops_variable_assignments_and_ldconfig(self) -> None:
        result = plan("export A=1 && B=2", "ldconfig")
        assert [reason for _, reason in result.dropped] == [
            "`export A=1` only sets shell variables, which do not outlast the run command",
            "`B=2` only sets shell variables, which do not outlast the run command",
            "`ldconfig` is not needed: cognix links native libraries by path",
        ]


class TestProjectReads:
    def test_refuses_a_python_script_even_when_it_is_missing(self) -> None:
        problem = refusal("python scripts/prepare.py")
        assert problem.message == (
            "run commands execute before the project is copied in (as in Cog), so "
            "`python scripts/prepare.py` cannot read `scripts/prepare.py`"
        )
        assert problem.hint == PROJECT_HINT

    @pytest.mark.parametrize(
        ("command", "path"),
        [
            ("bash setup.sh", "setup.sh"),
            ("cp weights.bin /models/", "weights.bin"),
            ("sed -i s/a/b/ config.yaml", "config.yaml"),
            ("mytool --config=config.yaml", "config.yaml"),
        ],
    )
    def test_refuses_commands_that_name_project_files(
        self, project: Path, command: str, path: str
    ) -> None:
        problem = refusal(command, project)
        assert problem.message.endswith(f"`{command}` cannot read `{path}`")
        assert problem.hint == PROJECT_HINT

    def test_a_cd_elsewhere_means_relative_words_are_not_project_files(
        self, project: Path
    ) -> None:
        result = plan("cd /opt && cp weights.bin /models/", project=project)
        assert result.shell_steps == (ShellStep(("cp", "weights.bin", "/models/"), at(5), "/opt"),)


SYNTAX_REFUSALS = {
    "echo $HOME": (
        "`echo '$HOME'` uses shell expansion (`$` or backquotes), which cognix cannot do"
    ),
    "a || b": "`a || b` uses `||`, and a build step cannot express a fallback",
    "ls | wc -l": "`ls | wc -l` pipes one program into another, which cognix cannot run",
    "sleep 1 &": "`sleep 1 &` uses `&`, which cognix cannot turn into a build step",
    "(mkdir /x)": "`( mkdir /x )` uses `(`, which cognix cannot turn into a build step",
    "mkdir /x # note": "`mkdir /x # note` contains a shell comment, which cognix does not read",
    "echo 'x": "`echo 'x` cannot be read as a shell command (no closing quotation)",
    "mkdir /a\nmkdir /b": (
        "`mkdir /a …` spans several lines, which Cog does not allow in a run command"
    ),
}


class TestRefusals:
    def test_refuses_git_clone(self) -> None:
        problem = refusal("git clone https://h.example/r.git /tmp/r")
        assert problem.message == (
            "`git clone https://h.example/r.git /tmp/r` clones a git repository, whose content "
            "cognix cannot pin by hash"
        )
        assert problem.hint == (
            "install Python code from git as a requirement (`name @ git+URL@commit`), describe "
            "an archive as a download with a sha256 in cognix.toml [run.1], or clone in setup()"
        )

    def test_refuses_conda(self) -> None:
        problem = refusal("conda install -y -c conda-forge x")
        assert problem.message == (
            "`conda install -y -c conda-forge x` uses conda, which cognix does not support"
        )
        assert problem.hint == (
            "list Python packages in build.python_requirements and other tools as nixpkgs "
            "attributes in cognix.toml [run.1]"
        )

    def test_refuses_any_other_program(self) -> None:
        problem = refusal("yolo export model=x.pt format=ncnn")
        assert problem.message == (
            "cognix cannot run `yolo export model=x.pt format=ncnn`: only pip, apt, downloads "
            "and filesystem commands become build steps"
        )
        assert problem.hint == OTHER_HINT

    @pytest.mark.parametrize(("command", "message"), SYNTAX_REFUSALS.items())
    def test_refuses_shell_syntax_it_cannot_follow(self, command: str, message: str) -> None:
        assert refusal(command).message == message

    def test_ignores_output_sent_to_dev_null(self) -> None:
        result = plan("pip install x > /dev/null", "pip install y 2>/dev/null")
        assert [text for _, text in result.python_requirements] == ["x", "y"]

    def test_refuses_a_numbered_stream_sent_to_a_file(self) -> None:
        problem = refusal("mkdir -p /x 2> /tmp/err")
        assert problem.message == (
            "`mkdir -p /x 2 > /tmp/err` uses `>`, which cognix cannot turn into a build step"
        )

    def test_accepts_the_final_new_line_of_a_block_scalar(self) -> None:
        assert plan("mkdir -p /models\n").shell_steps == (
            ShellStep(("mkdir", "-p", "/models"), at(5)),
        )

    def test_keeps_a_hash_inside_a_word(self) -> None:
        assert requirements("pip install git+https://h.example/r#egg=r") == [
            "git+https://h.example/r#egg=r"
        ]

    def test_refuses_a_secret_mount_whatever_the_command(self) -> None:
        items = [RunItem(at(5), "mkdir -p /models", ("secret",))]
        with pytest.raises(ConfigError) as raised:
            plan_run_steps(items, Path("/nonexistent-project"))
        [problem] = raised.value.problems
        assert problem.message == (
            "a secret mount cannot be reproduced without putting the secret into the build's "
            "inputs, so `mkdir -p /models` is refused"
        )

    def test_reports_every_refusal_together_naming_each_items_table(self) -> None:
        problems = refusals("mkdir -p /ok", "yolo a", "pip install x", "git clone u /t && yolo b")
        assert [problem.location.line for problem in problems] == [6, 8, 8]
        assert problems[0].message.startswith("cognix cannot run `yolo a`:")
        assert problems[1].message.startswith("`git clone u /t` clones a git repository")
        assert problems[2].message.startswith("cognix cannot run `yolo b`:")
        assert "cognix.toml [run.2]" in (problems[0].hint or "")
        assert "cognix.toml [run.4]" in (problems[1].hint or "")

    def test_shortens_a_long_command_in_messages(self) -> None:
        problem = refusal("yolo " + "x" * 100)
        assert problem.message.startswith("cognix cannot run `yolo " + "x" * 66 + "…`:")

    def test_empty_command_is_dropped(self) -> None:
        assert plan("  ").dropped == ((at(5), "the run command is empty, so it does nothing"),)


# The two shared cases, with the run items at their places in each case's cog.yaml.
CASE_05 = """\
build:
  python_version: "3.11"
  run:
    - command: pip install private-package==1.0
      mounts:
        - type: secret
          id: pip
          target: /etc/pip.conf
    - command: mkdir -p /models
predict: "predict.py:Predictor"
"""
CASE_10 = """\
build:
  python_version: "3.11"
  run:
    - "python scripts/prepare.py"
predict: "predict.py:Predictor"
"""


def case_item(text: str, command: str, mounts: tuple[str, ...] = ()) -> RunItem:
    """Return the run item `command` as it stands in a case's cog.yaml `text`."""
    for number, line in enumerate(text.splitlines(), start=1):
        start = line.find(command)
        if start >= 0:
            # A quoted scalar starts at its opening quote.
            column = start if line[start - 1] == '"' else start + 1
            return RunItem(at(number, column), command, mounts)
    raise AssertionError(command)


def test_case_05_refuses_the_secret_mount_on_line_4(tmp_path: Path) -> None:
    items = [
        case_item(CASE_05, "pip install private-package==1.0", ("secret",)),
        case_item(CASE_05, "mkdir -p /models"),
    ]
    assert [item.location for item in items] == [at(4, 16), at(9, 16)]
    with pytest.raises(ConfigError) as raised:
        plan_run_steps(items, tmp_path)
    assert raised.value.problems == [
        Problem(
            at(4, 16),
            "a secret mount cannot be reproduced without putting the secret into the build's "
            "inputs, so `pip install private-package==1.0` is refused",
            "put a private package index in cognix.toml (its credentials come from the "
            "environment at lock time), or do this work in setup()",
        )
    ]


def test_case_05_accepts_the_mkdir_alone_as_a_shell_step(tmp_path: Path) -> None:
    item = case_item(CASE_05, "mkdir -p /models")
    assert plan_run_steps([item], tmp_path) == RunPlan(
        shell_steps=(ShellStep(("mkdir", "-p", "/models"), at(9, 16)),)
    )


def test_case_10_refuses_the_project_script_on_line_4(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(CASE_10)
    (tmp_path / "predict.py").write_text("\n")
    item = case_item(CASE_10, "python scripts/prepare.py")
    with pytest.raises(ConfigError) as raised:
        plan_run_steps([item], tmp_path)
    assert raised.value.problems == [Problem(at(4, 7), PROJECT_READ_10, PROJECT_HINT)]
    assert str(raised.value).startswith("cog.yaml:4:7: run commands execute before")


PROJECT_READ_10 = (
    "run commands execute before the project is copied in (as in Cog), so "
    "`python scripts/prepare.py` cannot read `scripts/prepare.py`"
)


# What every run item of the corpus (tests/data/corpus) must become, written by hand: "pip …"
# for requirements, "pip-option …", "apt …", "download DEST MODE URL", "shell ARGV", "dropped",
# in that order; "refused: " and a part of the message for a refusal. 009.yaml:50 is not a run
# item: YAML reads it as a mapping, which the config layer reports.
A = "https://files.example.com/artifacts/"
PT = "https://download.pytorch.org/whl/"
PGET = f"download /usr/local/bin/pget 0755 {A}pget_linux_x86_64"
CLONE = "refused: clones a git repository"
TORTOISE = "/root/.cache/tortoise/models/"
ESRGAN = "/root/.cache/realesrgan/"


def pips(names: str, *options: str) -> tuple[str, ...]:
    """Return the expected requirements (space-separated), then the option lines."""
    return (*(f"pip {name}" for name in names.split()), *(f"pip-option {o}" for o in options))


def apts(names: str) -> tuple[str, ...]:
    """Return the expected apt packages, given space-separated."""
    return tuple(f"apt {name}" for name in names.split())


def shell(argv: str) -> tuple[str]:
    """Return one expected shell step."""
    return (f"shell {argv}",)


def tortoise(name: str) -> tuple[str]:
    """Return the download one of 026.yaml's wget lines makes."""
    return (f"download {TORTOISE}{name} - {A}{name}",)


CORPUS_TABLE: dict[str, tuple[str, ...]] = {
    "001:5": ("refused: `add-apt-repository -y ppa:git-core/ppa` adds an apt repository",),
    "001:6": apts(
        "gcc g++ cmake aria2 git git-lfs wget libgl1 libglib2.0-0 ffmpeg libgtk2.0-0 "
        "libopenmpi-dev"
    ),
    "001:7": pips(
        "torch==2.1.0+cu121 torchvision==0.16.0+cu121 torchaudio==2.1.0+cu121 "
        "torchtext==0.16.0 torchdata==0.7.0",
        f"--extra-index-url {PT}cu121",
    ),
    "001:8": pips("huggingface_hub"),
    "001:9": pips("gradio==3.41.2"),
    "001:10": pips("opencv-python"),
    "004:29": ("dropped",),
    "004:30": shell("mkdir -p /src/models"),
    "004:31": shell("mkdir -p /src/data"),
    "004:32": shell("mkdir -p /src/logs"),
    "004:33": shell("mkdir -p /src/policies"),
    "005:13": ("dropped",),
    "005:14": apts(
        "gcc git zip unzip wget curl htop libgl1 libglib2.0-0 libpython3-dev gnupg g++ "
        "libusb-1.0-0 libsm6"
    ),
    "005:15": apts("openssl tar"),
    "005:16": pips("pip wheel"),
    "005:17": ("refused: cannot read `.`",),
    "005:18": ("refused: uses `||`",),
    "005:19": ("refused: cognix cannot run `yolo export",),
    "005:20": pips("paddlepaddle>=2.6.0 x2paddle"),
    "005:21": pips("numpy==1.23.5"),
    "006:33": (f"download /usr/local/bin/pget 0755 {A}pget",),
    "009:46": (PGET,),
    "009:47": ("dropped",),
    "009:48": pips("pip torch numpy torchvision"),
    "013:30": shell("echo export ATTN_BACKEND=xformers >> /root/.bashrc"),
    "013:31": shell("echo export CUDA_HOME=/usr/local/cuda >> /root/.bashrc"),
    "013:32": shell("echo export TORCH_CUDA_ARCH_LIST='7.0;7.5;8.0;8.6+PTX' >> /root/.bashrc"),
    "013:34": pips("pip"),
    "013:36": pips("torch==2.1.2+cu118", f"--extra-index-url {PT}cu118"),
    "013:37": pips("torchvision==0.16.2+cu118", f"--extra-index-url {PT}cu118"),
    "013:38": pips("xformers==0.0.22.post7", f"--extra-index-url {PT}cu118"),
    "013:39": pips("spconv-cu118"),
    "013:41": pips("numpy scipy pillow"),
    "013:42": pips("imageio imageio-ffmpeg tqdm easydict"),
    "013:43": pips("rembg onnxruntime"),
    "013:44": pips("trimesh xatlas pyvista pymeshfix"),
    "013:45": pips("igraph transformers huggingface_hub"),
    "013:47": pips(f"git+{A}utils3d.git@9a4eb15e4021b67b12c460c7057d642626897ec8"),
    "013:49": pips("kaolin", f"--find-links {A}torch-2.1.2_cu118.html"),
    "013:51": (CLONE, "refused: installs `/tmp/nvdiffrast` from a local path"),
    "013:53": (CLONE,),
    "013:54": ("refused: python setup.py install`: only pip, apt, downloads",),
    "017:12": pips("transformers"),
    "017:13": pips("accelerate"),
    "017:14": pips("bitsandbytes"),
    "019:5": pips(
        "pytorch-lightning==2.1.2 einops omegaconf torchmetrics webdataset accelerate "
        "tensorboard PyMCubes trimesh rembg transformers diffusers==0.20.2 bitsandbytes "
        f"imageio[ffmpeg] xatlas plyfile git+{A}nvdiffrast ninja torchvision"
    ),
    "019:8": (CLONE,),
    "025:17": pips("triton"),
    "026:60": pips(f"git+{A}cog#egg=TorToiSe"),
    "026:61": pips("tokenizers==0.12.1 transformers==4.19.0"),
    "026:62": shell(f"mkdir -p {TORTOISE}"),
    "026:63": tortoise("autoregressive.pth"),
    "026:64": tortoise("classifier.pth"),
    "026:65": tortoise("clvp2.pth"),
    "026:66": tortoise("cvvp.pth"),
    "026:67": tortoise("diffusion_decoder.pth"),
    "026:68": tortoise("vocoder.pth"),
    "026:69": tortoise("rlg_auto.pth"),
    "026:70": tortoise("rlg_diffuser.pth"),
    "027:99": (PGET,),
    "027:100": pips("onnxruntime-gpu", f"--extra-index-url {A}simple"),
    "028:20": (*apts("software-properties-common"), "dropped"),
    "028:21": apts("ffmpeg"),
    "029:11": pips("torch==1.10.0+cu113", f"--find-links {PT}torch_stable.html"),
    "032:24": pips("dlib"),
    "040:26": pips("openai-whisper"),
    "042:4": ("refused: a secret mount cannot be reproduced",),
    "042:13": ("refused: a secret mount cannot be reproduced",),
    "046:58": (PGET,),
    "046:59": pips(f"git+{A}diffusers.git@flux-inpaint"),
    "047:21": pips("basicsr"),
    "047:22": pips("gfpgan"),
    "047:23": (
        f"download {ESRGAN}RealESRGAN_x4plus.pth - {A}RealESRGAN_x4plus.pth",
        f"download {ESRGAN}GFPGANv1.3.pth - {A}GFPGANv1.3.pth",
        "shell mkdir -p /root/.cache/realesrgan",
    ),
}


def corpus_run_items() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Return every run item of the corpus files YAML can read, keyed by file:line."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for path in sorted(CORPUS.glob("*.yaml")):
        try:
            root = yaml.compose(path.read_text())
        except yaml.YAMLError:
            continue
        build = _child(root, "build")
        for key in ("run", "pre_install"):
            for node in getattr(_child(build, key), "value", []):
                command, mounts = _command(node)
                if command is not None:
                    found[f"{path.stem}:{command.start_mark.line + 1}"] = (command.value, mounts)
    return found


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((value for name, value in node.value if name.value == key), None)
    return None


def _command(node: yaml.Node) -> tuple[yaml.Node | None, tuple[str, ...]]:
    if isinstance(node, yaml.ScalarNode):
        return node, ()
    mounts = getattr(_child(node, "mounts"), "value", [])
    return _child(node, "command"), tuple(getattr(_child(m, "type"), "value", "") for m in mounts)


CORPUS_ITEMS = corpus_run_items()


def summarize(command: str, mounts: tuple[str, ...]) -> tuple[str, ...]:
    """Return what one run command becomes, in the notation of CORPUS_TABLE."""
    try:
        result = plan_run_steps([RunItem(at(1), command, mounts)], CORPUS)
    except ConfigError as error:
        return tuple(f"refused: {problem.message}" for problem in error.problems)
    redirect = {True: " >> ", False: " > "}
    return (
        *(f"pip {text}" for _, text in result.python_requirements),
        *(f"pip-option {line}" for _, line in result.pip_options),
        *(f"apt {name}" for _, name in result.apt_packages),
        *(f"download {d.dest} {d.mode or '-'} {d.url}" for d in result.downloads),
        *(
            f"shell {' '.join(s.argv)}" + (redirect[s.append] + s.stdout if s.stdout else "")
            for s in result.shell_steps
        ),
        *("dropped" for _ in result.dropped),
    )


def test_corpus_table_lists_every_run_command_of_the_corpus() -> None:
    assert sorted(CORPUS_TABLE) == sorted(CORPUS_ITEMS)


@pytest.mark.parametrize("where", list(CORPUS_TABLE))
def test_corpus_run_command(where: str) -> None:
    actual = summarize(*CORPUS_ITEMS[where])
    expected = CORPUS_TABLE[where]
    assert len(actual) == len(expected), actual
    for got, want in zip(actual, expected, strict=True):
        if want.startswith("refused: "):
            assert got.startswith("refused: ")
            assert want.removeprefix("refused: ") in got
        else:
            assert got == want


WORDS = (
    "pip install -r -e . apt-get -y update curl -o -O wget -P pget -x https://h.example/f /abs/f"
    " rel ~/x chmod +x cd mkdir -p sed -i echo python -m git clone && ; || | > >> & ( ' \" \\ $X"
    " # A=1 sudo --no-deps"
)
SHELL_WORDS = st.sampled_from([*WORDS.split(), "x @ file:/y"])


@settings(max_examples=300, deadline=None)
@given(
    command=st.one_of(st.text(), st.lists(SHELL_WORDS, max_size=10).map(" ".join)),
    mounts=st.lists(st.sampled_from(["secret", "cache", "ssh"]), max_size=2).map(tuple),
)
def test_any_command_gives_a_plan_or_a_config_error(command: str, mounts: tuple[str, ...]) -> None:
    try:
        result = plan_run_steps([RunItem(at(5), command, mounts)], Path(__file__).parent)
    except ConfigError as error:
        for problem in error.problems:
            assert problem.location == at(5)
            assert problem.message[0] == "`" or problem.message[0].islower()
            assert problem.hint
    else:
        assert isinstance(result, RunPlan)
        assert "secret" not in mounts
