"""Build a project's flake with Nix and return the image stream script it made.

`packages.x86_64-linux.image` is a `dockerTools.streamLayeredImage` script: running it writes
the image, as a docker-archive, to its stdout. Nix's own progress is relayed line by line;
a failure ends as an error that says what could not be fetched, or shows the end of Nix's log.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from cognix import external
from cognix.errors import JobFailed, ToolMissing

log = logging.getLogger(__name__)

# Flakes with lock version 7, `nix build --json` and `--no-write-lock-file` arrived in Nix 2.4.
MINIMUM_NIX = "2.4"
NIX_INSTALL_HINT = (
    "install Nix from https://nixos.org/download (on Debian or Ubuntu: "
    "`apt-get install nix-bin`); cognix turns on the `nix-command` and `flakes` "
    "experimental features itself"
)
TAIL_LINES = 20

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
# `warning: error: unable to download '…': …; retrying in 306 ms`: noise once it has failed.
_RETRY = re.compile(r"^warning: .*; retrying in \d+ ms$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DOWNLOAD = re.compile(r"^error: unable to download '(?P<url>[^']+)': (?P<reason>.+)")
_GIT = re.compile(r"^fatal: unable to access '(?P<url>[^']+)': (?P<reason>.+)")
_INPUT = re.compile(r"while fetching the input '(?P<input>[^']+)'")
_FAILED_DRV = re.compile(r"builder for '(?P<drv>/nix/store/[^']+\.drv)' failed")
# Characters a `path:` flake reference can hold as they are, in every Nix from 2.4 on. Nix
# before 2.13 or so does not percent-decode a `path:` reference, so `%20` cannot stand for
# a space there: a folder with any other character is built as `path:.` from inside it.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/._+,=@~-]*")


def build_image_script(
    project_dir: Path,
    *,
    nix_options: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    minimum_nix: str = MINIMUM_NIX,
    python_minor: str | None = None,
    rebuild: bool = False,
) -> Path:
    """Build `path:<project_dir>#image` and return the store path of the stream script.

    `nix_options` become `--option NAME VALUE` (substituters, builders, timeouts…).
    `progress` receives every line Nix writes to stderr, build logs included, as it comes.

    Raises `ToolMissing` when Nix is absent or older than `minimum_nix`, and `JobFailed`
    when the build fails.
    """
    nix = require_nix(minimum_nix, python_minor)
    folder = project_dir.resolve()
    installable = flake_reference(folder) + "#image"
    arguments = ["build", installable, "--no-link", "--json", "--no-write-lock-file", "-L"]
    if rebuild:
        # Build again what is already built, and fail if its output differs.
        arguments.append("--rebuild")
    for name, value in nix_options:
        arguments += ["--option", name, value]

    finished = external.run_relaying(
        external.nix_command(nix, *arguments), progress or _log_progress, cwd=folder
    )
    if finished.returncode != 0:
        raise build_failure(installable, finished.stderr, folder)
    return _stream_script(finished.stdout)


def flake_reference(project_dir: Path) -> str:
    """Return the `path:` flake reference of a folder, for a Nix run inside that folder.

    `path:` and not the bare folder: in a git repository Nix would see only tracked files
    (DESIGN.md section 4), and the generated ones may not be added yet. A folder whose path
    holds a space, `#`, `?`, `%` or non-ASCII is `path:.`: no form of its absolute path
    reaches every Nix unchanged.
    """
    folder = str(project_dir.resolve())
    return "path:" + folder if _PLAIN_PATH.fullmatch(folder) else "path:."


def require_nix(minimum: str = MINIMUM_NIX, python_minor: str | None = None) -> str:
    """Return the path of `nix`; raise `ToolMissing` when it is absent or older than `minimum`.

    With `python_minor`, a too-old Nix's hint names the newest pin it can evaluate that has
    that Python.
    """
    nix = external.find_program("nix", NIX_INSTALL_HINT)
    output = external.run([nix, "--version"]).stdout.strip()
    found = _VERSION.search(output)
    if found is None:
        log.warning("cannot tell the version of Nix from %r; going on", output)
        return nix
    version = found.group(0)
    if _version_tuple(version) < _version_tuple(minimum):
        raise ToolMissing(
            f"Nix {version} is too old: cognix needs Nix {minimum} or newer",
            f"install Nix {minimum} or newer from https://nixos.org/download (distribution "
            f"packages may be older), or {_older_pin_advice(version, python_minor)}",
        )
    return nix


def _older_pin_advice(version: str, python_minor: str | None) -> str:
    """Say which nixpkgs pin the installed Nix can evaluate, or how to choose one."""
    from cognix.resolve.pins import known_pins

    fitting = [pin for pin in reversed(known_pins())
               if _version_tuple(pin.min_nix) <= _version_tuple(version)
               and (python_minor is None or python_minor in pin.pythons)]  # fmt: skip
    if python_minor is None or not fitting:
        return "choose an older nixpkgs pin with cognix.toml's [nixpkgs] rev and run `cognix lock`"
    pin = fitting[0]
    return (
        f'set [nixpkgs] rev = "{pin.rev}" ({pin.branch}, the newest pin with Python '
        f"{python_minor} that Nix {version} evaluates) in cognix.toml and run `cognix lock`"
    )


def newer_version(*versions: str) -> str:
    """Return the newest of dotted `versions`, e.g. `2.4` of `2.3` and `2.4`."""
    return max(versions, key=_version_tuple)


def build_failure(installable: str, stderr: str, folder: Path | None = None) -> JobFailed:
    """Turn the stderr of a failed `nix build` into an error the user can act on.

    `folder` is where Nix ran, for an `installable` relative to it (`path:.#image`).
    """
    plain = (_ANSI.sub("", line) for line in stderr.splitlines())
    lines = [line for line in plain if not _RETRY.match(line)]
    errors = _error_block(lines)
    unfetched = _what_could_not_be_fetched(lines, errors)
    if unfetched is not None:
        hint = (
            "check the network and proxy (Nix reads https_proxy), or build where GitHub is "
            "reachable; a binary cache or mirror that has the sources can be passed with "
            "--nix-option substituters=URL, or the input prefetched with "
            "`nix flake prefetch` and copied here with `nix copy`"
        )
        return JobFailed(f"Nix could not fetch {unfetched}", hint)

    tail = "\n".join("  " + line for line in lines[-TAIL_LINES:])
    relative = folder is not None and installable.startswith("path:.#")
    drv = _FAILED_DRV.search("\n".join(errors))
    if drv is not None:
        hint = f"`nix-store --read-log {drv.group('drv')}` shows the whole build log"
    else:
        command = shlex.join(["nix", *external.NIX_FEATURES, "build", "--show-trace", installable])
        if relative:
            command = f"cd {shlex.quote(str(folder))} && {command}"
        hint = f"`{command}` shows where the evaluation failed"
    shown = f"{installable} in {folder}" if relative else installable
    return JobFailed(f"nix build {shown} failed; the end of its log:\n{tail}", hint)


def _error_block(lines: list[str]) -> list[str]:
    """Return the lines from Nix's first `error:` line to the end."""
    for index, line in enumerate(lines):
        if line.startswith("error:"):
            return lines[index:]
    return []


def _what_could_not_be_fetched(lines: list[str], errors: list[str]) -> str | None:
    """Name the URL or flake input Nix failed to fetch, from its own error lines."""
    # A flake input over git: git's complaint comes just before Nix's error line.
    git_failed = any("program 'git' failed" in line for line in errors)
    for pattern, candidates in ((_DOWNLOAD, errors), (_GIT, lines if git_failed else [])):
        for line in candidates:
            found = pattern.match(line)
            if found is not None:
                return f"{found.group('url')} ({found.group('reason').strip()})"
    for line in errors:
        found = _INPUT.search(line)
        if found is not None:
            return found.group("input")
    return None


def _stream_script(stdout: str) -> Path:
    """Read the output path of `nix build --json`: `[{"outputs": {"out": PATH}, …}]`."""
    try:
        built = json.loads(stdout)
        out = built[0]["outputs"]["out"]
    except (ValueError, LookupError, TypeError):
        raise JobFailed(f"nix build printed unexpected JSON: {stdout[:200]!r}") from None
    if not isinstance(out, str) or not out.startswith("/"):
        raise JobFailed(f"nix build printed an unexpected output path: {out!r}")
    return Path(out)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _log_progress(line: str) -> None:
    log.info("  %s", line)
