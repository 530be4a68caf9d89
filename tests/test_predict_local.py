"""`cognix predict --local` end to end: real lock, real venv, the real Cog server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess  # noqa: TID251 - Ctrl-C must reach a real cognix process
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, copy_case


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
    shutil.copytree(EXAMPLES / "hello-world", project)
    (project / "predict.py").write_text(source)
    return project


@pytest.mark.network
def test_hello_world_prints_the_greeting(tmp_path: Path, cognix) -> None:
    project = tmp_path / "hello-world"
    shutil.copytree(EXAMPLES / "hello-world", project)

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
    assert result.stderr.splitlines()[0].startswith("error: the prediction failed: ")
    assert "ValueError: no x" in result.stderr
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
    shutil.copytree(EXAMPLES / "hello-world", project)

    result = cognix("-v", "predict", "--local", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout == "hello, world!\n"
    commands = [line for line in result.stderr.splitlines() if line.startswith("$ ")]
    assert any(" -m cog.server.http --host 127.0.0.1" in line for line in commands)


@pytest.mark.network
def test_ctrl_c_stops_the_server_and_exits_130(tmp_path: Path, cognix) -> None:
    project = tmp_path / "slow"
    shutil.copytree(EXAMPLES / "hello-world", project)
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
    with subprocess.Popen([*command, "-i", "name=x"], stderr=subprocess.PIPE, text=True) as run:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.1)
        assert started.exists(), "the prediction never started"
        assert servers_running_in(project) != []
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=30)

    assert run.returncode == 130
    assert stderr.splitlines()[-1] == "interrupted"
    assert servers_running_in(project) == []


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
