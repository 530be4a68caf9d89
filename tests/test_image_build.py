"""Building the image stream script with the real Nix, on small hand-written flakes.

No nixpkgs is needed except where its absence is the point: these flakes use
`builtins.derivation` with the host's /bin/sh (Debian's Nix builds without a sandbox).
"""

from __future__ import annotations

import json
import shutil
import socket
import uuid
from pathlib import Path

import pytest

from cognix import external
from cognix.cli import _print_error
from cognix.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_TOOL_MISSING, CognixError
from cognix.image import build_image_script, export_image
from cognix.image.nix_build import flake_reference, newer_version
from cognix.lock import read_lock_info
from cognix.resolve.pins import known_pins

from conftest import EXAMPLES, CliResult, DockerArchive, copy_project

needs_nix = pytest.mark.skipif(
    external.find_program_or_none("nix") is None, reason="nix is not installed"
)
# cache.nixos.org is not reachable from every machine that runs these: do not wait for it.
OFFLINE = (("substituters", ""), ("download-attempts", "1"), ("connect-timeout", "5"))

BOOM_FLAKE = """{
  outputs = { self }: {
    packages.x86_64-linux.image = builtins.derivation {
      name = "boom";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "echo NONCE; echo starting; echo boom >&2; exit 1" ];
    };
  };
}
"""
# A stand-in for streamLayeredImage: a script that writes a docker-archive to stdout.
STREAM_FLAKE = """{
  outputs = { self }: {
    packages.x86_64-linux.image = builtins.derivation {
      name = "stream-test-image";
      system = "x86_64-linux";
      builder = "/bin/sh";
      nonce = "NONCE";
      archive = ./image.tar;
      args = [ "-c" ''
        echo "Creating the stream script"
        printf '#!/bin/sh\\nexec /bin/cat %s\\n' "$archive" > "$out"
        /bin/chmod 0555 "$out"
      '' ];
    };
  };
}
"""
GIT_FLAKE = """{
  inputs.src = { url = "git+https://github.com/NixOS/nixpkgs?ref=master"; flake = false; };
  outputs = { self, src }: { packages.x86_64-linux.image = src; };
}
"""
NIXPKGS_FLAKE = """{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/REV";
  outputs = { self, nixpkgs }: {
    packages.x86_64-linux.image = nixpkgs.legacyPackages.x86_64-linux.hello;
  };
}
"""


def write_flake(directory: Path, text: str) -> Path:
    """Write `flake.nix` with a fresh nonce, so that Nix really builds every time."""
    directory.mkdir(exist_ok=True)
    (directory / "flake.nix").write_text(text.replace("NONCE", uuid.uuid4().hex))
    return directory


def printed(error: CognixError, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Return the lines `cognix` prints for `error`."""
    capsys.readouterr()
    _print_error(error)
    return capsys.readouterr().err.splitlines()


def github_reachable() -> bool:
    try:
        socket.create_connection(("api.github.com", 443), timeout=3).close()
    except OSError:
        return False
    return True


def test_flake_reference_is_a_path_flake(tmp_path: Path) -> None:
    folder = tmp_path / "my-model_1.0+x"
    folder.mkdir()
    assert flake_reference(folder) == f"path:{tmp_path}/my-model_1.0+x"


@pytest.mark.parametrize("name", ["my model", "a#1", "q?z", "p%20c", "ünï"])
def test_a_folder_nix_cannot_read_as_a_url_is_built_from_inside(tmp_path: Path, name: str) -> None:
    # Nix 2.8 reads `path:/x/my%20model` as the folder `my%20model`, not `my model`.
    folder = tmp_path / name
    folder.mkdir()
    assert flake_reference(folder) == "path:."


@needs_nix
@pytest.mark.parametrize("name", ["my model#1", "p%20c ü?"])
def test_builds_in_a_folder_with_url_characters(
    tmp_path: Path, docker_archive: DockerArchive, name: str
) -> None:
    project = write_flake(tmp_path / name, STREAM_FLAKE)
    (project / "image.tar").write_bytes(docker_archive.path.read_bytes())

    script = build_image_script(project, nix_options=OFFLINE, progress=lambda line: None)

    assert script.name.endswith("-stream-test-image")


@needs_nix
def test_evaluation_error_in_a_folder_with_a_space_says_where_to_run_nix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_flake(tmp_path / "my model", "{ outputs = { self }: { }; }")
    with pytest.raises(CognixError) as caught:
        build_image_script(project, nix_options=OFFLINE, progress=lambda line: None)
    lines = printed(caught.value, capsys)
    assert lines[0] == f"error: nix build path:.#image in {project} failed; the end of its log:"
    assert lines[-2].startswith("  error: flake 'path:.' does not provide attribute")
    assert lines[-1] == (
        f"  hint: `cd '{project}' && nix --extra-experimental-features 'nix-command flakes' "
        "build --show-trace 'path:.#image'` shows where the evaluation failed"
    )


def test_build_without_nix_exits_3(
    cognix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result: CliResult = cognix(
        "build", "--project", str(tmp_path), "--output", f"docker-archive:{tmp_path}/i.tar"
    )
    assert result.code == EXIT_TOOL_MISSING
    assert result.stderr.splitlines() == [
        "error: nix was not found on PATH",
        "  hint: install Nix from https://nixos.org/download (on Debian or Ubuntu: "
        "`apt-get install nix-bin`); cognix turns on the `nix-command` and `flakes` "
        "experimental features itself",
    ]


def test_too_old_nix_is_told_the_newest_pin_it_can_evaluate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "nix"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'nix (Nix) 2.8.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    fitting = [pin for pin in known_pins() if "3.11" in pin.pythons
               and newer_version(pin.min_nix, "2.8.0") == "2.8.0"]  # fmt: skip

    with pytest.raises(CognixError) as caught:
        build_image_script(tmp_path, minimum_nix="2.18", python_minor="3.11")

    newest = fitting[-1]
    assert caught.value.hint == (
        "install Nix 2.18 or newer from https://nixos.org/download (distribution packages may "
        f'be older), or set [nixpkgs] rev = "{newest.rev}" ({newest.branch}, the newest pin '
        "with Python 3.11 that Nix 2.8.0 evaluates) in cognix.toml and run `cognix lock`"
    )


def test_too_old_nix_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An old Nix cannot be installed beside the new one here: a program that answers as it.
    fake = tmp_path / "bin" / "nix"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'nix (Nix) 2.3.16'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(CognixError) as caught:
        build_image_script(tmp_path)
    assert caught.value.exit_code == EXIT_TOOL_MISSING
    assert caught.value.message == "Nix 2.3.16 is too old: cognix needs Nix 2.4 or newer"
    assert caught.value.hint == (
        "install Nix 2.4 or newer from https://nixos.org/download (distribution packages may "
        "be older), or choose an older nixpkgs pin with cognix.toml's [nixpkgs] rev and run "
        "`cognix lock`"
    )


@needs_nix
def test_unreachable_nixpkgs_names_what_could_not_be_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if github_reachable():
        pytest.skip("GitHub is reachable here; this test needs it not to be")
    pin = known_pins()[0]
    project = write_flake(tmp_path / "project", NIXPKGS_FLAKE.replace("REV", pin.rev))
    # The lock as cognix writes it, so Nix goes straight to fetching the pinned revision.
    node = {"owner": "NixOS", "repo": "nixpkgs", "rev": pin.rev, "type": "github"}
    locked = {**node, "lastModified": pin.last_modified, "narHash": pin.nar_hash}
    lock = {
        "nodes": {
            "nixpkgs": {"locked": locked, "original": node},
            "root": {"inputs": {"nixpkgs": "nixpkgs"}},
        },
        "root": "root",
        "version": 7,
    }
    (project / "flake.lock").write_text(json.dumps(lock))
    relayed: list[str] = []

    with pytest.raises(CognixError) as caught:
        build_image_script(project, nix_options=OFFLINE[1:], progress=relayed.append)
    lines = printed(caught.value, capsys)
    url = f"https://api.github.com/repos/NixOS/nixpkgs/tarball/{pin.rev}"
    assert caught.value.exit_code == EXIT_FAILED
    assert lines[0].startswith(f"error: Nix could not fetch {url} (")
    assert lines[1].startswith("  hint: check the network and proxy")
    assert "--nix-option substituters" in lines[1]
    assert len(lines) == 2
    assert any(url in line for line in relayed)


@needs_nix
def test_unreachable_git_input_names_its_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if github_reachable() or shutil.which("git") is None:
        pytest.skip("needs git, and GitHub not reachable")
    project = write_flake(tmp_path, GIT_FLAKE)
    with pytest.raises(CognixError) as caught:
        build_image_script(project, nix_options=OFFLINE, progress=lambda line: None)
    lines = printed(caught.value, capsys)
    assert caught.value.exit_code == EXIT_FAILED
    assert lines[0].startswith("error: Nix could not fetch https://github.com/NixOS/nixpkgs/ (")


@needs_nix
def test_evaluation_error_hints_at_show_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_flake(tmp_path, "{ outputs = { self }: { }; }")
    with pytest.raises(CognixError) as caught:
        build_image_script(project, nix_options=OFFLINE, progress=lambda line: None)
    lines = printed(caught.value, capsys)
    reference = flake_reference(project)
    assert lines[-2].startswith(f"  error: flake '{reference}' does not provide attribute")
    assert lines[-1] == (
        "  hint: `nix --extra-experimental-features 'nix-command flakes' build --show-trace "
        f"'{reference}#image'` shows where the evaluation failed"
    )


@needs_nix
def test_build_failure_shows_the_end_of_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_flake(tmp_path, BOOM_FLAKE)
    relayed: list[str] = []

    with pytest.raises(CognixError) as caught:
        build_image_script(project, nix_options=OFFLINE, progress=relayed.append)
    lines = printed(caught.value, capsys)
    assert caught.value.exit_code == EXIT_FAILED
    assert (
        lines[0]
        == f"error: nix build {flake_reference(project)}#image failed; the end of its log:"
    )
    assert lines[-4:-1] == ["  boom> starting", "  boom> boom", lines[-2]]
    assert lines[-2].startswith("  error: builder for '/nix/store/")
    assert lines[-2].endswith("-boom.drv' failed with exit code 1")
    assert lines[-1].startswith("  hint: `nix-store --read-log /nix/store/")
    assert "boom> boom" in relayed


@needs_nix
def test_builds_the_stream_script_and_exports_it(
    tmp_path: Path, docker_archive: DockerArchive
) -> None:
    project = write_flake(tmp_path / "project", STREAM_FLAKE)
    (project / "image.tar").write_bytes(docker_archive.path.read_bytes())
    relayed: list[str] = []

    script = build_image_script(project, nix_options=OFFLINE, progress=relayed.append)
    assert script.parent == Path("/nix/store")
    assert script.name.endswith("-stream-test-image")
    assert any(line.startswith("building '/nix/store/") for line in relayed)
    assert "stream-test-image> Creating the stream script" in relayed
    assert not (project / "flake.lock").exists()

    source = external.run(
        ["skopeo", "inspect", "--config", f"docker-archive:{docker_archive.path}"]
    )
    for kind, name in [("docker-archive", "i.tar"), ("oci-archive", "o.tar"), ("oci", "layout")]:
        result = export_image(script, f"{kind}:{tmp_path / name}", None)
        assert result.reference == docker_archive.reference
        ref = f"{kind}:{tmp_path / name}" + ("" if kind == "docker-archive" else ":cog-test:abc")
        written = external.run(["skopeo", "inspect", "--config", ref])
        assert json.loads(written.stdout) == json.loads(source.stdout)


def test_nix_option_needs_a_name_and_a_value(cognix, tmp_path: Path) -> None:
    result: CliResult = cognix(
        "build", "--output", f"docker-archive:{tmp_path}/i.tar", "--nix-option", "cores"
    )
    assert result.code == EXIT_BAD_INPUT
    assert result.stderr.splitlines() == [
        "error: --nix-option 'cores' is not NAME VALUE or NAME=VALUE",
        "  hint: e.g. --nix-option substituters https://cache.example.org",
    ]


@pytest.mark.parametrize(
    ("arguments", "joined"),
    [
        (["build", "--nix-option", "cores", "4"], ["build", "--nix-option", "cores=4"]),
        (["build", "--nix-option", "cores=4"], ["build", "--nix-option", "cores=4"]),
        (
            ["build", "--nix-option", "a", "1", "--nix-option", "b", "2", "-t", "x"],
            ["build", "--nix-option", "a=1", "--nix-option", "b=2", "-t", "x"],
        ),
        (
            ["build", "--nix-option", "cores", "--locked"],
            ["build", "--nix-option", "cores", "--locked"],
        ),
    ],
)
def test_nix_option_takes_name_and_value_as_nix_does(
    arguments: list[str], joined: list[str]
) -> None:
    from cognix.cli import _joined_nix_options

    assert _joined_nix_options(arguments) == joined


@needs_nix
def test_build_refuses_a_nix_older_than_the_pin_needs(cognix, tmp_path: Path) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    version = external.run(["nix", "--version"]).stdout.split()[-1]
    info = read_lock_info(project / "pylock.toml")
    assert info is not None
    needed = next(pin.min_nix for pin in known_pins() if pin.rev == info.nixpkgs_rev)
    if newer_version(version, needed) == version:
        pytest.skip(f"Nix {version} is new enough for the example's pin")

    result: CliResult = cognix(
        "build", "--locked", "--project", str(project), "--output", f"docker-archive:{tmp_path}/i"
    )
    assert result.code == EXIT_TOOL_MISSING
    # The pin, and so the Nix it needs, is known once the flake is generated.
    assert result.stderr.splitlines()[:2] == [
        "wrote .cognix/, flake.nix, flake.lock",
        f"error: Nix {version} is too old: cognix needs Nix {needed} or newer",
    ]


@needs_nix
@pytest.mark.network
def test_build_without_nixpkgs_ends_with_what_could_not_be_fetched(cognix, tmp_path: Path) -> None:
    if github_reachable():
        pytest.skip("GitHub is reachable here; this test needs it not to be")
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    # The oldest pin any Nix with flakes evaluates; the project re-locks for it (PyPI).
    rev = known_pins()[0].rev
    (project / "cognix.toml").write_text(f'[nixpkgs]\nrev = "{rev}"\n')

    result: CliResult = cognix(
        "build",
        "--project",
        str(project),
        "--output",
        f"docker-archive:{tmp_path}/image.tar",
        "--nix-option",
        "download-attempts=1",
    )
    url = f"https://api.github.com/repos/NixOS/nixpkgs/tarball/{rev}"
    last = result.stderr.splitlines()[-2:]
    assert result.code == EXIT_FAILED
    assert last[0].startswith(f"error: Nix could not fetch {url} (")
    assert last[1].startswith("  hint: check the network and proxy")
    assert f"  error: unable to download '{url}'" in result.stderr
    assert not (tmp_path / "image.tar").exists()
