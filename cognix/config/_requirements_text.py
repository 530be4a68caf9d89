"""Split requirements text into logical lines and tokens that remember where they were written.

pip's file format is line based: a trailing backslash continues a line, and `#` starts a
comment at the start of a line or after whitespace (so `…#egg=name` URL fragments stay).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from cognix.errors import Location, Problem

# UTF-32 marks first: the UTF-32-LE mark starts with the UTF-16-LE one. PowerShell's `>`
# writes UTF-16 with a mark, and pip reads such files, so Cog builds accept them.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Token:
    """One whitespace-separated word of a logical line."""

    text: str
    offset: int
    location: Location


@dataclass(frozen=True)
class LogicalLine:
    """A line after joining continuations, with the origin of each physical piece."""

    text: str
    pieces: tuple[tuple[int, Location], ...]

    def locate(self, offset: int) -> Location:
        """Return the file location of the character at `offset` in `text`."""
        start, origin = self.pieces[0]
        for piece_start, piece_origin in self.pieces:
            if piece_start <= offset:
                start, origin = piece_start, piece_origin
        return replace(origin, column=origin.column + offset - start)

    def tokens(self) -> list[Token]:
        """Split the line into words, each with its location."""
        found = _WORD.finditer(self.text)
        return [Token(match.group(), match.start(), self.locate(match.start())) for match in found]


def decode(data: bytes, path: Path) -> str | Problem:
    """Decode a file's bytes, honouring a byte-order mark; report text that is not UTF-8."""
    for mark, codec in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            data, encoding = data[len(mark) :], codec
            break
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        return _decode_problem(data, path, encoding, error)


def _decode_problem(data: bytes, path: Path, encoding: str, error: UnicodeDecodeError) -> Problem:
    before = data[: error.start]
    line = before.count(b"\n") + 1
    column = 1
    if encoding == "utf-8":
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8")) + 1
    byte = data[error.start]
    message = f"requirements files must be {encoding.upper()} text; found byte 0x{byte:02x}"
    return Problem(Location(path, line, column), message, "save the file as UTF-8")


def logical_lines(text: str, origin: Location) -> Iterator[LogicalLine]:
    """Drop comments, join continued lines and yield every line that is not blank."""
    parts: list[str] = []
    pieces: list[tuple[int, Location]] = []
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(physical):
        content = strip_comment(line)
        continued = content.endswith("\\")
        pieces.append((sum(map(len, parts)), _line_origin(origin, index)))
        parts.append(content[:-1] if continued else content)
        if not continued:
            yield from _finish(parts, pieces)
            parts, pieces = [], []
    yield from _finish(parts, pieces)


def strip_comment(line: str) -> str:
    """Cut a `#` comment that starts the line or follows whitespace."""
    for index, char in enumerate(line):
        if char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _line_origin(origin: Location, index: int) -> Location:
    if index == 0:
        return origin
    return Location(origin.path, origin.line + index, 1)


def _finish(parts: list[str], pieces: list[tuple[int, Location]]) -> Iterator[LogicalLine]:
    text = "".join(parts)
    if text.strip():
        yield LogicalLine(text, tuple(pieces))
