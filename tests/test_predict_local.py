"""`cognix predict --local` end to end: real lock, real venv, the real Cog server."""

from __future__ import annotations

import os
import signal
import subprocess  # noqa: TID251 - Ctrl-C must reach a real cognix process
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cognix.commands import open_project
from cognix.errors import JobFailed
from cognix.predict import local
from cognix.predict.client import CogServer

from conftest import EXAMPLES, copy_case, copy_project


def servers_running_in(project: Path) -> list[int]:
    """Return the pids of processes whose working directory is `project`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") == str(project):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def project_with_predictor(tmp_path: Path, name: str, source: str) -> Path:
    """Copy hello-world (with its lock) to `tmp_path/name` and replace its predict.py."""
    project = tmp_path / name
    copy_project(EXAMPLES / "hello-world", project)
    (project / "predict.py").write_text(source)
    return project


@pytest.mark.network
def test_hello_world_prints_the_greeting(tmp_path: Path, cognix) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)

    result = cognix("predict", "--local", "--project", str(project), "-i", "name=Ada")

    assert result.code == 0, result.stderr
    assert result.stdout == "hello, Ada!\n"
    assert (project / ".cog" / "openapi_schema.json").is_file()
    assert servers_running_in(project) == []


@pytest.mark.network
def test_predictor_in_subfolder_imports_from_the_project_root(tmp_path: Path, cognix) -> None:
    project = copy_case("08-predictor-in-subfolder", tmp_path)

    result = cognix("predict", "--local", "--project", str(project), "-i", "text=hi")

    assert result.code == 0, result.stderr
    assert result.stdout == "HI!\n"
    assert servers_running_in(project) == []


@pytest.mark.network
@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("txt=hi", "error: unknown input 'txt'"),
        ("text", "error: expected name=value, got 'text'"),
        ("text=@missing.txt", "error: input 'text': no such file 'missing.txt'"),
    ],
)
def test_bad_inputs_stop_before_anything_starts(
    tmp_path: Path, cognix, argument: str, message: str, monkeypatch
) -> None:
    project = copy_case("08-predictor-in-subfolder", tmp_path)
    monkeypatch.chdir(tmp_path)

    result = cognix("predict", "--local", "--project", str(project), "-i", argument)

    assert result.code == 2
    assert result.stderr.splitlines()[0] == message
    assert not (project / ".cog").exists()
    assert servers_running_in(project) == []


@pytest.mark.network
def test_failing_prediction_exits_1_with_the_error(tmp_path: Path, cognix) -> None:
    project = project_with_predictor(
        tmp_path,
        "failing",
        "from cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self, name: str) -> str:\n"
        "        raise ValueError('no ' + name)\n",
    )

    result = cognix("predict", "--local", "--project", str(project), "-i", "name=x")

    assert result.code == 1
    assert result.stderr.splitlines()[0] == "error: the prediction failed: ValueError: no x"
    assert servers_running_in(project) == []


@pytest.mark.network
def test_failing_setup_shows_its_logs(tmp_path: Path, cognix) -> None:
    project = project_with_predictor(
        tmp_path,
        "bad-setup",
        "from cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n"
        "    def setup(self) -> None:\n"
        "        raise RuntimeError('weights are missing')\n\n"
        "    def predict(self, name: str) -> str:\n"
        "        return name\n",
    )

    result = cognix("predict", "--local", "--project", str(project), "-i", "name=x")

    assert result.code == 1
    assert result.stderr.startswith("error: the predictor's setup failed:\n")
    assert "weights are missing" in result.stderr
    assert servers_running_in(project) == []


@pytest.mark.network
def test_file_input_and_file_output_round_trip(tmp_path: Path, cognix, monkeypatch) -> None:
    project = project_with_predictor(
        tmp_path,
        "files",
        "from cog import BasePredictor, Path\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self, document: Path) -> Path:\n"
        "        out = Path('/tmp') / 'reversed.txt'\n"
        "        out.write_bytes(document.read_bytes()[::-1])\n"
        "        return out\n",
    )
    (tmp_path / "in.txt").write_bytes(b"abc\x00\xff\n")
    monkeypatch.chdir(tmp_path)

    result = cognix("predict", "--local", "--project", str(project), "-i", "document=@in.txt")

    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"wrote {tmp_path / 'output.txt'}"
    assert (tmp_path / "output.txt").read_bytes() == b"\n\xff\x00cba"


@pytest.mark.network
def test_verbose_shows_every_external_command(tmp_path: Path, cognix) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)

    result = cognix("-v", "predict", "--local", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout == "hello, world!\n"
    commands = [line for line in result.stderr.splitlines() if line.startswith("$ ")]
    assert any(" -m cog.server.http --host 127.0.0.1" in line for line in commands)


@pytest.mark.network
def test_cog_yaml_environment_reaches_the_predictor(tmp_path: Path, cognix) -> None:
    project = project_with_predictor(
        tmp_path,
        "environment",
        "import os\nfrom cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self) -> str:\n"
        "        return os.environ['GREETING'] + ' ' + os.environ['COG_PREDICT_TYPE_STUB']\n",
    )
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write("environment:\n  - GREETING=hi there\n")

    result = cognix("predict", "--local", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout == "hi there predict.py:Predictor\n"
    assert result.stderr == "wrote pylock.toml: 10 packages, cog 0.23.1\n"


def start_slow_prediction(tmp_path: Path, cognix) -> tuple[Path, Path, list[str]]:
    """Make a locked project whose prediction sleeps; return it, its marker, its command."""
    project = tmp_path / "slow"
    copy_project(EXAMPLES / "hello-world", project)
    started = tmp_path / "started"
    (project / "predict.py").write_text(
        "import time\nfrom pathlib import Path\nfrom cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self, name: str) -> str:\n"
        f"        Path({str(started)!r}).write_text('yes')\n"
        "        time.sleep(120)\n"
        "        return name\n"
    )
    assert cognix("lock", "--project", str(project)).code == 0
    command = [sys.executable, "-m", "cognix", "predict", "--local", "--project", str(project)]
    return project, started, [*command, "-i", "name=x"]


@pytest.mark.network
@pytest.mark.parametrize(
    ("signal_number", "code", "last_line"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "error: interrupted by SIGTERM"),
    ],
)
def test_signal_stops_the_server(
    tmp_path: Path, cognix, signal_number: int, code: int, last_line: str
) -> None:
    project, started, command = start_slow_prediction(tmp_path, cognix)

    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as run:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.1)
        assert started.exists(), "the prediction never started"
        assert servers_running_in(project) != []
        run.send_signal(signal_number)
        _, stderr = run.communicate(timeout=30)

    assert run.returncode == code
    assert stderr.splitlines()[-1] == last_line
    assert servers_running_in(project) == []


def server_answering(handler: Callable[[httpx.Request], httpx.Response]) -> CogServer:
    return CogServer("http://cog.test", transport=httpx.MockTransport(handler))


class TestReplies:
    def test_a_reply_that_is_not_json_names_status_and_body(self) -> None:
        text = "Failed to buffer the request body: length limit exceeded"
        server = server_answering(lambda request: httpx.Response(413, text=text))
        with pytest.raises(JobFailed) as caught:
            server.predict({"f": "x"})
        assert caught.value.message == (
            "the Cog server answered POST /predictions with HTTP 413"
            f" and a body that is not a JSON object: {text!r}"
        )

    def test_only_the_start_of_a_long_body_is_shown(self) -> None:
        server = server_answering(lambda request: httpx.Response(500, text="x" * 5000))
        with pytest.raises(JobFailed) as caught:
            server.predict({})
        assert caught.value.message.endswith(repr("x" * 200))

    def test_json_that_is_not_an_object(self) -> None:
        server = server_answering(lambda request: httpx.Response(200, json=["a"]))
        with pytest.raises(JobFailed, match="with HTTP 200 and a body that is not a JSON"):
            server.predict({})

    def test_a_health_check_that_is_not_json(self) -> None:
        server = server_answering(lambda request: httpx.Response(200, text="<html>"))
        with pytest.raises(JobFailed) as caught:
            server.wait_until_ready(5, lambda: True)
        assert caught.value.message == (
            "the Cog server answered GET /health-check with HTTP 200"
            " and a body that is not a JSON object: '<html>'"
        )

    def test_a_lost_connection(self) -> None:
        def drop(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError("Server disconnected", request=request)

        with pytest.raises(JobFailed) as caught:
            server_answering(drop).predict({})
        assert caught.value.message == (
            "lost the connection to the Cog server: Server disconnected"
        )

    def test_sends_the_inputs_as_json(self) -> None:
        def echo(request: httpx.Request) -> httpx.Response:
            body = request.read().decode()
            return httpx.Response(200, json={"status": "succeeded", "output": body})

        assert server_answering(echo).predict({"n": 1}) == '{"input":{"n":1}}'


class TestSchemaFile:
    def test_cog_as_a_file_is_a_job_failure_naming_the_path(self, tmp_path: Path) -> None:
        project = tmp_path / "hello-world"
        copy_project(EXAMPLES / "hello-world", project)
        (project / ".cog").write_text("not a folder")
        with pytest.raises(JobFailed) as caught:
            local._write_schema(open_project(project), {})
        target = project / ".cog" / "openapi_schema.json"
        assert caught.value.message == f"cannot write {target}: File exists"

    @pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
    def test_read_only_project(self, tmp_path: Path) -> None:
        project = tmp_path / "hello-world"
        copy_project(EXAMPLES / "hello-world", project)
        loaded = open_project(project)
        project.chmod(0o555)
        try:
            with pytest.raises(JobFailed) as caught:
                local._write_schema(loaded, {})
        finally:
            project.chmod(0o755)
        target = project / ".cog" / "openapi_schema.json"
        assert caught.value.message == f"cannot write {target}: Permission denied"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (".", "error: -o {tmp} is a directory"),
        (
            "nowhere/x.txt",
            "error: -o {tmp}/nowhere/x.txt: the folder {tmp}/nowhere does not exist",
        ),
    ],
)
def test_bad_output_path_stops_before_anything_starts(
    tmp_path: Path, cognix, where: str, message: str
) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    destination = tmp_path / where if where != "." else tmp_path

    result = cognix("predict", "--local", "--project", str(project), "-o", str(destination))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == message.format(tmp=tmp_path)
    assert not (project / ".cog").exists()
    assert servers_running_in(project) == []


@pytest.mark.network
def test_cog_file_in_the_project_fails_before_the_server_starts(tmp_path: Path, cognix) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    (project / ".cog").write_text("not a folder")

    result = cognix("predict", "--local", "--project", str(project))

    assert result.code == 1
    target = project / ".cog" / "openapi_schema.json"
    assert result.stderr.splitlines()[0] == f"error: cannot write {target}: File exists"
    assert servers_running_in(project) == []


FILES_PREDICTOR = (
    "import tempfile\nfrom cog import BasePredictor, Path\n\n"
    "class Predictor(BasePredictor):\n"
    "    def predict(self, count: int = 1) -> list[Path]:\n"
    "        folder = Path(tempfile.mkdtemp())\n"
    "        for index in range(count):\n"
    "            (folder / f'{index}.txt').write_text(f'file {index}')\n"
    "        return [folder / f'{index}.txt' for index in range(count)]\n"
)


@pytest.mark.network
def test_list_of_files_uses_output_as_pattern(tmp_path: Path, cognix, monkeypatch) -> None:
    project = project_with_predictor(tmp_path, "files", FILES_PREDICTOR)
    monkeypatch.chdir(tmp_path)

    result = cognix(
        "predict", "--local", "--project", str(project), "-i", "count=2", "-o", "out.txt"
    )

    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        f"wrote {Path('out.0.txt')}",
        f"wrote {Path('out.1.txt')}",
    ]
    assert (tmp_path / "out.1.txt").read_text() == "file 1"
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.network
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_write_failure_is_a_job_failure(tmp_path: Path, cognix) -> None:
    project = project_with_predictor(
        tmp_path,
        "file",
        "import tempfile\nfrom cog import BasePredictor, Path\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self) -> Path:\n"
        "        path = Path(tempfile.mkdtemp()) / 'out.txt'\n"
        "        path.write_text('hello')\n"
        "        return path\n",
    )

    result = cognix("predict", "--local", "--project", str(project), "-o", "/dev/full")

    assert result.code == 1
    message = "error: cannot write /dev/full: No space left on device"
    assert result.stderr.splitlines()[-1] == message
    assert Path("/dev/full").is_char_device()
    assert servers_running_in(project) == []


@pytest.mark.network
def test_text_that_starts_like_a_data_url_is_printed(tmp_path: Path, cognix) -> None:
    project = project_with_predictor(
        tmp_path,
        "data-text",
        "from cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self) -> str:\n"
        "        return 'data:,not a file'\n",
    )

    result = cognix("predict", "--local", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout == "data:,not a file\n"
    assert not (tmp_path / "output.bin").exists()


def test_two_runs_build_one_environment_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent first runs of one lock: the second waits instead of deleting the first's venv.

    Before, the second run's `rmtree` removed the folder the first's `uv pip sync` was
    filling, and one of them failed with uv's "No virtual environment ... found".
    """
    import threading

    from cognix.predict import venv

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lock_path = tmp_path / "pylock.toml"
    lock_path.write_text("lock-version = '1.0'\n")
    builds: list[Path] = []

    def build(folder: Path, lock: Path, python_minor: str) -> None:
        builds.append(folder)
        time.sleep(0.5)
        folder.mkdir(parents=True)
        (folder / venv.COMPLETE_MARKER).write_text("done\n")

    monkeypatch.setattr(venv, "_build", build)
    found: list[Path] = []
    runs = [
        threading.Thread(target=lambda: found.append(venv.environment_for(lock_path, "3.11")))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert len(builds) == 1
    assert found == [builds[0], builds[0]]
