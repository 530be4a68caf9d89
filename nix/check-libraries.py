"""Fail when an ELF file of the image's wheels needs a library nothing in the image provides.

Run inside the image build by library-check.nix:

    python check-libraries.py --search DIR... --allow SONAME... -- ROOT...

Every ELF file under each ROOT is read with pyelftools; each DT_NEEDED entry must be found
in the file's own RUNPATH/RPATH (with $ORIGIN expanded) or in a --search folder, which are
the folders LD_LIBRARY_PATH holds in the image. The sonames given with --allow (the GPU
driver's) are left to run time. Each unresolved library is printed as `FILE: LIBRARY`, and
the exit status is 1 when there is any.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile


def elf_files(root: str) -> Iterator[str]:
    """Yield every regular file under `root` that starts with the ELF magic."""
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as stream:
                if stream.read(4) == b"\x7fELF":
                    yield path


def dynamic_links(path: str) -> tuple[list[str], list[str]]:
    """Return the file's needed sonames and its search folders, $ORIGIN expanded."""
    with open(path, "rb") as stream:
        try:
            elf = ELFFile(stream)
        except ELFError:
            return [], []
        if elf["e_machine"] != "EM_X86_64":
            return [], []
        needed: list[str] = []
        folders: list[str] = []
        for section in elf.iter_sections():
            if not isinstance(section, DynamicSection):
                continue
            for tag in section.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH"):
                    text = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
                    folders += text.split(":")
    origin = os.path.dirname(path)
    expanded = [f.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for f in folders]
    return needed, expanded


def unresolved(root: str, search: list[str], allowed: set[str]) -> Iterator[str]:
    """Yield `FILE: LIBRARY` for each library of an ELF file under `root` not found."""
    for path in elf_files(root):
        needed, folders = dynamic_links(path)
        for soname in needed:
            if soname in allowed:
                continue
            if not any(os.path.exists(os.path.join(f, soname)) for f in folders + search):
                yield f"{path}: {soname}"


def main() -> int:
    """Check every root and report what is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", nargs="*", default=[], help="LD_LIBRARY_PATH folders")
    parser.add_argument("--allow", nargs="*", default=[], help="sonames left to run time")
    parser.add_argument("roots", nargs="+", help="store paths whose ELF files are checked")
    arguments = parser.parse_args()

    missing = [line for root in arguments.roots
               for line in unresolved(root, arguments.search, set(arguments.allow))]  # fmt: skip
    for line in missing:
        print(f"missing library: {line}", file=sys.stderr)
    if missing:
        print(
            "The image lacks the libraries above. Add the apt packages that provide them "
            "to cog.yaml's system_packages (`cognix lock` names them).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
