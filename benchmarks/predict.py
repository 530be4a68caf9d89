"""Measure the time to a first prediction with `cognix predict --local` on hello-world.

Run from the repository root with the project installed (`pip install -e .`); needs PyPI:

    python benchmarks/predict.py [--runs 3]

It times whole runs of `cognix predict --local -i name=Ada`: cold (empty uv and cognix
caches, so uv downloads the wheels and the environment is built) and warm (both caches
filled, so the environment is reused). Beside them, the Cog server started directly in the
warm environment, as cognix starts it, timed from its start to the reply to one
`POST /predictions`, and to its exit. Warm minus direct is what cognix adds: reading the
project and the lock, checking the inputs, writing the schema.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess  # noqa: TID251 - a benchmark times whole processes
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "hello-world"
PREDICTOR = "predict.py:Predictor"
GREETING = "hello, Ada!"
POLL_SECONDS = 0.1  # how often cognix's client asks the health check


def time_cognix(project: Path, env: dict[str, str]) -> float:
    """Run one `cognix predict --local` and return its wall time; stop on a wrong output."""
    argv = [sys.executable, "-m", "cognix", "predict", "--local", "--project", str(project)]
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, "-i", "name=Ada"], env=env, capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    if done.stdout != GREETING + "\n":
        sys.exit(f"unexpected output {done.stdout!r}; stderr:\n{done.stderr}")
    return elapsed


def time_server(project: Path, venv: Path) -> tuple[float, float]:
    """Start the Cog server in `venv` and predict once; return the seconds to reply and exit.

    The environment is the one cognix gives the server (cognix/predict/local.py
    `_server_environment`); `project` must hold `.cog/openapi_schema.json`.
    """
    port = free_loopback_port()
    env = dict(
        os.environ,
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PORT=str(port),
        COG_PREDICT_TYPE_STUB=PREDICTOR,
        PYTHONUNBUFFERED="1",
        LOG_FORMAT="console",
    )
    argv = [str(venv / "bin" / "python"), "-m", "cog.server.http", "--host", "127.0.0.1"]
    start = time.perf_counter()
    server = subprocess.Popen(
        argv, cwd=project, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until_ready(http, server)
            reply = http.post("/predictions", json={"input": {"name": "Ada"}}).json()
        replied = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    if reply.get("output") != GREETING:
        sys.exit(f"unexpected reply {reply!r}")
    return replied, time.perf_counter() - start


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(http: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    """Poll the health check as cognix's client does, until the server says READY."""
    while server.poll() is None:
        try:
            if http.get("/health-check").json().get("status") == "READY":
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_SECONDS)
    sys.exit(f"the Cog server exited with {server.returncode}")


def measure(runs: int, scratch: Path) -> dict[str, float]:
    """Return the median seconds of each measured step."""
    project = scratch / "hello-world"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".cog", "output*"))
    samples: dict[str, list[float]] = {key: [] for key in ("cold", "warm", "reply", "exit")}
    for run in range(runs):
        caches = scratch / f"caches-{run}"
        env = dict(os.environ, XDG_CACHE_HOME=str(caches / "xdg"), UV_CACHE_DIR=str(caches / "uv"))
        samples["cold"].append(time_cognix(project, env))
        samples["warm"].append(time_cognix(project, env))
        # The environment the warm run used; its schema file is in the project now.
        (venv,) = (caches / "xdg" / "cognix" / "venvs").iterdir()
        replied, exited = time_server(project, venv)
        samples["reply"].append(replied)
        samples["exit"].append(exited)
        shutil.rmtree(caches)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cognix-bench-") as scratch:
        figures = measure(arguments.runs, Path(scratch))
    rows = [
        ("cognix predict --local, cold", figures["cold"], "empty uv and cognix caches"),
        ("cognix predict --local, warm", figures["warm"], "environment reused"),
        ("Cog server direct, to reply", figures["reply"], "same environment, no cognix"),
        ("Cog server direct, to exit", figures["exit"], "and stopped, as cognix does"),
    ]
    print(f"hello-world, median of {arguments.runs} runs")
    for name, seconds, note in rows:
        print(f"{name:30} {seconds:7.3f} s   {note}")
    print(f"{'cognix overhead, warm':30} {figures['warm'] - figures['exit']:7.3f} s")


if __name__ == "__main__":
    main()
