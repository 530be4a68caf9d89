"""Shared fixtures: the shared cases and corpus, and a way to run the cognix CLI in-process."""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cognix.cli import main

REPO = Path(__file__).resolve().parent.parent
# Copies of the project's shared cases and real-world cog.yaml corpus, so CI has them.
CASES = REPO / "tests" / "data" / "cases"
CORPUS = REPO / "tests" / "data" / "corpus"
EXAMPLES = REPO / "examples"
# The nixpkgs contract stub of DESIGN.md section 9, and the data tables it reads.
STUB = REPO / "tests" / "nix" / "nixpkgs-stub"
DATA = REPO / "cognix" / "data"
DATA_TABLES = ("apt-to-nixpkgs.toml", "nixpkgs-pins.toml", "torch-cuda.toml")


@dataclass(frozen=True)
class CliResult:
    """The exit code and the two output streams of one cognix run."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cognix(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Return a function that runs `cognix ARGS…` in-process and returns a `CliResult`."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cognix", *args])
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def copy_case(name: str, destination: Path) -> Path:
    """Copy shared case `name` into `destination` and return the copy's folder."""
    target = destination / name
    shutil.copytree(CASES / name, target)
    return target


@dataclass(frozen=True)
class DockerArchive:
    """A small real image written by umoci and skopeo: its docker-archive and its name."""

    path: Path
    reference: str


@pytest.fixture(scope="session")
def docker_archive(tmp_path_factory: pytest.TempPathFactory) -> DockerArchive:
    """Return a one-layer docker-archive named `cog-test:abc`, as a stream script would write."""
    return write_docker_archive(tmp_path_factory.mktemp("image"), "cog-test:abc")


def write_docker_archive(
    work: Path,
    reference: str,
    labels: dict[str, str] | None = None,
    programs: dict[str, bytes] | None = None,
) -> DockerArchive:
    """Write a one-layer docker-archive named `reference`, using umoci and skopeo.

    The image has `labels`, and `programs` as executable files at the top of its tree.
    """
    from cognix import external

    for program in ("umoci", "skopeo"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")
    layout, bundle = f"{work / 'layout'}:base", work / "bundle"
    external.run(["umoci", "init", "--layout", str(work / "layout")])
    external.run(["umoci", "new", "--image", layout])
    external.run(["umoci", "unpack", "--rootless", "--image", layout, str(bundle)])
    (bundle / "rootfs" / "hello.txt").write_text("hello\n")
    for name, content in (programs or {}).items():
        (bundle / "rootfs" / name).write_bytes(content)
        (bundle / "rootfs" / name).chmod(0o755)
    external.run(["umoci", "repack", "--image", layout, str(bundle)])
    config = ["--config.cmd", "/hello.txt"]
    for name, value in (labels or {}).items():
        config += ["--config.label", f"{name}={value}"]
    external.run(["umoci", "config", "--image", layout, *config])
    archive = DockerArchive(work / "image.tar", reference)
    destination = f"docker-archive:{archive.path}:{archive.reference}"
    external.run(["skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}", destination])
    return archive


def stub_flake_dir(destination: Path) -> Path:
    """Copy the stub to `destination` as a flake usable with `--override-input nixpkgs`.

    Nix copies a `path:` flake's directory alone into the store, where the stub's
    ../../../cognix/data does not exist, so the data tables go into ./cognix-data/ of the
    copy (tests/nix/nixpkgs-stub/data.nix reads them from there when present).
    """
    copy = destination / "nixpkgs-stub"
    shutil.copytree(STUB, copy)
    (copy / "cognix-data").mkdir()
    for table in DATA_TABLES:
        shutil.copy2(DATA / table, copy / "cognix-data" / table)
    return copy


def corpus_project(tmp_path: Path, number: str, predictor: str = "predict.py:Predictor") -> Path:
    """Lay out corpus file `number` as a project with a predictor that check accepts."""
    project = tmp_path / number
    project.mkdir()
    shutil.copy(CORPUS / f"{number}.yaml", project / "cog.yaml")
    requirements = CORPUS / f"{number}.requirements.txt"
    if requirements.exists():
        shutil.copy(requirements, project / "requirements.txt")
    file, _, name = predictor.partition(":")
    (project / file).parent.mkdir(parents=True, exist_ok=True)
    (project / file).write_text(
        f"class {name}:\n    def predict(self) -> str:\n        return ''\n"
    )
    return project


# What running cognix in a project leaves there (`cognix predict --local` writes .cog/, the
# README's first command does so in examples/hello-world): never part of a test's copy.
_LEFT_BY_RUNS = shutil.ignore_patterns(
    ".cog", ".cognix", ".cognix.*", "flake.nix", "flake.lock", "output*", "result*", "__pycache__"
)


def copy_project(source: Path, destination: Path) -> Path:
    """Copy the project `source` to `destination`, without what earlier runs left in it."""
    shutil.copytree(source, destination, ignore=_LEFT_BY_RUNS)
    return destination


@dataclass
class ServedFiles:
    """What the tests' local HTTP server serves, where it redirects, and what it was asked."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    # Status codes a path answers, one per request, before it is served: [500, 503].
    failures: dict[str, list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serving(files: ServedFiles) -> Iterator[str]:
    """Serve `files` on a free loopback port while the block runs; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            files.requests.append(self.path)
            if files.failures.get(self.path):
                self.send_response(files.failures[self.path].pop(0))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path in files.redirects:
                self.send_response(302)
                self.send_header("Location", files.redirects[self.path])
                self.end_headers()
                return
            body = files.bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
