"""The container runner: its commands exactly, and the schema label read with a real podman.

Tests marked `container` run a real image built from examples/hello-world, and are skipped,
with the engine's own error, where no engine can run a container (as here: podman loads and
inspects images but cannot start one). The start, health wait, predict and cleanup code is
the one `cognix serve --local` and `predict --local` run for real (test_predict_server.py).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_predict_server import wait_for_line

from cognix import external
from cognix.errors import CognixError, InputError
from cognix.predict import container
from cognix.predict.container import Engine, container_run_argv
from cognix.predict.server import free_loopback_port

from conftest import EXAMPLES, copy_project, write_docker_archive

REPO = Path(__file__).resolve().parent.parent
# The smallest static x86_64 program: an ELF header, one segment, `exit(0)`. The probe image
# holds it, so that whether an engine runs containers here is seen without a registry.
_EXIT_0 = bytes.fromhex("31ffb83c0000000f05")  # xor edi, edi; mov eax, 60; syscall
TINY_TRUE = (
    struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01", 2, 0x3E, 1, 0x400078, 64, 0,
                0, 64, 56, 1, 0, 0, 0)
    + struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 129, 129, 0x1000)
    + _EXIT_0
)  # fmt: skip
PREDICTOR = """\
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(default="world"),
        count: int = Input(default=1, ge=1, le=10),
        document: str = Input(default=""),
    ) -> str:
        return f"hello, {name}!"
"""


def schema_for(tmp_path: Path, source: str = PREDICTOR) -> dict[str, Any]:
    """Return the schema cognix derives from `source`, as a built image's label holds it."""
    from cognix.schema import predictor_schema

    folder = tmp_path / "schema-source"
    folder.mkdir(exist_ok=True)
    (folder / "predict.py").write_text(source)
    return predictor_schema(folder, "predict.py:Predictor")


class TestRunArgv:
    def test_docker(self) -> None:
        argv = container_run_argv(
            Engine("docker", "/usr/bin/docker"),
            "cog-hello:abc",
            name="cognix-0a1b2c3d",
            host="127.0.0.1",
            port=41234,
            gpus=False,
            env={"LOG_FORMAT": "console"},
        )
        assert argv == [
            "/usr/bin/docker", "run", "--rm", "--name", "cognix-0a1b2c3d",
            "--publish", "127.0.0.1:41234:5000", "--shm-size", "6g",
            "--env", "LOG_FORMAT=console", "cog-hello:abc",
        ]  # fmt: skip

    def test_docker_gpus(self) -> None:
        argv = container_run_argv(
            Engine("docker", "docker"), "m", name="n", host="127.0.0.1", port=1, gpus=True, env={}
        )
        assert argv == [
            "docker", "run", "--rm", "--name", "n", "--publish", "127.0.0.1:1:5000",
            "--shm-size", "6g", "--gpus", "all", "m",
        ]  # fmt: skip

    def test_podman_gpus_go_through_cdi(self) -> None:
        argv = container_run_argv(
            Engine("podman", "podman"), "m", name="n", host="0.0.0.0", port=8393, gpus=True,
            env={"A": "1", "B": "x=y"},
        )  # fmt: skip
        assert argv == [
            "podman", "run", "--rm", "--name", "n", "--publish", "0.0.0.0:8393:5000",
            "--shm-size", "6g", "--device", "nvidia.com/gpu=all",
            "--env", "A=1", "--env", "B=x=y", "m",
        ]  # fmt: skip

    def test_an_ipv6_host_is_bracketed(self) -> None:
        argv = container_run_argv(
            Engine("podman", "podman"), "m", name="n", host="::1", port=9, gpus=False, env={}
        )
        assert argv[argv.index("--publish") + 1] == "[::1]:9:5000"

    def test_the_command_removes_the_container_it_names(self) -> None:
        command = container.container_command(
            Engine("podman", "/bin/podman"), "m:1", host="127.0.0.1", port=5555, gpus=False
        )
        name = command.argv[command.argv.index("--name") + 1]
        assert name.startswith("cognix-")
        assert len(name) == len("cognix-") + 8
        assert command.cleanup == ["/bin/podman", "rm", "--force", name]
        assert command.url == "http://127.0.0.1:5555"
        assert command.argv[-3:] == ["--env", "LOG_FORMAT=console", "m:1"]


def test_no_engine_is_exit_3_with_how_to_install(
    tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    result = cognix("predict", "cog-hello:abc", "-i", "name=x")

    assert result.code == 3
    assert result.stderr.splitlines() == [
        "error: no container engine to run the image: docker is not installed, "
        "podman is not installed",
        "  hint: install Docker (https://docs.docker.com/engine/install/) and start its "
        "daemon, or podman (https://podman.io/docs/installation; Debian or Ubuntu: "
        "`apt-get install podman`); or run the project itself with --local",
    ]


def test_local_with_an_image_is_exit_2(cognix) -> None:
    result = cognix("predict", "cog-hello:abc", "--local")

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: --local runs the project, not an image",
        "  hint: leave out IMAGE to run the project locally, or --local to run the image",
    ]


def test_an_image_with_a_project_is_exit_2(cognix) -> None:
    result = cognix("predict", "cog-hello:abc", "--project", ".", "-i", "name=x")

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: --project names a project to run, and IMAGE an image: give one of them",
        "  hint: leave out IMAGE to run the project, or --project to run the image",
    ]


@pytest.mark.parametrize("image", ["--help", "-x", "a b", "", "m\x1b[2J"])
def test_an_image_name_the_engine_would_misread_is_exit_2(
    cognix, monkeypatch: pytest.MonkeyPatch, image: str
) -> None:
    monkeypatch.setattr(container, "find_engine", lambda: Engine("podman", "podman"))
    monkeypatch.setattr(external, "run", None)  # the engine is never asked

    result = cognix("predict", "-i", "name=x", "--", image)

    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "  hint: name an image as NAME[:TAG], NAME@sha256:DIGEST or an image ID"
    )
    assert result.stderr.splitlines()[0].endswith(" is not an image name")


# --- a real podman: images loaded and inspected (running one is not needed) ---------------


def real_engine() -> Engine:
    """Return the engine the runner would use here, or skip."""
    try:
        return container.find_engine()
    except CognixError as error:
        pytest.skip(f"no container engine: {error.message}")


@dataclass(frozen=True)
class LoadedImage:
    engine: Engine
    reference: str


@pytest.fixture(scope="module")
def labelled_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedImage]:
    """Load a tiny image whose `run.cog.openapi_schema` label holds PREDICTOR's schema."""
    engine = real_engine()
    work = tmp_path_factory.mktemp("labelled")
    schema = json.dumps(schema_for(work))
    reference = f"cognix-label-test:{os.getpid()}"
    archive = write_docker_archive(work, reference, {"run.cog.openapi_schema": schema})
    external.run([engine.program, "load", "-i", str(archive.path)])
    yield LoadedImage(engine, reference)
    external.run([engine.program, "rmi", "--force", reference], check=False)


@pytest.fixture(scope="module")
def unlabelled_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedImage]:
    engine = real_engine()
    reference = f"cognix-nolabel-test:{os.getpid()}"
    archive = write_docker_archive(tmp_path_factory.mktemp("unlabelled"), reference)
    external.run([engine.program, "load", "-i", str(archive.path)])
    yield LoadedImage(engine, reference)
    external.run([engine.program, "rmi", "--force", reference], check=False)


class TestImageSchema:
    def test_reads_the_label(self, labelled_image: LoadedImage, tmp_path: Path) -> None:
        schema = container.image_schema(labelled_image.engine, labelled_image.reference)
        assert schema == schema_for(tmp_path)

    def test_an_image_without_the_label_has_none(self, unlabelled_image: LoadedImage) -> None:
        assert container.image_schema(unlabelled_image.engine, unlabelled_image.reference) is None

    def test_a_missing_image_is_an_input_error(self) -> None:
        engine = real_engine()
        with pytest.raises(InputError) as caught:
            container.image_schema(engine, "cognix-no-such-image:nope")
        assert caught.value.message == f"{engine.name} has no image 'cognix-no-such-image:nope'"
        assert caught.value.hint == (
            f"build it with `cognix build`, or fetch it with "
            f"`{engine.name} pull cognix-no-such-image:nope`"
        )


@pytest.mark.parametrize("image", ["Upper/Case", "a" * 300])
def test_an_invalid_reference_is_exit_2_with_the_engine_s_reason(cognix, image: str) -> None:
    engine = real_engine()

    result = cognix("predict", image, "-i", "name=x")

    assert result.code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: '{image}' is not an image name: ")
    reasons = ("lowercase", "invalid reference format", "must not be more than 255")
    assert any(reason in lines[0] for reason in reasons)
    assert lines[1] == "  hint: name an image as NAME[:TAG], NAME@sha256:DIGEST or an image ID"
    assert engine.name in ("docker", "podman")


@pytest.fixture(scope="module")
def malformed_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedImage]:
    """Load an image whose schema label is a JSON object of the wrong shape."""
    engine = real_engine()
    reference = f"cognix-malformed-test:{os.getpid()}"
    label = {"run.cog.openapi_schema": json.dumps({"components": {"schemas": {"Input": 5}}})}
    archive = write_docker_archive(tmp_path_factory.mktemp("malformed"), reference, label)
    external.run([engine.program, "load", "-i", str(archive.path)])
    yield LoadedImage(engine, reference)
    external.run([engine.program, "rmi", "--force", reference], check=False)


def test_a_label_of_the_wrong_shape_is_exit_1_before_any_container_starts(
    malformed_image: LoadedImage, cognix, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external, "start", None)

    result = cognix("predict", malformed_image.reference, "-i", "x=1")

    assert result.code == 1
    assert result.stderr.splitlines() == [
        "error: the model's OpenAPI schema is malformed: Input is not a JSON object",
        "  hint: images built by cognix or Cog carry a valid schema; rebuild the image",
    ]


def test_a_missing_image_is_exit_2(cognix) -> None:
    engine = real_engine()

    result = cognix("predict", "cognix-no-such-image:nope", "-i", "name=x")

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {engine.name} has no image 'cognix-no-such-image:nope'"
    )


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("nme=Ada", "error: unknown input 'nme'"),
        ("count=two", "error: input 'count' must be an integer, got 'two'"),
        ("count=11", "error: input 'count' must be <= 10, got 11"),
        ("document=@missing.txt", "error: input 'document': no such file 'missing.txt'"),
    ],
)
def test_inputs_are_checked_against_the_label_before_any_container_starts(
    labelled_image: LoadedImage,
    cognix,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argument: str,
    message: str,
) -> None:
    def no_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("a container was started")

    monkeypatch.setattr(external, "start", no_start)
    monkeypatch.chdir(tmp_path)

    result = cognix("predict", labelled_image.reference, "-i", argument)

    assert result.code == 2, result.stderr
    assert result.stderr.splitlines()[0] == message


def assert_nothing_listens(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with socket.socket() as probe:
        # The connections the test made may wait out TIME_WAIT; a listener would refuse this.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


# --- a real engine running a real Cog image -------------------------------------------------


@pytest.fixture(scope="session")
def running_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Return an engine that can run containers here, or skip quoting why it cannot."""
    engine = real_engine()
    if platform.machine() != "x86_64":
        pytest.skip("the probe image's program is for x86_64")
    reference = f"cognix-probe:{os.getpid()}"
    work = tmp_path_factory.mktemp("probe")
    archive = write_docker_archive(work, reference, programs={"true": TINY_TRUE})
    external.run([engine.program, "load", "-i", str(archive.path)])
    try:
        probe = external.run([engine.program, "run", "--rm", reference, "/true"], check=False)
    finally:
        external.run([engine.program, "rmi", "--force", reference], check=False)
    if probe.returncode != 0:
        pytest.skip(f"{engine.name} cannot run a container here: {probe.stderr.strip()}")
    return engine


@pytest.fixture(scope="session")
def hello_image(running_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build examples/hello-world into the engine with `cognix build`; skip where Nix cannot."""
    from cognix.commands import build_project

    project = copy_project(EXAMPLES / "hello-world", tmp_path_factory.mktemp("x") / "hello")
    try:
        built = build_project(project, output=running_engine.name)
    except CognixError as error:
        pytest.skip(f"cannot build examples/hello-world here: {error.message}")
    assert built.export.reference is not None
    return built.export.reference


def containers_named_cognix(engine: Engine) -> list[str]:
    listed = external.run([engine.program, "ps", "--all", "--format", "{{.Names}}"])
    return [name for name in listed.stdout.split() if name.startswith("cognix-")]


@pytest.mark.container
def test_hello_world_image_predicts(running_engine: Engine, hello_image: str, cognix) -> None:
    result = cognix("predict", hello_image, "-i", "name=Ada")

    assert (result.code, result.stdout) == (0, "hello, Ada!\n")
    assert containers_named_cognix(running_engine) == []


@pytest.mark.container
def test_hello_world_image_serves_until_ctrl_c(
    running_engine: Engine, hello_image: str, tmp_path: Path
) -> None:
    port = free_loopback_port()
    log_file = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "cognix", "serve", hello_image, "--port", str(port)]

    process = external.start(command, env={"PYTHONPATH": str(REPO)}, log_file=log_file)
    try:
        wait_for_line(log_file, url, process)
        assert httpx.get(f"{url}/health-check").json()["status"] == "READY"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        external.stop(process)

    assert containers_named_cognix(running_engine) == []
    assert_nothing_listens(port)
