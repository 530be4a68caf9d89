"""Read what the ELF files inside a wheel link to: their DT_NEEDED and DT_SONAME entries.

Each zip member is read where it lies, never extracted. Only the ELF header, the program
headers, the dynamic segment and the strings it names are read, with pyelftools' structures.
Seeking back in a compressed member decompresses it again from its start, so the reads go
forward wherever the file's layout allows: a large library costs about one pass, and memory
stays at a few MiB whatever its size.
"""

from __future__ import annotations

import io
import logging
import posixpath
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from elftools.common.exceptions import ELFError
from elftools.common.utils import struct_parse
from elftools.elf.structs import ELFStructs

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
# Wheels are locked for x86_64-manylinux; an ELF file for another machine is never loaded.
TARGET_MACHINE = "EM_X86_64"
_SMALLEST_ELF = 64
# zipfile seeks forward by decompressing up to 16 MiB at once; smaller steps keep memory low.
_SKIP_BYTES = 1 << 20
_STRING_BLOCK = 1 << 16
_ELF_CLASSES = {1: 32, 2: 64}
_BYTE_ORDERS = {1: True, 2: False}


@dataclass(frozen=True)
class ElfLinks:
    """One ELF file of a wheel: its path in the zip, its own soname, the sonames it needs."""

    path: str
    soname: str | None
    needed: tuple[str, ...]

    def provides(self) -> set[str]:
        """Return the names the loader can find this file by: file name and soname."""
        names = {posixpath.basename(self.path)}
        if self.soname:
            names.add(self.soname)
        return names

    def to_json(self) -> dict[str, Any]:
        """Return this file's links as a JSON-ready mapping."""
        return {"path": self.path, "soname": self.soname, "needed": list(self.needed)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ElfLinks:
        """Read links written by `to_json`."""
        return cls(str(data["path"]), data["soname"], tuple(data["needed"]))


def read_wheel_links(archive: zipfile.ZipFile) -> list[ElfLinks]:
    """Return the links of every x86-64 ELF file in the wheel `archive`."""
    found: list[ElfLinks] = []
    for info in archive.infolist():
        if info.is_dir() or info.file_size < _SMALLEST_ELF:
            continue
        with archive.open(info) as member:
            links = read_links(member, info.filename)
        if links is not None:
            found.append(links)
    return found


def read_links(member: IO[bytes], path: str) -> ElfLinks | None:
    """Return the links of the ELF file open as `member`; None for other files.

    A damaged ELF file is skipped with a warning: the loader could not use it either.
    """
    structs = _structs_for(member.read(16))
    if structs is None:
        return None
    try:
        return _read_dynamic(structs, member, path)
    except (ELFError, EOFError, KeyError, ValueError) as error:
        log.warning("skipping %s: not a readable ELF file (%s)", path, error)
        return None


def _structs_for(ident: bytes) -> ELFStructs | None:
    if len(ident) < 16 or not ident.startswith(ELF_MAGIC):
        return None
    elfclass = _ELF_CLASSES.get(ident[4])
    little_endian = _BYTE_ORDERS.get(ident[5])
    if elfclass is None or little_endian is None:
        return None
    structs = ELFStructs(little_endian=little_endian, elfclass=elfclass)
    structs.create_basic_structs()
    return structs


def _read_dynamic(structs: ELFStructs, member: IO[bytes], path: str) -> ElfLinks | None:
    header = struct_parse(structs.Elf_Ehdr, member, stream_pos=0)
    if header["e_machine"] != TARGET_MACHINE:
        log.debug("skipping %s: built for %s", path, header["e_machine"])
        return None
    osabi = header["e_ident"]["EI_OSABI"]
    structs.create_advanced_structs(header["e_type"], header["e_machine"], osabi)
    segments = _program_headers(structs, member, header)
    dynamic = next((s for s in segments if s["p_type"] == "PT_DYNAMIC"), None)
    if dynamic is None:  # a static executable or an object file: it loads nothing
        return ElfLinks(path, None, ())

    tags = _dynamic_tags(structs, member, dynamic["p_offset"], dynamic["p_filesz"])
    strings = _strings(member, _file_offset(segments, tags["DT_STRTAB"][0]), tags)
    needed = tuple(strings[offset] for offset in tags.get("DT_NEEDED", []))
    sonames = [strings[offset] for offset in tags.get("DT_SONAME", [])]
    return ElfLinks(path, sonames[0] if sonames else None, needed)


def _program_headers(structs: ELFStructs, member: IO[bytes], header: Any) -> list[Any]:
    size = header["e_phentsize"]
    table = _read_at(member, header["e_phoff"], size * header["e_phnum"])
    return [
        struct_parse(structs.Elf_Phdr, io.BytesIO(table), stream_pos=index * size)
        for index in range(header["e_phnum"])
    ]


def _dynamic_tags(
    structs: ELFStructs, member: IO[bytes], offset: int, size: int
) -> dict[str, list[int]]:
    """Return the values of DT_NEEDED, DT_SONAME and DT_STRTAB, in the file's order."""
    entry_size = structs.Elf_Dyn.sizeof()
    table = io.BytesIO(_read_at(member, offset, size))
    tags: dict[str, list[int]] = {}
    for position in range(0, size - entry_size + 1, entry_size):
        entry = struct_parse(structs.Elf_Dyn, table, stream_pos=position)
        if entry["d_tag"] == "DT_NULL":
            break
        if entry["d_tag"] in ("DT_NEEDED", "DT_SONAME", "DT_STRTAB"):
            tags.setdefault(entry["d_tag"], []).append(entry["d_val"])
    return tags


def _file_offset(segments: Iterable[Any], address: int) -> int:
    """Return where the loaded address `address` lies in the file."""
    for segment in segments:
        start = segment["p_vaddr"]
        if segment["p_type"] == "PT_LOAD" and start <= address < start + segment["p_filesz"]:
            return int(address - start + segment["p_offset"])
    raise ValueError(f"the string table address {address:#x} is in no loaded segment")


def _strings(member: IO[bytes], table: int, tags: Mapping[str, Sequence[int]]) -> dict[int, str]:
    """Return the strings at the tags' offsets into the string table, read in file order."""
    strings: dict[int, str] = {}
    start, block = 0, b""
    for offset in sorted({*tags.get("DT_NEEDED", []), *tags.get("DT_SONAME", [])}):
        at = table + offset
        if not start <= at < start + len(block):
            _seek(member, at)
            start, block = at, member.read(_STRING_BLOCK)
        while (end := block.find(b"\0", at - start)) < 0:
            more = member.read(_STRING_BLOCK)
            if not more:
                raise ValueError(f"the string at {at:#x} has no end")
            block += more
        strings[offset] = block[at - start : end].decode("utf-8", "replace")
    return strings


def _read_at(member: IO[bytes], offset: int, size: int) -> bytes:
    _seek(member, offset)
    data = member.read(size)
    if len(data) != size:
        raise EOFError(f"{size} bytes at {offset:#x} run past the end of the file")
    return data


def _seek(member: IO[bytes], offset: int) -> None:
    """Move to `offset` by reading forward; going back starts the member over."""
    if offset < member.tell():
        member.seek(0)
    while (gap := offset - member.tell()) > 0:
        if not member.read(min(gap, _SKIP_BYTES)):
            raise EOFError(f"offset {offset:#x} lies past the end of the file")
