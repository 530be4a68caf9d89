"""`cognix check` on mutated cog.yaml files: exit 0 or 2, never a traceback, errors located.

Each example starts from a valid cog.yaml (real corpus files and shared cases) and applies a
few random edits of the kinds people and editors make: lines deleted, duplicated, swapped or
re-indented, YAML punctuation and stray characters typed in, a value of another type, a cut
file, bytes that are not UTF-8, a byte-order mark.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CASES, CORPUS

PREDICTOR = "class Predictor:\n    def predict(self) -> str:\n        return ''\n"

SEEDS = {
    "case-02": CASES / "02-comment-only-lists" / "cog.yaml",
    "case-06": CASES / "06-requirement-markers" / "cog.yaml",
    "case-08": CASES / "08-predictor-in-subfolder" / "cog.yaml",
    "004": CORPUS / "004.yaml",
    "014": CORPUS / "014.yaml",
    "015": CORPUS / "015.yaml",
    "026": CORPUS / "026.yaml",
    "033": CORPUS / "033.yaml",
    "034": CORPUS / "034.yaml",
    "041": CORPUS / "041.yaml",
    "047": CORPUS / "047.yaml",
}
SEED_BYTES = [path.read_bytes() for path in SEEDS.values()]

PUNCTUATION = [
    ": ", "- ", "{", "}", "[", "]", '"', "'", "&", "*", "!", "%", "#", "\t", "\r", "\n",
    "|", ">", "? ", ",", "@", "`", "\\", "---\n", "...\n", "\r\n", " ",
]  # fmt: skip
SCALARS = [
    "true", "false", "yes", "~", "null", "12", "-1", "0x1F", "3.10", "1e3", ".inf", "[]", "{}",
    "[a, b]", "{max: 2}", '"text"', "''", "|", ">-", "!!binary aGk=", "!!int 3", "!custom x",
    "&a x", "*a", "*missing", "- item", "key: value", "? x", "%TAG", "@x", "&r [*r]",
    "&r {k: *r}", "[" * 80 + "]" * 80, "[" * 400 + "]" * 400, "{a: " * 2000,
]  # fmt: skip
RAW_BYTES = [b"\xff", b"\xfe", b"\xc3", b"\x80\x81", b"\x00", b"\xed\xa0\x80", b"\xef\xbb\xbf"]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]
LOCATED = re.compile(r"^(?:error|warning): (?P<path>\S.*?):(?P<line>\d+):(?P<column>\d+): \S")

Edit = Callable[[bytes], bytes]
index = st.integers(min_value=0, max_value=10_000)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _delete_line(at: int) -> Edit:
    def edit(data: bytes) -> bytes:
        lines = _lines(data)
        del lines[at % len(lines)]
        return b"".join(lines)

    return edit


def _duplicate_line(at: int) -> Edit:
    def edit(data: bytes) -> bytes:
        lines = _lines(data)
        line = lines[at % len(lines)]
        lines.insert(at % len(lines), line if line.endswith(b"\n") else line + b"\n")
        return b"".join(lines)

    return edit


def _swap_lines(first: int, second: int) -> Edit:
    def edit(data: bytes) -> bytes:
        lines = [line.rstrip(b"\r\n") for line in _lines(data)]
        a, b = first % len(lines), second % len(lines)
        lines[a], lines[b] = lines[b], lines[a]
        return b"\n".join(lines) + b"\n"

    return edit


def _reindent(at: int, shift: int) -> Edit:
    def edit(data: bytes) -> bytes:
        lines = _lines(data)
        line = lines[at % len(lines)]
        body = line.lstrip(b" ")
        width = max(0, len(line) - len(body) + shift)
        lines[at % len(lines)] = b" " * width + body
        return b"".join(lines)

    return edit


def _insert(at: int, text: bytes) -> Edit:
    def edit(data: bytes) -> bytes:
        position = at % (len(data) + 1)
        return data[:position] + text + data[position:]

    return edit


def _replace_value(at: int, scalar: str) -> Edit:
    """Replace what follows the first `: ` or `- ` of a line with a value of another type."""

    def edit(data: bytes) -> bytes:
        lines = _lines(data)
        number = at % len(lines)
        line = lines[number].rstrip(b"\r\n")
        match = re.search(rb"(?:: |- )", line)
        start = match.end() if match else len(line)
        lines[number] = line[:start] + scalar.encode() + b"\n"
        return b"".join(lines)

    return edit


def _truncate(at: int) -> Edit:
    return lambda data: data[: at % (len(data) + 1)]


def _prefix(mark: bytes) -> Edit:
    return lambda data: mark + data


edits = st.one_of(
    st.builds(_delete_line, index),
    st.builds(_duplicate_line, index),
    st.builds(_swap_lines, index, index),
    st.builds(_reindent, index, st.integers(min_value=-6, max_value=6)),
    st.builds(_insert, index, st.sampled_from(PUNCTUATION).map(str.encode)),
    st.builds(
        _insert, index, st.text(max_size=4).map(lambda text: text.encode("utf-8", "replace"))
    ),
    st.builds(_insert, index, st.sampled_from(RAW_BYTES)),
    st.builds(_replace_value, index, st.sampled_from(SCALARS)),
    st.builds(_truncate, index),
    st.builds(_prefix, st.sampled_from(BOMS)),
)


def _apply(seed: bytes, chosen: list[Edit]) -> bytes:
    for edit in chosen:
        seed = edit(seed)
    return seed


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project holding every file the seeds name, so only cog.yaml decides the outcome."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "proj"
    for folder in ("model", "replicate"):
        (root / folder).mkdir(parents=True)
        (root / folder / "predict.py").write_text(PREDICTOR)
    (root / "predict.py").write_text(PREDICTOR + "\n\ndef run() -> str:\n    return ''\n")
    (root / "train.py").write_text("def train() -> str:\n    return ''\n")
    shutil.copy(CORPUS / "037.requirements.txt", root / "requirements.txt")
    shutil.copytree(CASES / "06-requirement-markers" / "deps", root / "deps")
    return root


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_are_valid(name: str, project: Path, cognix) -> None:
    (project / "cog.yaml").write_bytes(SEEDS[name].read_bytes())

    result = cognix("check", "--project", "proj")

    assert (result.code, _error_lines(result.stderr)) == (0, [])


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.sampled_from(SEED_BYTES), chosen=st.lists(edits, min_size=1, max_size=3))
def test_mutated_cog_yaml_is_accepted_or_refused_with_locations(
    project: Path, cognix, seed: bytes, chosen: list[Edit]
) -> None:
    data = _apply(seed, chosen)
    (project / "cog.yaml").write_bytes(data)
    last_line = len(data.decode("utf-8", "replace").splitlines()) + 1

    result = cognix("check", "--project", "proj", "--json")

    assert result.code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert bool(_error_lines(result.stderr)) == (result.code == 2), result.stderr
    if result.code == 0:
        assert json.loads(result.stdout)["config"]["build"]["python_version"]
    for line in result.stderr.splitlines():
        if not line.startswith(("error:", "warning:")):
            continue
        match = LOCATED.match(line)
        assert match is not None, line
        assert match["path"].startswith("proj/"), line
        assert int(match["line"]) >= 1, line
        assert int(match["column"]) >= 1, line
        if match["path"] == "proj/cog.yaml":
            assert int(match["line"]) <= last_line, line
