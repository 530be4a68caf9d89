"""Interface tests of the nixpkgs contract stub (tests/nix/nixpkgs-stub) and the project flake.

The stub is an interface test double, never a build (DESIGN.md section 9): these tests check
that it parses, that each stubbed function rejects what the real one does not take (with the
exact message), records what it does take as `stubArgs`, returns real derivations whose
drvPath follows the arguments, and refuses unfree CUDA packages the way nixpkgs does. The
project's own flake.nix is evaluated against it, and what reaches buildPythonApplication is
compared with pyproject.toml. Every `.nix` file of the repository is parsed by real Nix.
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

from conftest import DATA, REPO, STUB, stub_flake_dir

# Directories whose .nix files are not the project's.
NOT_OURS = {".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}

NIX_INSTANTIATE = shutil.which("nix-instantiate")
NIX = shutil.which("nix")
pytestmark = pytest.mark.skipif(
    NIX_INSTANTIATE is None, reason="nix-instantiate is not installed (Debian package nix-bin)"
)
needs_nix_command = pytest.mark.skipif(
    NIX is None, reason="the nix command is not installed (Debian package nix-bin)"
)

# The checked-against notes the stub's messages end with, per function.
DOCKER_CHECKED = (
    "pkgs/build-support/docker/default.nix @ 34b7a306c35b279929eebbdb43af071fd92d0d4b and "
    "doc/build-helpers/images/dockertools.section.md @ "
    "b09f2c739a3e49b80049c1fd80bd8a393cc7fbc1 (arguments common to all pins)"
)
FETCHURL_CHECKED = (
    "pkgs/build-support/fetchurl/default.nix @ 005b8027ceae35e3066de839d0c8a05a3ab15171 "
    "(arguments common to all pins)"
)
BUILDENV_CHECKED = (
    "pkgs/build-support/buildenv/default.nix @ 010375ac6ad4d6c710a60a88661a6dd7d04e9fe1 and "
    "@ fdebd3d105ec65a4ea6c339c22b016b40d33653f (arguments common to all pins)"
)
TRIVIAL_CHECKED = (
    "pkgs/build-support/trivial-builders/default.nix @ 00ee9b64aafebe333c3e33ffb093734092158728"
)
STDENV_CHECKED = (
    "pkgs/stdenv/generic/make-derivation.nix @ 000b58721fef0d1cf693a6f2f4fa442b66fbe2bb "
    "(stub is stricter: standard attributes only)"
)
PYTHON_APP_CHECKED = (
    "pkgs/development/interpreters/python/mk-python-derivation.nix (index id 56259249241)"
)
PYTHON_ENV_CHECKED = "pkgs/development/interpreters/python/wrapper.nix (index id 875685300)"
MKSHELL_CHECKED = (
    "pkgs/build-support/mkshell/default.nix @ 99bf2f7c4215e8cebda6f3d6b80ad570864e102c"
)
# nixpkgs' check-meta.nix quotes names with these.
OPEN, CLOSE = "\u2018", "\u2019"

SHA256_EMPTY = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def instantiate(expression: str) -> external.Completed:
    """Evaluate `expression` strictly to JSON with the stub in scope.

    `stub` is the stub imported without config (no unfree package allowed), and
    `stubWith config` imports it with that config.
    """
    wrapped = (
        f'let stub = import {STUB} {{ system = "x86_64-linux"; }}; '
        f'stubWith = config: import {STUB} {{ system = "x86_64-linux"; inherit config; }}; '
        f"in {expression}"
    )
    return external.run(
        [str(NIX_INSTANTIATE), "--eval", "--strict", "--json", "--expr", wrapped], check=False
    )


def evaluate(expression: str) -> Any:
    """The value of `expression` (see `instantiate`), which must evaluate."""
    done = instantiate(expression)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def evaluation_error(expression: str) -> str:
    """The last error line of `expression` (see `instantiate`), which must fail."""
    done = instantiate(expression)
    assert done.returncode != 0, f"expected an evaluation error, got {done.stdout}"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors, done.stderr
    return errors[-1]


def test_every_nix_file_of_the_repository_parses() -> None:
    files = [
        path
        for path in sorted(REPO.rglob("*.nix"))
        if not NOT_OURS.intersection(path.relative_to(REPO).parts)
    ]
    assert STUB / "default.nix" in files
    assert REPO / "flake.nix" in files
    for path in files:
        done = external.run([str(NIX_INSTANTIATE), "--parse", str(path)], check=False)
        assert done.returncode == 0, f"{path.relative_to(REPO)}: {done.stderr}"


# Each case: an expression calling a stubbed function with one argument the real one does
# not take (at every pin), and the exact error line.
UNKNOWN_ARGUMENTS = {
    "streamLayeredImage": (
        'stub.dockerTools.streamLayeredImage { name = "x"; architecture = "amd64"; }',
        "error: nixpkgs-stub: dockerTools.streamLayeredImage does not take argument "
        f"'architecture' (checked against {DOCKER_CHECKED})",
    ),
    "fetchurl": (
        f'stub.fetchurl {{ url = "https://e.org/a"; hash = "{SHA256_EMPTY}"; '
        "derivationArgs = { }; }",
        "error: nixpkgs-stub: fetchurl does not take argument 'derivationArgs' "
        f"(checked against {FETCHURL_CHECKED})",
    ),
    "buildEnv": (
        'stub.buildEnv { name = "e"; paths = [ ]; includeClosures = true; }',
        "error: nixpkgs-stub: buildEnv does not take argument 'includeClosures' "
        f"(checked against {BUILDENV_CHECKED})",
    ),
    "runCommand": (
        'stub.runCommand "x" { SOME_VARIABLE = "1"; } "touch $out"',
        "error: nixpkgs-stub: runCommand does not take argument 'SOME_VARIABLE' "
        f"(checked against {TRIVIAL_CHECKED})",
    ),
    "mkDerivation": (
        'stub.stdenv.mkDerivation { name = "x"; instalPhase = ""; }',
        "error: nixpkgs-stub: stdenv.mkDerivation does not take argument 'instalPhase' "
        f"(checked against {STDENV_CHECKED})",
    ),
    "mkShell": (
        'stub.mkShell { packages = [ ]; shelHook = ""; }',
        "error: nixpkgs-stub: mkShell does not take argument 'shelHook' "
        f"(checked against {MKSHELL_CHECKED} and {STDENV_CHECKED})",
    ),
    "buildPythonApplication": (
        'stub.python3Packages.buildPythonApplication { pname = "a"; version = "1"; '
        "pyproject = true; testPaths = [ ]; }",
        "error: nixpkgs-stub: python313.pkgs.buildPythonApplication does not take argument "
        f"'testPaths' (checked against {PYTHON_APP_CHECKED} and {STDENV_CHECKED})",
    ),
    "python.buildEnv.override": (
        "stub.python311.buildEnv.override { extraLibs = [ ]; stdLibs = [ ]; }",
        "error: nixpkgs-stub: python311.buildEnv.override does not take argument 'stdLibs' "
        f"(checked against {PYTHON_ENV_CHECKED})",
    ),
    "config": (
        "import " + str(STUB) + ' { system = "x86_64-linux"; config.allowUnfree = true; }',
        "error: nixpkgs-stub: config key 'allowUnfree' is not used by cognix; the stub takes "
        "only allowUnfreePredicate",
    ),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_ARGUMENTS))
def test_a_stubbed_function_rejects_an_argument_the_real_one_does_not_take(case: str) -> None:
    expression, message = UNKNOWN_ARGUMENTS[case]
    assert evaluation_error(expression) == message


# Calls that break a rule of the real function other than the argument names.
MISUSES = {
    "fetchurl without a hash": (
        'stub.fetchurl { url = "https://e.org/a"; }',
        f"error: nixpkgs-stub: fetchurl requires a hash (checked against {FETCHURL_CHECKED})",
    ),
    "fetchurl with url and urls": (
        f'stub.fetchurl {{ url = "https://e.org/a"; urls = [ "https://e.org/b" ]; '
        f'hash = "{SHA256_EMPTY}"; }}',
        "error: nixpkgs-stub: fetchurl requires exactly one of `url` or `urls` "
        f"(checked against {FETCHURL_CHECKED})",
    ),
    "streamLayeredImage without name": (
        "stub.dockerTools.streamLayeredImage { }",
        "error: nixpkgs-stub: dockerTools.streamLayeredImage requires argument 'name' "
        f"(checked against {DOCKER_CHECKED})",
    ),
    "streamLayeredImage with one layer": (
        'stub.dockerTools.streamLayeredImage { name = "x"; maxLayers = 1; }',
        "error: the maxLayers argument of dockerTools.buildLayeredImage function must be "
        "greather than 1 (current value: 1)",
    ),
    "writeText with a non-string": (
        'stub.writeText "x" 1',
        "error: nixpkgs-stub: writeText: text (second argument) must be a string, got a int",
    ),
    "runCommand with a non-set env": (
        'stub.runCommand "x" [ ] "touch $out"',
        "error: nixpkgs-stub: runCommand: env (second argument) must be a set, got a list",
    ),
    "python.buildEnv.override with a non-module": (
        "stub.python311.buildEnv.override { extraLibs = [ stub.tini ]; }",
        "error: nixpkgs-stub: python311.buildEnv.override: extraLibs element tini-stub has no "
        "pythonModule attribute (nixpkgs would silently leave it out)",
    ),
    "python.buildEnv.override with another Python's package": (
        "stub.python311.buildEnv.override { extraLibs = [ stub.python312.pkgs.installer ]; }",
        "error: nixpkgs-stub: python311.buildEnv.override: extraLibs element installer-stub is "
        "for Python 3.12, not 3.11",
    ),
    "buildPythonApplication without pyproject or format": (
        'stub.python3Packages.buildPythonApplication { pname = "a"; version = "1"; }',
        "error: nixpkgs-stub: python313.pkgs.buildPythonApplication needs `pyproject` or "
        f"`format` (checked against {PYTHON_APP_CHECKED})",
    ),
}


@pytest.mark.parametrize("case", sorted(MISUSES))
def test_a_stubbed_function_refuses_a_misuse(case: str) -> None:
    expression, message = MISUSES[case]
    assert evaluation_error(expression) == message


def test_every_real_argument_is_accepted_and_recorded_as_stub_args() -> None:
    image_args = {
        "name": "Cog-Model",
        "tag": "t1",
        "fromImage": None,
        "contents": [],
        "config": {"Cmd": ["python"], "Env": ["A=1"]},
        "created": "1970-01-01T00:00:01Z",
        "extraCommands": "mkdir tmp",
        "fakeRootCommands": "chown 0 /",
        "enableFakechroot": False,
        "maxLayers": 90,
        "includeStorePaths": True,
        "passthru": {"extra": 1},
    }
    fetch_args = {
        "url": "https://e.org/a.whl",
        "urls": [],
        "curlOpts": "",
        "curlOptsList": [],
        "name": "a.whl",
        "pname": "a",
        "version": "1",
        "hash": SHA256_EMPTY,
        "outputHash": "",
        "outputHashAlgo": "",
        "sha1": "",
        "sha256": "",
        "sha512": "",
        "recursiveHash": False,
        "netrcPhase": None,
        "netrcImpureEnvVars": [],
        "postFetch": "",
        "downloadToTemp": False,
        "executable": False,
        "showURLs": False,
        "meta": {},
        "passthru": {},
        "preferLocalBuild": True,
        "nativeBuildInputs": [],
    }
    env_args = {
        "name": "env",
        "paths": [],
        "manifest": "",
        "ignoreCollisions": False,
        "checkCollisionContents": True,
        "pathsToLink": ["/"],
        "extraOutputsToInstall": ["lib"],
        "extraPrefix": "",
        "postBuild": "",
        "nativeBuildInputs": [],
        "buildInputs": [],
        "passthru": {},
        "meta": {},
    }
    wheel_args = {
        "pname": "torch",
        "version": "2.5.1",
        "dontUnpack": True,
        "dontConfigure": True,
        "dontBuild": True,
        "nativeBuildInputs": [],
        "buildInputs": [],
        "propagatedBuildInputs": [],
        "unpackPhase": "",
        "buildPhase": "",
        "installPhase": "runHook preInstall",
        "preFixup": "",
        "postFixup": "",
        "dontPatchShebangs": True,
        "dontStrip": True,
        "dontPatchELF": True,
        "autoPatchelfIgnoreMissingDeps": ["libcuda.so.1"],
        "appendRunpaths": ["/usr/lib64"],
        "runtimeDependencies": [],
        "passthru": {},
        "meta": {},
        "preferLocalBuild": False,
        "allowSubstitutes": True,
        "env": {"PYTHONDONTWRITEBYTECODE": "1"},
        "strictDeps": True,
        "__structuredAttrs": True,
    }
    as_nix = {
        name: f"builtins.fromJSON {json.dumps(json.dumps(value))}"
        for name, value in {
            "image": image_args,
            "fetch": fetch_args,
            "env": env_args,
            "wheel": wheel_args,
        }.items()
    }
    recorded = evaluate(
        "let " + " ".join(f"{name} = {value};" for name, value in as_nix.items()) + " calls = {"
        " image = stub.dockerTools.streamLayeredImage image;"
        " fetch = stub.fetchurl fetch;"
        " env = stub.buildEnv env;"
        " wheel = stub.stdenv.mkDerivation wheel;"
        ' run = stub.runCommand "r" { nativeBuildInputs = [ stub.patchelf ]; } "touch $out";'
        ' text = stub.writeText "t" "hello";'
        ' shell = stub.mkShell { name = "s"; packages = [ stub.uv ]; inputsFrom = [ ];'
        ' shellHook = "echo"; buildInputs = [ ]; };'
        " python = stub.python311.buildEnv.override {"
        " extraLibs = [ stub.python311.pkgs.installer ];"
        ' extraOutputsToInstall = [ ]; postBuild = ""; ignoreCollisions = true;'
        " permitUserSite = false; makeWrapperArgs = [ ]; };"
        " }; in builtins.mapAttrs (_: r: {"
        " inherit (r) stubFunction stubArgs;"
        " drvPath = r.drvPath; type = r.type; }) calls"
    )
    assert recorded["image"]["stubArgs"] == image_args
    assert recorded["fetch"]["stubArgs"] == fetch_args
    assert recorded["env"]["stubArgs"] == env_args
    assert recorded["wheel"]["stubArgs"] == wheel_args
    assert recorded["run"]["stubArgs"]["buildCommand"] == "touch $out"
    assert recorded["text"]["stubArgs"] == {"name": "t", "text": "hello"}
    assert recorded["shell"]["stubArgs"]["shellHook"] == "echo"
    assert recorded["python"]["stubArgs"]["ignoreCollisions"] is True
    assert {name: call["stubFunction"] for name, call in recorded.items()} == {
        "image": "dockerTools.streamLayeredImage",
        "fetch": "fetchurl",
        "env": "buildEnv",
        "wheel": "stdenv.mkDerivation",
        "run": "runCommand",
        "text": "writeText",
        "shell": "mkShell",
        "python": "python311.buildEnv.override",
    }
    for call in recorded.values():
        assert call["type"] == "derivation"
        assert re.fullmatch(r"/nix/store/[a-z0-9]{32}-.+\.drv", call["drvPath"])


def test_the_image_result_looks_like_nixpkgs_and_is_never_buildable() -> None:
    image = evaluate(
        'let i = stub.dockerTools.streamLayeredImage { name = "r8.im/Me/Model"; }; in'
        " { inherit (i) name imageName imageTag isExe; builder = i.drvAttrs.builder;"
        " args = i.drvAttrs.args; }"
    )
    assert image["name"] == "stream-Model"
    assert image["imageName"] == "r8.im/me/model"
    assert re.fullmatch(r"[a-z0-9]{32}", image["imageTag"])
    assert image["isExe"] is True
    assert image["builder"] == "/bin/sh"
    assert image["args"][-1].endswith("exit 1")


def test_identical_calls_share_a_drv_path_and_different_ones_do_not() -> None:
    paths = evaluate(
        "let image = config: stub.dockerTools.streamLayeredImage"
        ' { name = "m"; contents = [ stub.coreutils ]; inherit config; }; in {'
        ' first = (image { Cmd = [ "a" ]; }).drvPath;'
        ' again = (image { Cmd = [ "a" ]; }).drvPath;'
        ' other = (image { Cmd = [ "b" ]; }).drvPath;'
        ' text = (stub.writeText "t" "x").drvPath;'
        ' textAgain = (stub.writeText "t" "x").drvPath;'
        ' textOther = (stub.writeText "t" "y").drvPath;'
        " }"
    )
    assert paths["first"] == paths["again"] != paths["other"]
    assert paths["text"] == paths["textAgain"] != paths["textOther"]


def test_functions_in_arguments_are_recorded_but_not_serialised() -> None:
    # passthru may hold functions (nixpkgs' own do); the derivation cannot carry them.
    result = evaluate(
        'let d = stub.stdenv.mkDerivation { name = "f"; passthru.f = x: x; }; in'
        " { json = d.drvAttrs.stubArgs; hasF = builtins.isFunction d.stubArgs.passthru.f; }"
    )
    assert json.loads(result["json"]) == {"name": "f", "passthru": {}}
    assert result["hasF"] is True


def test_fetchurl_is_a_fixed_output_derivation_named_like_nixpkgs() -> None:
    fetched = evaluate(
        f'let f = stub.fetchurl {{ url = "https://e.org/x/b.whl"; hash = "{SHA256_EMPTY}"; }};'
        f' g = stub.fetchurl {{ urls = [ "https://mirror.org/b.whl" ]; hash = "{SHA256_EMPTY}";'
        ' name = "b.whl"; }; in { inherit (f) name url; same = f.outPath == g.outPath;'
        " differentDrv = f.drvPath != g.drvPath; }"
    )
    assert fetched == {
        "name": "b.whl",
        "url": "https://e.org/x/b.whl",
        "same": True,
        "differentDrv": True,
    }


def cuda_sets() -> dict[str, str]:
    """The cudaPackages_X_Y attribute names the stub must have, with their CUDA minor."""
    pins = tomllib.loads((DATA / "nixpkgs-pins.toml").read_text())["pin"]
    pinned = {minor for pin in pins for minor in pin.get("cuda", [])}
    torch = tomllib.loads((DATA / "torch-cuda.toml").read_text())["cuda"]
    return {"cudaPackages_" + minor.replace(".", "_"): minor for minor in torch if minor in pinned}


def test_cuda_sets_follow_the_pins_and_torch_tables() -> None:
    expected = cuda_sets()
    found = evaluate(
        "builtins.mapAttrs (_: set: builtins.attrNames set) (builtins.removeAttrs stub"
        ' (builtins.filter (n: builtins.substring 0 13 n != "cudaPackages_")'
        " (builtins.attrNames stub)))"
    )
    assert set(found) == set(expected)
    for name, minor in expected.items():
        redistributable = tuple(int(part) for part in minor.split(".")) >= (11, 4)
        wanted = {"cudaVersion", "cudatoolkit", "cudnn"}
        if redistributable:
            wanted |= {"cuda_cudart", "libcublas"}
        assert set(found[name]) == wanted, name


def test_unfree_cuda_packages_refuse_to_evaluate_without_the_predicate() -> None:
    assert evaluation_error("stub.cudaPackages_12_1.libcublas.drvPath") == (
        f"error: Package {OPEN}libcublas-12.1{CLOSE} in tests/nix/nixpkgs-stub "
        f"(cudaPackages_12_1.libcublas) has an unfree license ({OPEN}CUDA EULA{CLOSE}), "
        "refusing to evaluate."
    )
    assert evaluation_error(
        '(stubWith { allowUnfreePredicate = pkg: pkg.pname == "cudnn"; })'
        ".cudaPackages_11_8.cuda_cudart.lib.outPath"
    ) == (
        f"error: Package {OPEN}cuda_cudart-11.8{CLOSE} in tests/nix/nixpkgs-stub "
        f"(cudaPackages_11_8.cuda_cudart) has an unfree license ({OPEN}CUDA EULA{CLOSE}), "
        "refusing to evaluate."
    )


def test_unfree_cuda_packages_evaluate_when_the_predicate_admits_them() -> None:
    # Predicates usually compare lib.getName pkg, which is pkg.pname; they also see meta.
    found = evaluate(
        "let pkgs = stubWith { allowUnfreePredicate = pkg:"
        ' builtins.elem pkg.pname [ "cuda_cudart" "libcublas" "cudnn" ]'
        " && pkg.meta.license.free == false; };"
        " set = pkgs.cudaPackages_12_4; in {"
        " cudart = set.cuda_cudart.lib.outPath; cublas = set.libcublas.drvPath;"
        " cudnn = set.cudnn.outPath; name = set.cudnn.name;"
        " toolkitName = set.cudatoolkit.name; }"
    )
    assert found["cudart"].endswith("-cuda_cudart-12.4-lib")
    assert found["cublas"].endswith("-libcublas-12.4.drv")
    assert found["cudnn"].endswith("-cudnn-9")
    assert found["name"] == "cudnn-9"
    # Names stay readable without the predicate; only the paths are refused.
    assert found["toolkitName"] == "cudatoolkit-12.4"


def test_every_attribute_of_the_apt_table_exists_with_its_outputs() -> None:
    table = tomllib.loads((DATA / "apt-to-nixpkgs.toml").read_text())
    paths = {path for entry in table["packages"].values() for path in entry["nixpkgs"]}
    for path in list(paths):
        first, _, rest = path.partition(".")
        if first in table["renames"]:
            paths.add(table["renames"][first]["old"] + ("." + rest if rest else ""))
    checks = " ".join(
        f'"{path}" = (stub.{".".join(json.dumps(p) for p in path.split("."))}).outPath;'
        for path in sorted(paths)
    )
    found = evaluate("{ " + checks + " }")
    assert set(found) == paths
    for path, out_path in found.items():
        assert out_path.startswith("/nix/store/"), path
    assert evaluation_error("stub.git.dev.outPath") == "error: attribute 'dev' missing"


def test_python_interpreters_follow_the_pins() -> None:
    pins = tomllib.loads((DATA / "nixpkgs-pins.toml").read_text())["pin"]
    minors = {minor for pin in pins for minor in pin["pythons"]}
    newest = max(pins, key=lambda pin: pin["last-modified"])
    found = evaluate(
        "let pythons = builtins.removeAttrs stub (builtins.filter"
        ' (n: builtins.match "python3[0-9]+" n == null) (builtins.attrNames stub)); in'
        " builtins.mapAttrs (_: p: { inherit (p) interpreter pythonVersion sitePackages"
        " executable; packages = builtins.attrNames p.pkgs; }) pythons // {"
        " python3 = stub.python3.pythonVersion;"
        " same = stub.python3Packages == stub.python3.pkgs; }"
    )
    assert found.pop("python3") == newest["python3-default"]
    assert found.pop("same") is True
    assert set(found) == {"python" + minor.replace(".", "") for minor in minors}
    python311 = found["python311"]
    assert python311["pythonVersion"] == "3.11"
    assert python311["sitePackages"] == "lib/python3.11/site-packages"
    assert python311["executable"] == "python3.11"
    assert re.fullmatch(
        r"/nix/store/[a-z0-9]{32}-python3-3\.11/bin/python3\.11", python311["interpreter"]
    )
    assert {"installer", "pyelftools", "buildPythonApplication"} <= set(python311["packages"])


def test_a_python_env_is_an_interpreter_with_the_packages() -> None:
    env = evaluate(
        "let python = stub.python311; env = python.buildEnv.override"
        " { extraLibs = [ python.pkgs.installer ]; }; in {"
        " inherit (env) interpreter sitePackages; drv = env.drvPath;"
        " empty = python.buildEnv.drvPath; libs = map (l: l.pname) env.stubArgs.extraLibs;"
        " pythonOfEnv = env.python.pythonVersion; }"
    )
    assert re.fullmatch(
        r"/nix/store/[a-z0-9]{32}-python3-3\.11-env/bin/python3\.11", env["interpreter"]
    )
    assert env["sitePackages"] == "lib/python3.11/site-packages"
    assert env["drv"] != env["empty"]
    assert env["libs"] == ["installer"]
    assert env["pythonOfEnv"] == "3.11"


def project_copy(destination: Path) -> Path:
    """Copy what the project flake reads (not .venv) so a path: flake stays small."""
    copy = destination / "project"
    copy.mkdir()
    for name in ("flake.nix", "flake.lock", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, copy / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "cognix", copy / "cognix", ignore=ignore)
    if (REPO / "nix").is_dir():
        shutil.copytree(REPO / "nix", copy / "nix", ignore=ignore)
    return copy


def flake_eval(project: Path, stub: Path, attribute: str, apply: str | None = None) -> Any:
    """`nix eval --json` an attribute of the flake at `project` with nixpkgs = the stub."""
    argv = [
        str(NIX),
        *external.NIX_FEATURES,
        "eval",
        "--json",
        "--no-write-lock-file",
        "--override-input",
        "nixpkgs",
        f"path:{stub}",
        f"path:{project}#{attribute}",
    ]
    if apply is not None:
        argv += ["--apply", apply]
    done = external.run(argv, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def requirement_name(spec: str) -> str:
    """The PEP 503 name of a requirement, which is how nixpkgs names Python packages."""
    match = re.match(r"[A-Za-z0-9._-]+", spec)
    assert match is not None, spec
    return re.sub(r"[._]", "-", match.group(0)).lower()


def test_the_flake_lock_pins_the_newest_nixpkgs() -> None:
    pins = tomllib.loads((DATA / "nixpkgs-pins.toml").read_text())["pin"]
    newest = max(pins, key=lambda pin: pin["last-modified"])
    lock = json.loads((REPO / "flake.lock").read_text())
    assert lock["version"] == 7
    assert lock["root"] == "root"
    assert lock["nodes"]["root"] == {"inputs": {"nixpkgs": "nixpkgs"}}
    assert lock["nodes"]["nixpkgs"]["locked"] == {
        "lastModified": newest["last-modified"],
        "narHash": newest["nar-hash"],
        "owner": "NixOS",
        "repo": "nixpkgs",
        "rev": newest["rev"],
        "type": "github",
    }
    assert f"github:NixOS/nixpkgs/{newest['rev']}" in (REPO / "flake.nix").read_text()


@needs_nix_command
def test_the_project_flake_builds_cognix_from_pyproject_against_the_stub(tmp_path: Path) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    stub = stub_flake_dir(tmp_path)
    project = project_copy(tmp_path)
    reached = flake_eval(
        project,
        stub,
        "packages.x86_64-linux.default",
        "p: { inherit (p) stubFunction drvPath; args = p.stubArgs // {"
        " dependencies = map (d: d.pname) p.stubArgs.dependencies;"
        " build-system = map (d: d.pname) p.stubArgs.build-system;"
        " src = builtins.attrNames (builtins.readDir p.stubArgs.src); }; }",
    )
    assert reached["stubFunction"] == "python313.pkgs.buildPythonApplication"
    assert reached["drvPath"].endswith("-cognix-0.1.0.drv")
    args = reached["args"]
    assert args["dependencies"] == [requirement_name(spec) for spec in pyproject["dependencies"]]
    assert args["build-system"] == ["hatchling"]
    assert args["pyproject"] is True
    assert args["pname"] == "cognix"
    assert sorted(args["src"]) == ["README.md", "cognix", "nix", "pyproject.toml"]
    prefix, variable, separator, path = args["makeWrapperArgs"]
    assert (prefix, variable, separator) == ("--prefix", "PATH", ":")
    assert [Path(entry).parent.name.split("-", 1)[1] for entry in path.split(":")] == [
        "nix-stub",
        "skopeo-stub",
        "uv-stub",
    ]


@needs_nix_command
def test_the_project_dev_shell_has_the_test_tools(tmp_path: Path) -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    stub = stub_flake_dir(tmp_path)
    project = project_copy(tmp_path)
    shell = flake_eval(
        project,
        stub,
        "devShells.x86_64-linux.default",
        "s: { inherit (s) stubFunction; packages = map (p: p.name) s.stubArgs.packages;"
        " python = map (p: p.pname) (builtins.head s.stubArgs.packages).stubArgs.packages; }",
    )
    assert shell["stubFunction"] == "mkShell"
    assert shell["packages"][1:] == ["ruff-stub", "nix-stub", "skopeo-stub", "uv-stub"]
    wanted = [
        requirement_name(spec)
        for spec in extras["dependencies"] + extras["optional-dependencies"]["test"]
        if requirement_name(spec) != "ruff"
    ]
    assert shell["python"] == [*wanted, "hatchling"]


@needs_nix_command
@pytest.mark.skipif(not (REPO / "nix" / "default.nix").exists(), reason="nix/ not written yet")
def test_the_project_flake_exposes_the_nix_library(tmp_path: Path) -> None:
    stub = stub_flake_dir(tmp_path)
    project = project_copy(tmp_path)
    assert flake_eval(project, stub, "lib", "builtins.isFunction") is True
