"""The result of the native-library check, and how it reads to the user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from cognix.resolve.system import load_apt_table


@dataclass(frozen=True)
class MissingLibrary:
    """A library one ELF file of a wheel needs that nothing provides, and who ships it.

    `apt` lists the Debian packages that ship the soname, the likeliest choice first.
    """

    wheel: str
    version: str
    member: str
    soname: str
    apt: tuple[str, ...]


@dataclass(frozen=True)
class NativeReport:
    """What the native-library check found.

    `missing`: libraries nothing provides. `unread`: (name, size) of the wheels too large
    to read without `--deep`. `unverified`: needs of wheels that depend on an unread wheel,
    which may provide them. `apt_index_error`: why the apt packages are unknown, if they are.
    """

    missing: tuple[MissingLibrary, ...]
    unread: tuple[tuple[str, int], ...] = ()
    unverified: tuple[MissingLibrary, ...] = ()
    apt_index_error: str | None = None

    def message(self) -> str:
        """Return the findings as lines for the user; empty when there are none."""
        lines: list[str] = []
        if self.missing:
            lines.append("the image would lack native libraries that locked wheels need:")
            lines += _need_lines(self.missing, self.apt_index_error is None)
        if self.apt_index_error:
            lines.append(f"which apt packages ship them is unknown: {self.apt_index_error}")
        if self.unread:
            sizes = ", ".join(f"{name} ({size / 1e6:.1f} MB)" for name, size in self.unread)
            lines.append(f"not read, as they are too large to download now: {sizes}")
        if self.unverified:
            lines.append("not checked, as they may come from a wheel that was not read:")
            lines += _need_lines(self.unverified, self.apt_index_error is None)
        return "\n".join(lines)

    def hint(self) -> str | None:
        """Return what to do about the findings, if anything.

        Only apt packages cognix can map are suggested for cog.yaml; for the other sonames,
        the way out is cognix.toml's `[image] allow-missing`, when the model never loads
        the file that needs them.
        """
        hints: list[str] = []
        known = load_apt_table()
        mappable = [name for name in self.apt_packages()
                    if name in known and known[name].kind != "refused"]  # fmt: skip
        if mappable:
            hints.append(f"add {', '.join(mappable)} to build.system_packages in cog.yaml")
        unmappable = [item.soname for item in self.missing if not set(item.apt) & set(mappable)]
        if unmappable:
            sonames = ", ".join(f'"{soname}"' for soname in dict.fromkeys(unmappable))
            hints.append(
                "if the model never loads the files that need them, list "
                f"allow-missing = [{sonames}] under [image] in cognix.toml"
            )
        if self.unread or self.unverified:
            hints.append("`cognix lock --deep` reads the large wheels too")
        return "; ".join(hints) or None

    def apt_packages(self) -> tuple[str, ...]:
        """Return one apt package for each missing soname that Debian ships, in order."""
        chosen = [item.apt[0] for item in self.missing if item.apt]
        return tuple(dict.fromkeys(chosen))


def sort_apt_packages(names: Iterable[str]) -> tuple[str, ...]:
    """Order apt packages likeliest first: known to cognix's table, not `-dev`, short."""
    known = load_apt_table()
    return tuple(
        sorted(
            set(names),
            key=lambda name: (name not in known, name.endswith("-dev"), len(name), name),
        )
    )


def _need_lines(needs: Iterable[MissingLibrary], apt_known: bool) -> list[str]:
    """Return indented lines: per wheel, the ELF files that need the same libraries."""
    lines: list[str] = []
    for (wheel, version), of_wheel in groupby(needs, key=lambda item: (item.wheel, item.version)):
        by_member: dict[str, list[MissingLibrary]] = {}
        for item in of_wheel:
            by_member.setdefault(item.member, []).append(item)
        by_needs: dict[str, list[str]] = {}
        for member in sorted(by_member):
            text = ", ".join(f"{i.soname} ({_apt_text(i, apt_known)})" for i in by_member[member])
            by_needs.setdefault(text, []).append(member)
        for text, members in sorted(by_needs.items(), key=lambda entry: entry[1][0]):
            files = (
                members[0] if len(members) == 1 else f"{members[0]} and {len(members) - 1} more"
            )
            verb = "needs" if len(members) == 1 else "need"
            lines.append(f"  {wheel} {version}: {files} {verb} {text}")
    return lines


def _apt_text(item: MissingLibrary, apt_known: bool) -> str:
    if not apt_known:
        return "apt: unknown"
    if not item.apt:
        return "no Debian package ships it"
    return "apt: " + " or ".join(item.apt)
