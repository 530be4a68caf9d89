"""Measure how fast cognix starts: `cognix --version`, and `cognix check` over the corpus.

Run from the repository root with the project installed (`pip install -e .`):

    python benchmarks/startup.py [--runs 9]

Prints the median wall time of each over several runs. Each corpus file is checked in a
project of its own (with the requirements file and a predictor it names), as a user would.
The goal for `--version` is under 150 ms on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess  # noqa: TID251 - a benchmark times whole processes
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "corpus"
COGNIX = [sys.executable, "-m", "cognix"]


def time_command(argv: list[str], runs: int) -> float:
    """Return the median wall time of `argv` over `runs` runs, in seconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def corpus_projects(root: Path) -> list[Path]:
    """Lay out every corpus cog.yaml as a project of its own under `root`."""
    projects = []
    for cog_yaml in sorted(CORPUS.glob("*.yaml")):
        project = root / cog_yaml.stem
        project.mkdir()
        shutil.copy(cog_yaml, project / "cog.yaml")
        requirements = CORPUS / f"{cog_yaml.stem}.requirements.txt"
        if requirements.exists():
            shutil.copy(requirements, project / "requirements.txt")
        (project / "predict.py").write_text("class Predictor:\n    pass\n")
        projects.append(project)
    return projects


def time_corpus_check(projects: list[Path], runs: int) -> float:
    """Return the median wall time of checking every project once, in seconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for project in projects:
            subprocess.run(
                [*COGNIX, "check", "--project", str(project)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    arguments = parser.parse_args()

    version = time_command([*COGNIX, "--version"], arguments.runs)
    python_alone = time_command([sys.executable, "-c", "pass"], arguments.runs)
    with tempfile.TemporaryDirectory() as scratch:
        projects = corpus_projects(Path(scratch))
        corpus = time_corpus_check(projects, max(1, arguments.runs // 3))

    print(f"python -c pass               {python_alone * 1000:8.1f} ms (interpreter alone)")
    print(f"cognix --version             {version * 1000:8.1f} ms (goal < 150 ms)")
    print(
        f"cognix check, {len(projects)} corpus files {corpus * 1000:8.1f} ms in all, "
        f"{corpus / len(projects) * 1000:.1f} ms per file"
    )


if __name__ == "__main__":
    main()
