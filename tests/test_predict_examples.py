"""The examples end to end with `cognix predict --local`: outputs, refused inputs, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess  # noqa: TID251 - Ctrl-C must reach a real cognix process
import sys
import time
import zlib
from pathlib import Path

import httpx
import pytest
from test_predict_local import servers_running_in

from conftest import CASES, EXAMPLES, copy_project

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3}  # colour type: gray, RGB
Pixel = tuple[int, ...]


@pytest.mark.parametrize("name", ["image", "streaming"])
def test_committed_lock_is_up_to_date(cognix, name: str) -> None:
    result = cognix("check", "--project", str(EXAMPLES / name))

    assert result.code == 0, result.stderr
    assert "  lock: up to date" in result.stdout.splitlines()


@pytest.mark.network
@pytest.mark.parametrize(
    ("arguments", "printed"),
    [
        ([], '[\n  "one",\n  "word",\n  "at",\n  "a",\n  "time"\n]\n'),
        (["-i", "text=  to  be "], '[\n  "to",\n  "be"\n]\n'),
        (["-i", "text= "], "[]\n"),
    ],
    ids=["default", "text", "nothing"],
)
def test_streaming_prints_the_words_as_a_json_list(
    tmp_path: Path, cognix, arguments: list[str], printed: str
) -> None:
    project = copy_project(EXAMPLES / "streaming", tmp_path / "streaming")

    result = cognix("predict", "--local", "--project", str(project), *arguments)

    assert result.code == 0, result.stderr
    assert (result.stdout, result.stderr) == (printed, "")
    assert servers_running_in(project) == []


@pytest.mark.network
def test_predictor_in_subfolder_shouts(tmp_path: Path, cognix) -> None:
    project = copy_project(CASES / "08-predictor-in-subfolder", tmp_path / "08")

    result = cognix("predict", "--local", "--project", str(project), "-i", "text=hi")

    assert result.code == 0, result.stderr
    assert result.stdout == "HI!\n"
    assert result.stderr.startswith("wrote pylock.toml: ")  # the case has no lock
    assert servers_running_in(project) == []


# A 3x2 RGB picture whose six pixels all differ, in gray too.
PICTURE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30), (200, 100, 50), (255, 255, 255)]
WIDTH, HEIGHT = 3, 2


@pytest.mark.network
def test_image_turned_a_quarter_and_gray(tmp_path: Path, cognix, monkeypatch) -> None:
    project = copy_project(EXAMPLES / "image", tmp_path / "image")
    (tmp_path / "in.png").write_bytes(png_bytes(WIDTH, HEIGHT, PICTURE))
    monkeypatch.chdir(tmp_path)

    result = cognix(
        "predict", "--local", "--project", str(project),
        "-i", "image=@in.png", "-i", "grayscale=true",
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", f"wrote {tmp_path / 'output.png'}\n")
    turned = quarter_turn(WIDTH, HEIGHT, PICTURE)
    expected = [(gray(pixel),) for pixel in turned]
    assert png_pixels((tmp_path / "output.png").read_bytes()) == (HEIGHT, WIDTH, expected)
    assert servers_running_in(project) == []


@pytest.mark.network
def test_image_turned_upside_down_to_a_named_file(tmp_path: Path, cognix, monkeypatch) -> None:
    project = copy_project(EXAMPLES / "image", tmp_path / "image")
    (tmp_path / "in.png").write_bytes(png_bytes(WIDTH, HEIGHT, PICTURE))
    monkeypatch.chdir(tmp_path)

    result = cognix(
        "predict", "--local", "--project", str(project),
        "-i", "image=@in.png", "-i", "angle=180", "-o", "turned.png",
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "wrote turned.png\n")
    turned = png_pixels((tmp_path / "turned.png").read_bytes())
    assert turned == (WIDTH, HEIGHT, PICTURE[::-1])
    assert not (tmp_path / "output.png").exists()


@pytest.mark.parametrize(
    ("argument", "stderr"),
    [
        (
            "angel=90",
            "error: unknown input 'angel'\n"
            "  hint: did you mean 'angle'? the inputs are image, angle, grayscale\n",
        ),
        ("angle=abc", "error: input 'angle' must be an integer, got 'abc'\n"),
        ("angle=999", "error: input 'angle' must be <= 360, got 999\n"),
        ("angle=-1", "error: input 'angle' must be >= 0, got -1\n"),
        ("grayscale=maybe", "error: input 'grayscale' must be true or false, got 'maybe'\n"),
    ],
)
def test_image_input_errors_stop_before_anything_starts(
    tmp_path: Path, cognix, monkeypatch, argument: str, stderr: str
) -> None:
    project = copy_project(EXAMPLES / "image", tmp_path / "image")
    (tmp_path / "in.png").write_bytes(png_bytes(WIDTH, HEIGHT, PICTURE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    result = cognix(
        "predict", "--local", "--project", str(project), "-i", "image=@in.png", "-i", argument
    )

    assert (result.code, result.stdout, result.stderr) == (2, "", stderr)
    assert not (project / ".cog").exists()
    assert not (tmp_path / "cache").exists()  # no environment was built
    assert servers_running_in(project) == []


def test_image_missing_file_stops_before_anything_starts(
    tmp_path: Path, cognix, monkeypatch
) -> None:
    project = copy_project(EXAMPLES / "image", tmp_path / "image")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    result = cognix("predict", "--local", "--project", str(project), "-i", "image=@in.png")

    assert result.code == 2
    assert result.stderr == (
        f"error: input 'image': no such file 'in.png'\n  hint: looked for {tmp_path / 'in.png'}\n"
    )
    assert not (project / ".cog").exists()
    assert not (tmp_path / "cache").exists()
    assert servers_running_in(project) == []


@pytest.mark.network
def test_ctrl_c_in_a_streaming_prediction_stops_everything(tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "streaming", tmp_path / "streaming")
    command = [sys.executable, "-m", "cognix", "predict", "--local", "--project", str(project)]

    with subprocess.Popen(
        [*command, "-i", "text=never said", "-i", "delay=60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        port = wait_until_busy(project, run)
        groups = {os.getpgid(pid) for pid in servers_running_in(project)}
        assert groups
        assert os.getpgrp() not in groups  # the server has a group of its own
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=30)

    assert run.returncode == 130, stderr
    assert (stdout, stderr.splitlines()[-1]) == ("", "interrupted")
    assert servers_running_in(project) == []
    assert processes_in_groups(groups) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def wait_until_busy(project: Path, run: subprocess.Popen[str], timeout: float = 300) -> int:
    """Return the port of the project's Cog server once it reports a prediction running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        port = server_port(project)
        if port is not None and health(port) == "BUSY":
            return port
        time.sleep(0.1)
    pytest.fail(f"the prediction never started; cognix exited with {run.poll()}")


def server_port(project: Path) -> int | None:
    """Return the PORT a process running in `project` was started with, if one is."""
    for pid in servers_running_in(project):
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environment:
            if item.startswith(b"PORT="):
                return int(item.removeprefix(b"PORT="))
    return None


def health(port: int) -> str | None:
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/health-check", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    return body.get("status") if isinstance(body, dict) else None


def processes_in_groups(groups: set[int]) -> list[int]:
    """Return the pids of the processes whose process group is one of `groups`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Field 5 of stat is the group; the name in field 2 may hold spaces: skip it.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) in groups:
                found.append(int(entry.name))
    return found


def quarter_turn(width: int, height: int, pixels: list[Pixel]) -> list[Pixel]:
    """Turn a row-major picture 90 degrees counter-clockwise, as Pillow's rotate(90) does."""
    return [
        pixels[row * width + width - 1 - column]
        for column in range(width)
        for row in range(height)
    ]


def gray(pixel: Pixel) -> int:
    """Return the luma Pillow's convert("L") gives: ITU-R 601-2 in 16-bit fixed point."""
    red, green, blue = pixel
    return (red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16


def png_bytes(width: int, height: int, pixels: list[Pixel]) -> bytes:
    """Encode an 8-bit RGB picture as a PNG, every row unfiltered."""
    rows = (
        b"\0" + b"".join(bytes(pixel) for pixel in pixels[row * width : (row + 1) * width])
        for row in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [(b"IHDR", header), (b"IDAT", zlib.compress(b"".join(rows))), (b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )


def png_pixels(data: bytes) -> tuple[int, int, list[Pixel]]:
    """Decode an 8-bit, non-interlaced gray or RGB PNG into width, height and pixels."""
    assert data.startswith(PNG_SIGNATURE)
    position, chunks = len(PNG_SIGNATURE), []
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
    header = dict(chunks)[b"IHDR"]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), header
    assert colour in PNG_CHANNELS, header
    channels = PNG_CHANNELS[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    samples = unfilter(raw, width * channels, height, channels)
    pixels = [
        tuple(samples[index : index + channels]) for index in range(0, len(samples), channels)
    ]
    return width, height, pixels


def unfilter(raw: bytes, stride: int, height: int, step: int) -> bytes:
    """Undo PNG's per-row filters (none, sub, up, average, Paeth), RFC 2083 section 6."""
    previous, out = bytearray(stride), bytearray()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for index in range(stride):
            left = line[index - step] if index >= step else 0
            up = previous[index]
            corner = previous[index - step] if index >= step else 0
            predicted = (0, left, up, (left + up) // 2, paeth(left, up, corner))[kind]
            line[index] = (line[index] + predicted) & 0xFF
        out += line
        previous = line
    return bytes(out)


def paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    if distances[0] <= distances[1] and distances[0] <= distances[2]:
        return left
    return up if distances[1] <= distances[2] else corner
