"""The part both runners share: signals, ports, the runner rule, and `cognix serve --local`."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_predict_local import servers_running_in

from cognix import external, interrupts
from cognix.commands import Runner, runner_for
from cognix.errors import InputError, Interrupted, JobFailed
from cognix.predict import server
from cognix.predict.client import CogServer

from conftest import EXAMPLES, copy_project

REPO = Path(__file__).resolve().parent.parent


def signal_while_running(signal_number: int) -> None:
    """Send `signal_number` to this process while the server's signal handlers are in place."""
    with interrupts.stopping_on_signals():
        os.kill(os.getpid(), signal_number)
        time.sleep(5)


def second_signal_while_cleaning_up(cleaned: list[str]) -> None:
    with interrupts.stopping_on_signals():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            cleaned.append("cleaned")


def signal_while_stopping(steps: list[str]) -> None:
    with interrupts.stopping_on_signals():
        with interrupts.signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            steps.append("stopped")
        time.sleep(5)


class TestSignals:
    def test_sighup_becomes_interrupted_with_exit_129(self) -> None:
        before = signal.getsignal(signal.SIGHUP)
        with pytest.raises(Interrupted) as caught:
            signal_while_running(signal.SIGHUP)
        assert (caught.value.exit_code, caught.value.message) == (129, "interrupted by SIGHUP")
        assert signal.getsignal(signal.SIGHUP) is before

    def test_exit_codes(self) -> None:
        exit_codes = [Interrupted(number).exit_code for number in (signal.SIGTERM, signal.SIGHUP)]
        assert exit_codes == [143, 129]

    def test_a_second_signal_does_not_break_off_the_cleanup(self) -> None:
        cleaned: list[str] = []
        with pytest.raises(Interrupted) as caught:
            second_signal_while_cleaning_up(cleaned)
        assert cleaned == ["cleaned"]
        assert caught.value.exit_code == 143

    def test_a_signal_during_the_stop_arrives_after_it(self) -> None:
        steps: list[str] = []
        with pytest.raises(Interrupted):
            signal_while_stopping(steps)
        assert steps == ["stopped"]


class TestRunnerRule:
    def test_an_image_runs_in_a_container(self) -> None:
        assert runner_for("model:1", False, ["nix was not found on PATH"]) == Runner("image")

    def test_local_runs_locally(self) -> None:
        assert runner_for(None, True, []) == Runner("local")

    def test_the_default_builds_when_nothing_is_missing(self) -> None:
        assert runner_for(None, False, []) == Runner("build")

    def test_the_default_runs_locally_and_says_why(self) -> None:
        blockers = [
            "nix was not found on PATH",
            "docker is not installed, podman is not installed",
        ]
        assert runner_for(None, False, blockers) == Runner(
            "local",
            "running the project locally (--local): nix was not found on PATH; "
            "docker is not installed, podman is not installed",
        )

    def test_an_image_and_local_is_an_input_error(self) -> None:
        with pytest.raises(InputError, match=r"^--local runs the project, not an image$"):
            runner_for("model:1", True, [])


def test_without_nix_the_default_is_local_with_a_note(
    tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    monkeypatch.setenv("PATH", str(tmp_path))

    result = cognix("predict", "--project", str(project), "-i", "nme=x")

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "note: running the project locally (--local): nix was not found on PATH; "
        "docker is not installed, podman is not installed",
        "error: unknown input 'nme'",
        "  hint: did you mean 'name'? the inputs are name",
    ]


class TestPorts:
    def test_a_port_in_use_is_exit_2_before_anything_starts(
        self, tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
        monkeypatch.setattr(external, "start", None)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]

            result = cognix("serve", "--local", "--project", str(project), "--port", str(port))

        assert result.code == 2
        assert result.stderr.splitlines() == [
            f"error: cannot serve on 127.0.0.1 port {port}: something else listens there",
            "  hint: choose another port with --port N",
        ]

    def test_a_port_out_of_range_is_a_usage_error(self, cognix) -> None:
        result = cognix("serve", "--local", "--port", "70000")
        assert result.code == 2
        assert result.stderr.splitlines()[-1] == (
            "Error: Invalid value for '--port': Input should be less than or equal to 65535"
        )

    @pytest.mark.parametrize("host", ["localhost", "", "127.0.0.1:80", "[::1]"])
    def test_a_host_that_is_no_ip_address_is_exit_2(self, cognix, host: str) -> None:
        result = cognix("serve", "--local", "--host", host, "--project", "/nonexistent")
        assert result.code == 2
        assert result.stderr.splitlines() == [
            f"error: --host {host!r} is not an IP address",
            "  hint: give an address such as 127.0.0.1 (this machine only), ::1 or 0.0.0.0 "
            "(every one)",
        ]

    def test_an_address_not_of_this_machine_names_the_host_not_the_port(self) -> None:
        with pytest.raises(InputError) as caught:
            server.check_port_free("192.0.2.7", 8393)
        assert caught.value.message == (
            "cannot serve on 192.0.2.7 port 8393: Cannot assign requested address"
        )
        assert caught.value.hint == "choose another --host"

    @pytest.mark.parametrize(
        ("host", "url"),
        [
            ("127.0.0.1", "http://127.0.0.1:8393"),
            ("0.0.0.0", "http://127.0.0.1:8393"),
            ("::", "http://[::1]:8393"),
            ("192.0.2.7", "http://192.0.2.7:8393"),
        ],
    )
    def test_server_url_reaches_the_host(self, host: str, url: str) -> None:
        assert server.server_url(host, 8393) == url


def test_the_local_command_starts_the_locked_server(tmp_path: Path) -> None:
    from cognix.commands import open_project
    from cognix.predict.local import local_command

    project = open_project(copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world"))
    venv = tmp_path / "venv"

    command = local_command(project, venv, "0.0.0.0", 8393)

    python = str(venv / "bin" / "python")
    assert command.argv == [python, "-m", "cog.server.http", "--host", "0.0.0.0"]
    assert (command.url, command.cwd, command.cleanup) == (
        "http://127.0.0.1:8393",
        project.directory,
        None,
    )
    assert {key: command.env[key] for key in ("PORT", "COG_PREDICT_TYPE_STUB", "NO_COLOR")} == {
        "PORT": "8393",
        "COG_PREDICT_TYPE_STUB": "predict.py:Predictor",
        "NO_COLOR": "1",
    }
    assert "NO_COLOR" not in local_command(project, venv, "0.0.0.0", 8393, colour=True).env


def test_the_local_command_brackets_an_ipv6_host(tmp_path: Path) -> None:
    """The Cog server parses `HOST:PORT` as one socket address: `::1:8393` is none."""
    from cognix.commands import open_project
    from cognix.predict.local import local_command

    project = open_project(copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world"))

    command = local_command(project, tmp_path / "venv", "::1", 8393)

    assert command.argv[-2:] == ["--host", "[::1]"]
    assert command.url == "http://[::1]:8393"


def test_serving_a_project_without_a_predictor_stops_before_locking(
    tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "trainer"
    project.mkdir()
    cog_yaml = 'build:\n  python_version: "3.11"\ntrain: "train.py:train"\n'
    (project / "cog.yaml").write_text(cog_yaml)
    (project / "train.py").write_text("def train(steps: int = 1) -> str:\n    return ''\n")
    monkeypatch.setattr("cognix.commands.ensure_lock", None)  # calling it would fail loudly

    port = str(server.free_loopback_port())
    result = cognix("serve", "--local", "--project", str(project), "--port", port)

    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {project}/cog.yaml:1:1: cog.yaml names no predictor",
        '  hint: add predict: "predict.py:Predictor"',
    ]
    assert not (project / "pylock.toml").exists()


def test_a_server_without_a_schema(tmp_path: Path) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "OpenAPI schema not available"})

    client = CogServer("http://cog.test", transport=httpx.MockTransport(reply))
    with pytest.raises(JobFailed) as caught:
        client.openapi_schema()
    assert caught.value.message == (
        "the Cog server has no OpenAPI schema: OpenAPI schema not available"
    )


def start_serving(project: Path, port: int, log_file: Path) -> external.Process:
    """Start `cognix serve --local` as a real process, its output in `log_file`."""
    command = [sys.executable, "-m", "cognix", "serve", "--local", "--project", str(project)]
    environment = {"PYTHONPATH": str(REPO)}
    return external.start([*command, "--port", str(port)], env=environment, log_file=log_file)


def wait_for_line(log_file: Path, line: str, process: external.Process) -> None:
    deadline = time.monotonic() + 300
    while line not in log_file.read_text().splitlines():
        assert process.poll() is None, log_file.read_text()
        assert time.monotonic() < deadline, log_file.read_text()
        time.sleep(0.1)


@pytest.mark.network
@pytest.mark.parametrize(
    ("signal_number", "code", "last_line"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "error: interrupted by SIGTERM"),
    ],
)
def test_serve_local_until_a_signal(
    tmp_path: Path, signal_number: int, code: int, last_line: str
) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    port = server.free_loopback_port()
    log_file = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"

    process = start_serving(project, port, log_file)
    try:
        wait_for_line(log_file, url, process)
        assert httpx.get(f"{url}/health-check").json()["status"] == "READY"
        reply = httpx.post(f"{url}/predictions", json={"input": {"name": "Ada"}}).json()
        assert reply["output"] == "hello, Ada!"
        assert servers_running_in(project) != []
        process.send_signal(signal_number)
        assert process.wait(timeout=30) == code
    finally:
        external.stop(process)

    lines = log_file.read_text().splitlines()
    assert lines[-1] == last_line
    assert "the Cog server is ready; Ctrl-C stops it" in lines
    assert servers_running_in(project) == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health-check")


@pytest.mark.parametrize(
    ("signal_number", "command"),
    [
        (signal.SIGTERM, ["predict", "--local", "-i", "name=x"]),
        (signal.SIGHUP, ["serve", "--local", "--port", "0"]),
    ],
)
def test_a_signal_while_the_environment_builds_ends_cognix_cleanly(
    tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch, signal_number: int, command: list[str]
) -> None:
    """Before the server starts (uv building the venv), SIGTERM and SIGHUP are exit 143, 129.

    Without a handler there, cognix died of the signal and left uv running on its own.
    """
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    if command[0] == "serve":
        command[-1] = str(server.free_loopback_port())

    def building(lock_path: Path, python_minor: str) -> Path:
        os.kill(os.getpid(), signal_number)
        time.sleep(5)
        raise AssertionError("the signal did not stop cognix")

    monkeypatch.setattr("cognix.predict.local.environment_for", building)

    result = cognix(*command, "--project", str(project))

    name = signal.Signals(signal_number).name
    assert (result.code, result.stderr.splitlines()[-1]) == (
        128 + signal_number,
        f"error: interrupted by {name}",
    )
    assert signal.getsignal(signal_number) is signal.SIG_DFL
