"""Generated flakes evaluated by real Nix against the nixpkgs contract stub.

INTERFACE TESTS, not builds: tests/nix/nixpkgs-stub stands in for nixpkgs, rejects any
argument the real functions do not take, and records what reaches them. These tests assert
the image configuration and the derivations cognix's Nix library hands to nixpkgs, never a
built image (tests/test_nix_build.py builds one where nixpkgs can be fetched).
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cognix import external
from cognix.commands import generate_project

from conftest import EXAMPLES, REPO, copy_project, corpus_project, stub_flake_dir

NIXGEN = REPO / "tests" / "data" / "nixgen"
STORE = r"/nix/store/[0-9a-z]{32}-"

pytestmark = pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")

# What the tests read of a flake's packages, in one evaluation per project.
SUMMARY = """
packages:
let
  args = packages.image.stubArgs;
  wheels = packages.python-env.stubArgs.extraLibs;
in
{
  inherit (args) config maxLayers name enableFakechroot fakeRootCommands extraCommands;
  contents = map (package: package.outPath) args.contents;
  pythonEnv = packages.python-env.outPath;
  wheels = map (wheel: {
    # An attribute set with an `outPath` would print as that path: call it `path`.
    inherit (wheel) name drvPath;
    path = wheel.outPath;
    url = wheel.stubArgs.src.stubArgs.url;
    sha256 = wheel.stubArgs.src.stubArgs.sha256;
    preFixup = wheel.stubArgs.preFixup;
  }) wheels;
}
"""


def generated(source: Path, destination: Path) -> Path:
    """Copy a locked project and write its flake as `cognix generate --locked` does."""
    copy_project(source, destination)
    generate_project(destination, locked=True)
    return destination


def evaluate(project: Path, apply: str = SUMMARY) -> Any:
    """Evaluate `apply` over the flake's x86_64-linux packages, against the stub."""
    stub = project.parent / "nixpkgs-stub"
    if not stub.exists():
        stub_flake_dir(project.parent)
    arguments = ("eval", "--json", "--no-write-lock-file", "--override-input", "nixpkgs")
    target = f"path:{project}#packages.x86_64-linux"
    completed = external.run(
        external.nix_command("nix", *arguments, f"path:{stub}", target, "--apply", apply)
    )
    return json.loads(completed.stdout)


def locked_packages(project: Path) -> list[dict[str, Any]]:
    return tomllib.loads((project / "pylock.toml").read_text())["packages"]


def labels_of(project: Path) -> dict[str, str]:
    return json.loads((project / ".cognix" / "project.json").read_text())["labels"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("projects")


@pytest.fixture(scope="module")
def hello(folder: Path) -> tuple[Path, Any]:
    project = generated(EXAMPLES / "hello-world", folder / "hello-world")
    return project, evaluate(project)


@pytest.fixture(scope="module")
def torch_projects(folder: Path) -> tuple[tuple[Path, Any], tuple[Path, Any]]:
    plain = generated(NIXGEN / "gpu-torch", folder / "gpu-torch")
    ffmpeg = generated(NIXGEN / "gpu-torch-ffmpeg", folder / "gpu-torch-ffmpeg")
    return (plain, evaluate(plain)), (ffmpeg, evaluate(ffmpeg))


def test_cpu_image_config_is_cogs(hello: tuple[Path, Any]) -> None:
    project, image = hello
    config = image["config"]
    python_env = image["pythonEnv"]

    assert re.fullmatch(STORE + r"tini-[^/]+/bin/tini", config["Entrypoint"][0])
    assert config["Entrypoint"][1:] == ["--"]
    assert config["Cmd"] == ["python", "-m", "cog.server.http"]
    assert config["WorkingDir"] == "/src"
    assert config["ExposedPorts"] == {"5000/tcp": {}}
    assert config["Labels"] == labels_of(project)
    env = config["Env"]
    assert env[0] == f"PATH={python_env}/bin:/usr/bin:/bin"
    assert env[1] == "PYTHONUNBUFFERED=1"
    assert re.fullmatch(r"SSL_CERT_FILE=" + STORE + r"cacert-[^/]+/etc/ssl/certs/ca-bundle.crt",
                        env[2])  # fmt: skip
    assert env[3:] == ["COG_PREDICT_TYPE_STUB=predict.py:Predictor"]
    assert image["maxLayers"] == 100
    assert image["name"] == "cog-hello-world"
    assert image["enableFakechroot"] is False
    assert image["fakeRootCommands"] == ""


def test_every_locked_wheel_is_its_own_store_path_in_the_image(hello: tuple[Path, Any]) -> None:
    project, image = hello
    packages = {p["name"]: p for p in locked_packages(project)}
    wheels = {w["name"]: w for w in image["wheels"]}

    assert sorted(wheels) == sorted(f"{name}-{p['version']}" for name, p in packages.items())
    for name, package in packages.items():
        wheel = wheels[f"{name}-{package['version']}"]
        by_url = {w["url"]: w["hashes"]["sha256"] for w in package["wheels"]}
        assert by_url[wheel["url"]] == wheel["sha256"]
        assert re.fullmatch(STORE + re.escape(f"{name}-{package['version']}"), wheel["path"])
    assert image["pythonEnv"] in image["contents"]


def test_a_package_with_several_wheels_gets_the_one_for_the_target(
    hello: tuple[Path, Any],
) -> None:
    _, image = hello
    charset = next(w for w in image["wheels"] if w["name"].startswith("charset-normalizer-"))

    assert charset["url"].endswith(
        "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64"
        ".manylinux_2_5_x86_64.whl"
    )


def test_wheels_are_patched_against_their_dependencies(
    torch_projects: tuple[tuple[Path, Any], tuple[Path, Any]],
) -> None:
    (_, image), _ = torch_projects
    wheels = {w["name"].rsplit("-", 1)[0]: w for w in image["wheels"]}
    torch = wheels["torch"]

    searched = re.findall(r"addAutoPatchelfSearchPath (\S+)/lib/python3.12/site-packages",
                          torch["preFixup"])  # fmt: skip
    cudnn = next(w for name, w in wheels.items() if name.startswith("nvidia-cudnn"))
    assert cudnn["path"] in searched
    assert wheels["cog"]["path"] not in searched


def test_two_projects_with_the_same_torch_lock_share_torch_and_nvidia(
    torch_projects: tuple[tuple[Path, Any], tuple[Path, Any]],
) -> None:
    (_, plain), (_, ffmpeg) = torch_projects
    shared = [w["name"] for w in plain["wheels"]
              if w["name"].startswith(("torch-", "nvidia-", "triton-"))]  # fmt: skip
    plain_drvs = {w["name"]: w["drvPath"] for w in plain["wheels"]}
    ffmpeg_drvs = {w["name"]: w["drvPath"] for w in ffmpeg["wheels"]}

    assert len(shared) > 10
    assert {name: plain_drvs[name] for name in shared} == {
        name: ffmpeg_drvs[name] for name in shared
    }
    assert plain["pythonEnv"] != ffmpeg["pythonEnv"]


def test_gpu_image_reaches_the_driver_and_its_system_packages(
    torch_projects: tuple[tuple[Path, Any], tuple[Path, Any]],
) -> None:
    _, (_, image) = torch_projects
    env = image["config"]["Env"]

    library_path = next(e for e in env if e.startswith("LD_LIBRARY_PATH="))
    folders = library_path.removeprefix("LD_LIBRARY_PATH=").split(":")
    assert folders[:3] == ["/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64"]
    # apt's ffmpeg is nixpkgs' ffmpeg.bin and ffmpeg.lib (stub names: ffmpeg-stub-<output>);
    # both have their libraries in the `lib` output, listed once.
    assert [re.sub(STORE, "", f) for f in folders[3:]] == ["ffmpeg-stub-lib/lib"]
    assert "NVIDIA_DRIVER_CAPABILITIES=all" in env
    assert image["name"] == "r8.im/example/torch-ffmpeg"
    names = [re.sub(STORE, "", path) for path in image["contents"]]
    assert names[-2:] == ["ffmpeg-stub-bin", "ffmpeg-stub-lib"]


def test_system_packages_and_run_steps_reach_the_image(folder: Path) -> None:
    project = generated(NIXGEN / "opencv", folder / "opencv")
    image = evaluate(project)

    names = [re.sub(STORE, "", path) for path in image["contents"]]
    assert names == [
        "python3-3.11-env", "bashInteractive-stub", "coreutils-stub", "cacert-stub",
        "tini-stub", "libGL-stub", "libx11-stub", "libxext-stub", "mesa-stub", "glib-stub",
    ]  # fmt: skip
    assert image["enableFakechroot"] is True
    assert image["fakeRootCommands"] == (
        "# the cog.yaml run item on line 9\n'mkdir' '-p' '/opt/cache'\n"
        "# the cog.yaml run item on line 10\n'echo' 'ready' > '/opt/cache/state'\n"
    )
    assert "HF_HOME=/opt/cache" in image["config"]["Env"]


def test_every_generated_nix_file_parses(folder: Path, hello: tuple[Path, Any]) -> None:
    projects = [hello[0]]
    projects += [generated(NIXGEN / name, folder / f"parse-{name}") for name in ("opencv",)]
    files = [path for project in projects for path in sorted(project.rglob("*.nix"))]

    for path in files:
        external.run(["nix-instantiate", "--parse", str(path)])
    assert len(files) == len(projects) * (1 + len(list((REPO / "nix").glob("*.nix"))))


@pytest.mark.network
@pytest.mark.parametrize("number", ["002", "017", "045"])
def test_locked_corpus_files_give_flakes_that_evaluate(tmp_path: Path, number: str) -> None:
    project = corpus_project(tmp_path, number)
    generate_project(project)

    image = evaluate(project)

    for path in sorted(project.rglob("*.nix")):
        external.run(["nix-instantiate", "--parse", str(path)])
    packages = locked_packages(project)
    assert len(image["wheels"]) == len(packages)
    assert image["config"]["Cmd"] == ["python", "-m", "cog.server.http"]
