"""`cognix check` on every real-world cog.yaml of tests/data/corpus, one expectation each.

The expectations below were written by reading each file (and INDEX.md, which says which
files are invalid on purpose). Each file is laid out as a project: cog.yaml, the predictor
files its references name, and its NNN.requirements.txt where the corpus has one.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CORPUS

ARTIFACTS = "https://files.example.com/artifacts/"
COG = "error: proj/cog.yaml:"
REQUIREMENTS = "error: proj/requirements.txt:"
PACKAGES_DEPRECATED = ":3: 'build.python_packages' is deprecated in Cog"
KNOWN_TOP_KEYS = (
    "known keys: build, image, model, run, predict, train, concurrency, environment, weights,"
    " observability, tests"
)
# A reference at the top level: `predict: "predict.py:Predictor"`, quoted or not.
REFERENCE = re.compile(r"""^(?:predict|run|train):[ ]*["']?([\w/.-]+\.py):(\w+)""", re.M)
PYTHON_REQUIREMENTS = re.compile(r"""^[ ]+python_requirements:[ ]*["']?([\w/.-]+)""", re.M)


@dataclass(frozen=True)
class Accepted:
    """`cognix check --json` exits 0 and reports these facts."""

    python: str
    gpu: bool
    cuda: str | None
    system_packages: tuple[str, ...]
    requirement_count: int
    # Exact requirement texts, a sample in file order.
    requirements: tuple[str, ...]
    run_items: int = 0
    run_pip: tuple[str, ...] = ()
    run_downloads: tuple[str, ...] = ()
    run_shell: tuple[str, ...] = ()
    predictor: str = "predict.py:Predictor"
    train: str | None = None
    image: str | None = None
    environment: tuple[str, ...] = ()
    # Warnings as `line:column: message` in cog.yaml.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """`cognix check` exits 2 with exactly these `error:` lines, and these hints among them."""

    errors: tuple[str, ...]
    hints: tuple[str, ...] = ()


def packages_deprecated(line: int) -> tuple[str]:
    return (f"{line}{PACKAGES_DEPRECATED}",)


EXPECTED: dict[str, Accepted | Refused] = {
    "001.yaml": Refused(
        (
            COG + "5:7: `add-apt-repository -y ppa:git-core/ppa` adds an apt repository,"
            " but cognix takes system packages from nixpkgs, not apt",
        ),
        (
            "  hint: replace this item in cognix.toml [run.1] with the nixpkgs attributes"
            " that provide what you need from that repository",
        ),
    ),
    "002.yaml": Accepted(
        "3.10", True, "11.7", ("ffmpeg", "libsndfile1"), 27,
        ("torch==2.0.1", "gradio==6.25.0", "Pillow==12.3.0", "safetensors==0.8.0"),
        warnings=packages_deprecated(18),
    ),
    "003.yaml": Refused((COG + "12:3: 'predict': expected text, got a mapping",)),
    "004.yaml": Accepted(
        "3.11", False, None, ("libgomp1",), 8,
        ("fastapi==0.110.0", "pydantic>=2.5", "openpyxl>=3.1.0"),
        run_items=5,
        run_shell=(
            "mkdir -p /src/models", "mkdir -p /src/data", "mkdir -p /src/logs",
            "mkdir -p /src/policies",
        ),
        warnings=packages_deprecated(13),
    ),
    "005.yaml": Refused(
        (
            COG + "5:3: unknown key 'environment_variables' in 'build'",
            COG + "24:3: 'predict': expected text, got a mapping",
            COG + "31:1: unknown key 'resources'",
        ),
        ("  hint: " + KNOWN_TOP_KEYS,),
    ),
    "006.yaml": Accepted(
        "3.11", True, None, (), 22,
        ("torch==2.0.1", "deepspeed==0.9.5", "wavedrom==2.0.3.post3", "Pygments==2.16.1"),
        run_items=1,
        run_downloads=(ARTIFACTS + "pget",),
        warnings=packages_deprecated(9),
    ),
    # The list item on line 19 lacks its '- ': reported where the stray scalar starts.
    "007.yaml": Refused(
        (COG + "19:7: invalid YAML: could not find expected ':' (while scanning a simple key)",),
        (
            "  hint: check the indentation and quote values that contain ': '"
            " or start with a symbol",
        ),
    ),
    "008.yaml": Accepted(
        "3.11", True, None, (), 24,
        ("torch==2.0.1", "protobuf==3.20.*", "diffusers==0.15.0"),
        warnings=packages_deprecated(7),
    ),
    "009.yaml": Refused(
        (
            COG + "50:7: this run item was read as a mapping because it contains ': '",
            COG + "53:1: unknown key 'command'",
        ),
        ('  hint: quote the whole command: - "..."',),
    ),
    "010.yaml": Accepted(
        "3.11", True, None, ("libgl1-mesa-glx", "libglib2.0-0"), 17,
        ("cmake==3.27.6", "opencv-python==4.8.1.78", "triton==2.0.0"),
        warnings=packages_deprecated(10),
    ),
    "011.yaml": Refused((COG + "15:3: 'train': expected text, got a mapping",)),
    "012.yaml": Accepted(
        "3.11", True, None,
        ("ffmpeg", "libavformat-dev", "libavcodec-dev", "libavdevice-dev", "libavutil-dev"),
        21,
        ("av==14.1.0", "torch", "opencv-python"),
        warnings=packages_deprecated(20),
    ),
    "013.yaml": Refused(
        (
            COG + "13:7: apt package 'python3-opencv' cannot come from nixpkgs: it installs"
            " OpenCV's Python module for Debian's Python, not the image's",
            COG + "51:7: `git clone https://files.example.com/artifacts/nvdiffrast.git"
            " /tmp/nvdif…` clones a git repository, whose content cognix cannot pin by hash",
            COG + "51:7: `pip install /tmp/nvdiffrast` installs `/tmp/nvdiffrast` from a local"
            " path, which the lock cannot pin",
            COG + "53:7: `git clone https://files.example.com/artifacts/mip-splatting.git"
            " /tmp/mi…` clones a git repository, whose content cognix cannot pin by hash",
            COG + "54:7: cognix cannot run `'TORCH_CUDA_ARCH_LIST=7.0;7.5;8.0;8.6' python"
            " setup.py install`: only pip, apt, downloads and filesystem commands become"
            " build steps",
        ),
    ),
    "014.yaml": Accepted(
        "3.10", False, None, ("ffmpeg",), 6,
        ("torch", "transformers", "diffusers", "accelerate", "imageio", "moviepy"),
        warnings=packages_deprecated(5),
    ),
    "015.yaml": Accepted(
        "3.10.14", True, "12.1", (), 31,
        ("torch>=2.3", "torchvision", "k-diffusion", "sentencepiece==0.2.0"),
        train="train.py:train",
        warnings=packages_deprecated(8),
    ),
    "016.yaml": Accepted(
        "3.9", False, None, (), 3,
        ("torch", "transformers", "sentence-transformers"),
        predictor="encode.py:Encoder",
        warnings=packages_deprecated(4),
    ),
    "017.yaml": Accepted(
        "3.11", True, None, (), 2,
        ("torch>=2.1.1", "huggingface_hub"),
        run_items=3,
        run_pip=("transformers", "accelerate", "bitsandbytes"),
        warnings=packages_deprecated(7),
    ),
    "018.yaml": Refused(
        (
            COG + "1:1: unknown key 'from_latest_tag'",
            COG + "1:1: missing required key 'build.python_version'",
            COG + "2:1: unknown key 'ignore_merge_commits'",
            COG + "4:1: unknown key 'changelog'",
            COG + "10:1: unknown key 'bump_profiles'",
            COG + "12:1: unknown key 'packages'",
        ),
    ),
    "019.yaml": Refused(
        (
            COG + "8:7: `GIT_LFS_SKIP_SMUDGE=1 git clone -b main"
            " https://files.example.com/artif…` clones a git repository, whose content"
            " cognix cannot pin by hash",
        ),
        (
            "  hint: install Python code from git as a requirement (`name @ git+URL@commit`),"
            " describe an archive as a download with a sha256 in cognix.toml [run.2],"
            " or clone in setup()",
        ),
    ),
    "020.yaml": Refused(
        (COG + "5:3: missing required key 'build.python_version'",),
        ('  hint: add python_version: "3.11" (quoted) under build:',),
    ),
    # The repository never had the requirements.txt that line 6 names.
    "021.yaml": Refused(
        (COG + "6:24: python_requirements names 'requirements.txt', which does not exist",),
    ),
    "022.yaml": Accepted(
        "3.11", False, None, ("ffmpeg",), 5,
        ("httpx", "python-dotenv", "Pillow", "requests", "numpy"),
        predictor="replicate/predict.py:Predictor",
        warnings=packages_deprecated(7),
    ),
    # Its requirements.txt holds shell commands, not requirements.
    "023.yaml": Refused(
        (
            REQUIREMENTS + "1:5: invalid requirement `git add .`: expected semicolon"
            " (after name with no version specifier) or end",
            REQUIREMENTS + "2:5: invalid requirement `git commit`: expected semicolon"
            " (after name with no version specifier) or end",
            REQUIREMENTS + "2:12: unknown option -m; expected a pip requirements-file option",
            REQUIREMENTS + "3:5: invalid requirement `git push`: expected semicolon"
            " (after name with no version specifier) or end",
            REQUIREMENTS + "4:5: invalid requirement `cog push r8.im/bahgatai/main`:"
            " expected semicolon (after name with no version specifier) or end",
        ),
    ),
    "024.yaml": Accepted(
        "3.10", True, None, ("ffmpeg",), 6,
        ("torch==2.0.1", "numpy==1.26.4", "loguru", "ffmpeg-python", "faster_whisper",
         "openai-whisper"),
        warnings=packages_deprecated(9),
    ),
    # The --extra-index-url after torch==1.13.1 is an option, not part of the requirement.
    "025.yaml": Accepted(
        "3.10", True, "11.6", (), 8,
        ("diffusers==0.12.1", "torch==1.13.1", "runpod==0.8.4"),
        run_items=1,
        run_pip=("triton",),
        warnings=packages_deprecated(5),
    ),
    "026.yaml": Accepted(
        "3.8", True, "11.3", ("libsndfile-dev", "ffmpeg"), 43,
        ("appdirs==1.4.4", "SoundFile==0.10.3.post1", "zipp==3.8.1"),
        run_items=11,
        run_pip=(
            "git+" + ARTIFACTS + "cog#egg=TorToiSe", "tokenizers==0.12.1", "transformers==4.19.0",
        ),
        run_downloads=tuple(
            ARTIFACTS + name
            for name in (
                "autoregressive.pth", "classifier.pth", "clvp2.pth", "cvvp.pth",
                "diffusion_decoder.pth", "vocoder.pth", "rlg_auto.pth", "rlg_diffuser.pth",
            )
        ),
        run_shell=("mkdir -p /root/.cache/tortoise/models/",),
        image="registry.example.com/models/model",
        warnings=packages_deprecated(14),
    ),
    "027.yaml": Accepted(
        "3.10.6", True, "12.1", ("ffmpeg",), 59,
        ("torch", "transformers>=4.28.1", "ultralytics!=8.0.177", "trimesh[easy]",
         "huggingface_hub"),
        run_items=2,
        run_pip=("onnxruntime-gpu",),
        run_downloads=(ARTIFACTS + "pget_linux_x86_64",),
        train="train.py:train",
        warnings=packages_deprecated(7),
    ),
    # apt-get install in run adds to the system packages.
    "028.yaml": Accepted(
        "3.8", True, "11.2",
        ("libgl1-mesa-glx", "libglib2.0-0", "software-properties-common", "ffmpeg"),
        10,
        ("ipython==7.30.1", "tensorflow-gpu==2.8.0", "apache-beam==2.34.0"),
        run_items=2,
        warnings=packages_deprecated(8),
    ),
    "029.yaml": Accepted(
        "3.8", True, "11.0", ("libgl1-mesa-glx", "libglib2.0-0"), 1,
        ("min-dalle==0.2.23",),
        run_items=1,
        run_pip=("torch==1.10.0+cu113",),
        predictor="replicate/predict.py:Predictor",
        warnings=packages_deprecated(8),
    ),
    "030.yaml": Refused((COG + "6:19: Python 3.7 is not in any nixpkgs revision cognix pins",)),
    "031.yaml": Accepted(
        "3.9", True, "11.3", ("libgl1-mesa-glx", "libglib2.0-0"), 14,
        ("numpy==1.21.1", "torch==1.11.0", "matplotlib==3.5.1"),
        warnings=packages_deprecated(8),
    ),
    "032.yaml": Accepted(
        "3.8", True, None, ("libgl1-mesa-glx", "libglib2.0-0"), 15,
        ("cmake==3.21.2", "torch==1.8.0", "ipython==7.19.0"),
        run_items=1,
        run_pip=("dlib",),
        warnings=packages_deprecated(7),
    ),
    # `cuda: 11.0` is unquoted: its text is kept, not the float 11.
    "033.yaml": Accepted(
        "3.8", True, "11.0", ("libgl1-mesa-glx", "libglib2.0-0"), 16,
        ("torchvision==0.10.0", "torch==1.9.0", "omegaconf==2.1.1"),
        warnings=packages_deprecated(8),
    ),
    # The requirements file of `cog init` holds only comments.
    "034.yaml": Accepted(
        "3.11", False, None, (), 0, (),
        predictor="predict.py:run",
        warnings=("20:3: 'build.fast' has no effect: fast push was removed in Cog 0.17",),
    ),
    "035.yaml": Accepted("3.12", False, None, (), 0, (), train="train.py:train"),
    "036.yaml": Accepted(
        "3.12", False, None, (), 1, ("jupyterlab==3.2.4",), warnings=packages_deprecated(3)
    ),
    "037.yaml": Accepted(
        "3.12", True, None, (), 3, ("pillow==12.1.1", "torch==2.8.0", "torchvision==0.23.0")
    ),
    "038.yaml": Accepted("3.12", False, None, (), 0, ()),
    "039.yaml": Accepted(
        "3.10", True, "11.6", (), 6,
        ("diffusers==0.11.1", "torch==1.13.0", "accelerate==0.15.0"),
        warnings=packages_deprecated(5),
    ),
    "040.yaml": Accepted(
        "3.9", True, None, ("ffmpeg",), 6,
        ("numpy==1.24.1", "torch==1.13.0", "ffmpeg-python==0.2.0"),
        run_items=1,
        run_pip=("openai-whisper",),
        warnings=packages_deprecated(16),
    ),
    "041.yaml": Accepted(
        "3.12", False, None, (), 0, (), environment=("NAME=michael", "TEST_VAR=test_value")
    ),
    "042.yaml": Refused(
        (
            COG + "4:16: a secret mount cannot be reproduced without putting the secret into"
            ' the build\'s inputs, so `ID="file-secret"; EXPECTED_VALUE="file_secret_value";'
            ' EXPECTED_PATH="/e…` is refused',
            COG + "13:16: a secret mount cannot be reproduced without putting the secret into"
            ' the build\'s inputs, so `ID="env-secret"; EXPECTED_VALUE="env_secret_value";'
            ' EXPECTED_PATH="/var…` is refused',
        ),
    ),
    "043.yaml": Accepted(
        "3.10", True, "11.8", ("libgl1", "libglib2.0-0", "xvfb"), 30,
        ("compel==2.0.3", "sentry-sdk[fastapi,loguru]>=2.16.0", "opencv_python==4.11.0.86",
         "tqdm==4.67.1"),
    ),
    "044.yaml": Accepted(
        "3.12", True, "12.8", (), 1, ("torch==2.7.1+cu128",), warnings=packages_deprecated(5)
    ),
    # GPU with an unversioned torch is decided at lock time, not by check.
    "045.yaml": Accepted("3.12", True, None, (), 1, ("torch",)),
    "046.yaml": Accepted(
        "3.10.14", True, "12.4", (), 45,
        ("torch==2.4.1", "lion-pytorch==0.2.2", "deepspeed==0.9.5", "Pygments==2.16.1"),
        run_items=2,
        run_pip=("git+https://files.example.com/artifacts/diffusers.git@flux-inpaint",),
        run_downloads=(ARTIFACTS + "pget_linux_x86_64",),
        train="train.py:train",
        warnings=packages_deprecated(8),
    ),
    "047.yaml": Accepted(
        "3.8", True, None, ("libgl1-mesa-glx", "libglib2.0-0"), 7,
        ("numpy==1.20", "torch==1.11.0", "tqdm==4.64.0"),
        run_items=3,
        run_pip=("basicsr", "gfpgan"),
        run_downloads=(ARTIFACTS + "RealESRGAN_x4plus.pth", ARTIFACTS + "GFPGANv1.3.pth"),
        run_shell=("mkdir -p /root/.cache/realesrgan",),
        image="registry.example.com/models/model",
        warnings=packages_deprecated(11),
    ),
}  # fmt: skip

ACCEPTED = sorted(name for name, outcome in EXPECTED.items() if isinstance(outcome, Accepted))
REFUSED = sorted(name for name, outcome in EXPECTED.items() if isinstance(outcome, Refused))


@pytest.fixture
def lay_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Return a function that writes corpus file `name` as the project `proj` in tmp_path.

    The working directory is tmp_path, so messages show paths such as `proj/cog.yaml`.
    """
    monkeypatch.chdir(tmp_path)

    def write(name: str) -> Path:
        source = CORPUS / name
        text = source.read_text("utf-8")
        project = tmp_path / "proj"
        project.mkdir()
        shutil.copyfile(source, project / "cog.yaml")
        for file, symbol in REFERENCE.findall(text):
            path = project / file
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as module:
                module.write(_definition(symbol))
        requirements = CORPUS / f"{source.stem}.requirements.txt"
        named = PYTHON_REQUIREMENTS.search(text)
        if named and requirements.is_file():
            shutil.copyfile(requirements, project / named.group(1))
        return project

    return write


def _definition(symbol: str) -> str:
    """Define `symbol` as a class when capitalised (`Predictor`), else as a function."""
    if symbol[0].isupper():
        return f"class {symbol}:\n    def predict(self) -> str:\n        return ''\n\n\n"
    return f"def {symbol}() -> str:\n    return ''\n\n\n"


def test_every_corpus_file_has_an_expectation() -> None:
    assert set(EXPECTED) == {path.name for path in CORPUS.glob("*.yaml")}


def test_layout_writes_references_and_requirements(lay_out: Callable[[str], Path]) -> None:
    project = lay_out("027.yaml")

    assert sorted(str(path.relative_to(project)) for path in project.rglob("*")) == [
        "cog.yaml", "predict.py", "train.py",
    ]  # fmt: skip
    assert (project / "predict.py").read_text() == (
        "class Predictor:\n    def predict(self) -> str:\n        return ''\n\n\n"
    )
    assert (project / "train.py").read_text() == "def train() -> str:\n    return ''\n\n\n"


def test_layout_copies_requirements_to_the_named_path(lay_out: Callable[[str], Path]) -> None:
    project = lay_out("043.yaml")

    copied = (project / "requirements.txt").read_bytes()
    assert copied == (CORPUS / "043.requirements.txt").read_bytes()
    assert (project / "cog.yaml").read_bytes() == (CORPUS / "043.yaml").read_bytes()


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted(name: str, lay_out: Callable[[str], Path], cognix) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Accepted)
    lay_out(name)

    result = cognix("check", "--project", "proj", "--json")

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    build = report["config"]["build"]
    assert build["python_version"] == expected.python
    assert build["gpu"] is expected.gpu
    assert build.get("cuda") == expected.cuda
    assert len(build["run"]) == expected.run_items
    assert report["system_packages"] == list(expected.system_packages)
    texts = report["python_requirements"]
    assert len(texts) == expected.requirement_count
    assert [text for text in texts if text in expected.requirements] == list(expected.requirements)
    assert report["run_steps"] == {
        "python_requirements": list(expected.run_pip),
        "downloads": list(expected.run_downloads),
        "shell": list(expected.run_shell),
    }
    assert report["predictor"] == expected.predictor
    assert {key: value for key, value in report["config"].items() if key != "build"} == {
        "predict": expected.predictor,
        "environment": list(expected.environment),
        **({"train": expected.train} if expected.train else {}),
        **({"image": expected.image} if expected.image else {}),
    }
    assert report["warnings"] == [f"proj/cog.yaml:{text}" for text in expected.warnings]
    assert report["lock"] == "missing"


@pytest.mark.parametrize("name", REFUSED)
def test_refused(name: str, lay_out: Callable[[str], Path], cognix) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Refused)
    lay_out(name)

    result = cognix("check", "--project", "proj")

    assert result.code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == list(expected.errors)
    assert [line for line in lines if line in expected.hints] == list(expected.hints)


def test_backslash_in_folded_run_item_joins_the_words(
    lay_out: Callable[[str], Path], cognix
) -> None:
    # 019's first run item is a plain scalar folded over three lines, with shell-style `\`.
    project = lay_out("019.yaml")
    cog_yaml = project / "cog.yaml"
    lines = cog_yaml.read_text().splitlines(keepends=True)
    assert lines[7].startswith("    - GIT_LFS_SKIP_SMUDGE=1 git clone")
    cog_yaml.write_text("".join(lines[:7] + lines[8:]))

    result = cognix("check", "--project", "proj", "--json")

    assert result.code == 0, result.stderr
    pip = json.loads(result.stdout)["run_steps"]["python_requirements"]
    assert len(pip) == 19
    assert pip[:2] == ["pytorch-lightning==2.1.2", "einops"]
    assert pip[6:8] == ["tensorboard", "PyMCubes"]
    assert pip[15:17] == ["plyfile", "git+" + ARTIFACTS + "nvdiffrast"]
    assert pip[-1] == "torchvision"
