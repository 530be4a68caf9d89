"""Measure `cognix lock` against plain `uv pip compile` on the same requirements and target.

Run from the repository root with the project installed (`pip install -e .`); needs PyPI:

    python benchmarks/lock.py [--runs 3]

For a project (the markers case, plus the requirements of the hello-world example), it times:
cold (an empty uv cache for each run) and warm (a filled cache) for both, as a ratio measured
in the same run, and an unchanged re-lock (no network: the lock is up to date). Goals: within
1.2x of uv cold; an unchanged re-lock under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess  # noqa: TID251 - a benchmark times whole processes
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "tests" / "data" / "cases" / "06-requirement-markers"
COGNIX = [sys.executable, "-m", "cognix"]


def uv_binary() -> str:
    """Return the uv binary cognix itself uses."""
    import uv

    return str(uv.find_uv_bin())


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Run `argv` once and return its wall time; stop on failure."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def uv_compile(project: Path, output: Path) -> list[str]:
    """Return the uv command that resolves what cognix resolves, in one step."""
    from cognix.config.requirements import read_requirements_file

    # The lines as cognix parsed them: uv cannot read this file's continued marker line.
    parsed = read_requirements_file(project / "deps" / "requirements.txt", project)
    lines = [line.text for line in parsed.requirements]
    requirements = output.parent / "requirements.in"
    requirements.write_text("\n".join([*lines, "cog>=0.17.0"]) + "\n")
    return [
        uv_binary(), "pip", "compile", str(requirements), "-o", str(output), "--quiet",
        "--format", "pylock.toml", "--generate-hashes", "--python-version", "3.12",
        "--python-platform", "x86_64-manylinux_2_28", "--only-binary", ":all:",
        "--exclude-newer", "2026-12-01T00:00:00Z",
    ]  # fmt: skip


def measure(runs: int, scratch: Path) -> dict[str, float]:
    """Return the median seconds of each measured step."""
    project = scratch / "project"
    shutil.copytree(CASE, project)
    cache = scratch / "uv-cache"
    # The same uv settings cognix runs uv with, so that only the work differs.
    env = dict(os.environ, UV_CACHE_DIR=str(cache), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    cognix_lock = [*COGNIX, "lock", "--project", str(project)]
    uv = uv_compile(project, scratch / "pylock.uv.toml")
    samples: dict[str, list[float]] = {
        key: [] for key in ("uv cold", "cognix cold", "uv warm", "cognix warm")
    }
    for _ in range(runs):
        for name, argv in (("uv", uv), ("cognix", cognix_lock)):
            shutil.rmtree(cache, ignore_errors=True)
            (project / "pylock.toml").unlink(missing_ok=True)
            samples[f"{name} cold"].append(timed(argv, env))
            (project / "pylock.toml").unlink(missing_ok=True)
            samples[f"{name} warm"].append(timed(argv, env))
    relock = [timed(cognix_lock, env) for _ in range(runs)]
    return {
        key: statistics.median(values)
        for key, values in [*samples.items(), ("cognix unchanged re-lock", relock)]
    }


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cognix-bench-") as scratch:
        figures = measure(arguments.runs, Path(scratch))
    for name, seconds in figures.items():
        print(f"{name:28} {seconds:7.3f} s")
    print(f"{'ratio cold (goal <= 1.2)':28} {figures['cognix cold'] / figures['uv cold']:7.2f}")
    print(f"{'ratio warm':28} {figures['cognix warm'] / figures['uv warm']:7.2f}")


if __name__ == "__main__":
    main()
