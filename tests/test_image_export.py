"""Exporting the image stream: the --output forms, and real writes read back with skopeo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cognix import external
from cognix.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_TOOL_MISSING, CognixError
from cognix.image import Output, choose_output, export_image, parse_output
from cognix.image.destination import check_reference
from cognix.image.export import archive_reference

from conftest import DockerArchive

ACCEPTED = "use docker, podman, docker-archive:PATH, oci-archive:PATH or oci:DIR"


def stream_script(directory: Path, body: str) -> Path:
    """Write an executable shell script, the way Nix's stream script is run."""
    script = directory / "stream"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def stream(tmp_path: Path, docker_archive: DockerArchive) -> Path:
    """A stream script that writes the test image, with progress on stderr like Nix's."""
    return stream_script(tmp_path, f"echo 'Creating layer 1' >&2\nexec cat {docker_archive.path}")


def inspect(reference: str, *flags: str) -> dict[str, object]:
    """Read an image back with skopeo."""
    found = external.run(["skopeo", "--insecure-policy", "inspect", *flags, reference])
    result: dict[str, object] = json.loads(found.stdout)
    return result


def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Leave nothing on PATH, so that every program is missing."""
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


class TestParseOutput:
    @pytest.mark.parametrize("kind", ["docker", "podman"])
    def test_accepts_engines(self, kind: str) -> None:
        assert parse_output(kind) == Output(kind)  # type: ignore[arg-type]

    @pytest.mark.parametrize("kind", ["docker-archive", "oci-archive", "oci"])
    def test_accepts_paths_made_absolute(
        self, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        output = parse_output(f"{kind}:image.tar")
        assert output == Output(kind, tmp_path / "image.tar")  # type: ignore[arg-type]
        assert str(output) == f"{kind}:{tmp_path / 'image.tar'}"

    @pytest.mark.parametrize(
        "text", ["", "dockr", "docker:", "oci-archive:", "oci", "docker-daemon:x", "tar:x.tar"]
    )
    def test_rejects_unknown_forms_listing_the_accepted(self, text: str) -> None:
        with pytest.raises(CognixError) as caught:
            parse_output(text)
        assert caught.value.exit_code == EXIT_BAD_INPUT
        assert caught.value.message == f"--output {text!r} is not a known destination"
        assert caught.value.hint == ACCEPTED

    def test_rejects_a_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(CognixError) as caught:
            parse_output(f"oci-archive:{tmp_path}/no/such/image.tar")
        assert caught.value.exit_code == EXIT_BAD_INPUT
        assert caught.value.message.endswith(f"the folder {tmp_path}/no/such does not exist")

    def test_rejects_a_colon_in_the_path(self, tmp_path: Path) -> None:
        with pytest.raises(CognixError, match="the path must not contain ':'"):
            parse_output(f"oci:{tmp_path}/a:b")

    def test_rejects_a_folder_for_an_archive(self, tmp_path: Path) -> None:
        with pytest.raises(CognixError, match="is a folder"):
            parse_output(f"docker-archive:{tmp_path}")


class TestChooseOutput:
    def test_without_engines_asks_for_a_file_output(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        empty_path(monkeypatch, tmp_path)
        with pytest.raises(CognixError) as caught:
            choose_output(None)
        assert caught.value.exit_code == EXIT_TOOL_MISSING
        assert caught.value.message == (
            "no container engine to load the image into: "
            "docker is not installed, podman is not installed"
        )
        assert "--output docker-archive:image.tar" in (caught.value.hint or "")

    def test_oci_needs_skopeo(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        empty_path(monkeypatch, tmp_path)
        with pytest.raises(CognixError) as caught:
            choose_output(f"oci:{tmp_path}/layout")
        assert caught.value.exit_code == EXIT_TOOL_MISSING
        assert caught.value.message == "skopeo was not found on PATH"
        assert "apt-get install skopeo" in (caught.value.hint or "")

    def test_docker_archive_needs_nothing(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        empty_path(monkeypatch, tmp_path)
        assert choose_output(f"docker-archive:{tmp_path}/i.tar").kind == "docker-archive"

    def test_docker_without_a_daemon_is_a_missing_tool(self) -> None:
        docker = shutil.which("docker")
        if docker is None or external.run([docker, "info"], check=False).returncode == 0:
            pytest.skip("needs a docker client whose daemon does not answer")
        with pytest.raises(CognixError) as caught:
            choose_output("docker")
        assert caught.value.exit_code == EXIT_TOOL_MISSING
        assert caught.value.message.startswith("docker cannot reach its daemon: ")


@pytest.mark.parametrize("tag", ["model", "model:v1", "r8.im/user/model:v1", "localhost:5000/m"])
def test_accepts_image_references(tag: str) -> None:
    assert check_reference(tag) == tag


@pytest.mark.parametrize("tag", ["", "Model", "model:", "a b", "model:v1:v2", "-model"])
def test_rejects_bad_image_references(tag: str) -> None:
    with pytest.raises(CognixError) as caught:
        check_reference(tag)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert caught.value.message == f"-t {tag!r} is not an image reference"


class TestFiles:
    def test_docker_archive_is_the_stream(
        self, stream: Path, tmp_path: Path, docker_archive: DockerArchive
    ) -> None:
        target = tmp_path / "out" / "image.tar"
        target.parent.mkdir()
        result = export_image(stream, f"docker-archive:{target}", None)
        assert result.reference == "cog-test:abc"
        assert target.read_bytes() == docker_archive.path.read_bytes()
        assert sorted(path.name for path in target.parent.iterdir()) == ["image.tar"]

    def test_docker_archive_with_a_tag(self, stream: Path, tmp_path: Path) -> None:
        target = tmp_path / "image.tar"
        result = export_image(stream, f"docker-archive:{target}", "r8.im/user/model:v1")
        assert result.reference == "r8.im/user/model:v1"
        assert archive_reference(target) == "r8.im/user/model:v1"

    @pytest.mark.parametrize("kind", ["oci-archive", "oci"])
    def test_oci_forms_keep_layers_and_config(
        self, kind: str, stream: Path, tmp_path: Path, docker_archive: DockerArchive
    ) -> None:
        target = tmp_path / "out"
        result = export_image(stream, f"{kind}:{target}", None)
        assert result.reference == "cog-test:abc"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "stream"]

        written = f"{kind}:{target}:cog-test:abc"
        source = f"docker-archive:{docker_archive.path}"
        assert inspect(written)["Layers"] == inspect(source)["Layers"]
        assert inspect(written, "--config") == inspect(source, "--config")

    def test_oci_adds_to_an_existing_layout(self, stream: Path, tmp_path: Path) -> None:
        layout = tmp_path / "layout"
        export_image(stream, f"oci:{layout}", None)
        export_image(stream, f"oci:{layout}", "model:v2")
        index = json.loads((layout / "index.json").read_text())
        names = {
            entry["annotations"]["org.opencontainers.image.ref.name"]
            for entry in index["manifests"]
        }
        assert names == {"cog-test:abc", "model:v2"}

    @pytest.mark.parametrize("kind", ["docker-archive", "oci-archive", "oci"])
    def test_a_failing_stream_leaves_nothing(self, kind: str, tmp_path: Path) -> None:
        failing = stream_script(
            tmp_path, "printf 'half an image'\necho 'layer 2: no space' >&2\nexit 1"
        )
        with pytest.raises(CognixError) as caught:
            export_image(failing, f"{kind}:{tmp_path}/image", None)
        assert caught.value.exit_code == EXIT_FAILED
        assert caught.value.message == f"{failing} exited with code 1:\nlayer 2: no space"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["stream"]

    def test_a_stream_that_is_not_an_archive(self, tmp_path: Path) -> None:
        garbage = stream_script(tmp_path, "echo 'not a tar file'")
        with pytest.raises(CognixError) as caught:
            export_image(garbage, f"oci:{tmp_path}/layout", None)
        assert caught.value.exit_code == EXIT_FAILED
        assert caught.value.message.startswith("the image stream is not a docker-archive: ")
        assert sorted(path.name for path in tmp_path.iterdir()) == ["stream"]


class TestEngines:
    def test_podman_load(self, stream: Path, docker_archive: DockerArchive) -> None:
        podman = shutil.which("podman")
        if podman is None:
            pytest.skip("podman is not installed")
        try:
            result = export_image(stream, "podman", "cognix-test/loaded:v1")
        except CognixError as error:
            pytest.skip(f"podman cannot load images here: {error.message}")
        try:
            assert result.reference == "cognix-test/loaded:v1"
            found = external.run([podman, "image", "inspect", "cognix-test/loaded:v1"])
            assert json.loads(found.stdout)[0]["Config"]["Cmd"] == ["/hello.txt"]
        finally:
            external.run(
                [podman, "rmi", "--force", "cognix-test/loaded:v1", "cog-test:abc"], check=False
            )

    def test_docker_load(self, stream: Path) -> None:
        docker = shutil.which("docker")
        if docker is None or external.run([docker, "info"], check=False).returncode != 0:
            pytest.skip("no docker daemon answers here")
        result = export_image(stream, "docker", "cognix-test/loaded:v1")
        try:
            assert result.reference == "cognix-test/loaded:v1"
        finally:
            external.run(
                [docker, "rmi", "--force", "cognix-test/loaded:v1", "cog-test:abc"], check=False
            )

    def test_missing_engine(
        self, stream: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        empty_path(monkeypatch, tmp_path)
        with pytest.raises(CognixError) as caught:
            export_image(stream, "podman", None)
        assert caught.value.exit_code == EXIT_TOOL_MISSING
        assert caught.value.message == "podman was not found on PATH"


class TestPipe:
    def test_carries_the_bytes(self, tmp_path: Path) -> None:
        out = external.pipe(["printf", "a\\nb\\n"], ["wc", "-l"])
        assert out.stdout.strip() == "2"

    def test_a_failing_producer_is_reported(self) -> None:
        with pytest.raises(CognixError) as caught:
            external.pipe(["sh", "-c", "echo broken >&2; exit 3"], ["cat"])
        assert caught.value.message == "sh -c echo broken >&2; exit 3 exited with code 3:\nbroken"

    def test_a_consumer_that_stops_early_is_reported(self) -> None:
        with pytest.raises(CognixError) as caught:
            external.pipe(["yes"], ["sh", "-c", "head -c 10 >/dev/null; echo full >&2; exit 4"])
        assert caught.value.message.endswith("exited with code 4:\nfull")
