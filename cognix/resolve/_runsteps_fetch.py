"""Turn curl, wget and pget run commands into downloads, and chmod into their modes."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from cognix.resolve._runsteps_model import Download, Refused, Step, other_program, relative_path
from cognix.resolve._runsteps_shell import Options, last_value, resolve, scan_options, word_set

# Files that a download creates get the mode a default umask (022) leaves.
DEFAULT_MODE = 0o644

_CURL = Options(
    flags=word_set(
        "-L --location -s --silent -S --show-error -f --fail --fail-with-body -k --insecure"
        " -# --progress-bar --create-dirs --compressed -O --remote-name -v --verbose"
        " -g --globoff --retry-all-errors --retry-connrefused -4 -6"
    ),
    valued=word_set(
        "-o --output --retry --retry-delay --retry-max-time --connect-timeout -m --max-time"
        " -C --continue-at -A --user-agent"
    ),
)
_WGET = Options(
    flags=word_set(
        "-q --quiet -c --continue -nv --no-verbose --show-progress --no-check-certificate"
        " -nc --no-clobber -N --timestamping -v --verbose -4 -6 --retry-connrefused"
    ),
    valued=word_set(
        "-O --output-document -P --directory-prefix --progress -t --tries -T --timeout"
        " --waitretry -U --user-agent"
    ),
)
_PGET = Options(
    flags=word_set("-f --force -x --extract"),
    valued=word_set("-c --concurrency -m --chunk-size --connect-timeout"),
)
_CLAUSE = re.compile(r"([ugoa]*)([-+=])([rwx]*)")
_WHO = {"u": 0o700, "g": 0o070, "o": 0o007, "a": 0o777}
_WHAT = {"r": 0o444, "w": 0o222, "x": 0o111}


def plan_curl(step: Step) -> None:
    """Plan `curl -o DEST URL` (or `-O`, or `> DEST`) as a download."""
    options, operands = scan_options(step, step.argv[1:], _CURL)
    url = _one_url(step, operands)
    dest = last_value(options, {"-o", "--output"})
    if dest is None and any(name in ("-O", "--remote-name") for name, _ in options):
        dest = _url_name(step, url)
    if dest is None and step.redirect is not None and step.redirect[0] == ">":
        dest = step.redirect[1]
    _add(step, url, dest)


def plan_wget(step: Step) -> None:
    """Plan `wget [-O FILE | -P DIR] URL` as a download."""
    options, operands = scan_options(step, step.argv[1:], _WGET)
    url = _one_url(step, operands)
    dest = last_value(options, {"-O", "--output-document"})
    if dest is None:
        folder = last_value(options, {"-P", "--directory-prefix"})
        name = _url_name(step, url)
        dest = posixpath.join(folder, name) if folder else name
    _add(step, url, dest)


def plan_pget(step: Step) -> None:
    """Plan `pget URL DEST` as a download."""
    if step.argv[1:2] == ("multifile",):
        raise other_program(step)
    options, operands = scan_options(step, step.argv[1:], _PGET)
    if any(name in ("-x", "--extract") for name, _ in options):
        message = f"{step.shown} unpacks an archive, which a hashed download cannot express"
        hint = f"describe the archive as a download with a sha256 in {step.table}"
        hint += ", and unpack it in setup()"
        raise Refused(message, hint)
    if len(operands) != 2:
        raise _not_a_download(step)
    _add(step, _one_url(step, operands[:1]), operands[1])


def fold_chmod(step: Step, mode: str, paths: Sequence[str]) -> list[str]:
    """Set `mode` on the downloads among `paths`; return the paths that are not downloads."""
    rest: list[str] = []
    for path in paths:
        index = _download_at(step, resolve(path, step.cwd))
        download = step.plan.downloads[index] if index is not None else None
        current = int(download.mode, 8) if download and download.mode else DEFAULT_MODE
        new = apply_mode(current, mode)
        if index is None or download is None or new is None:
            rest.append(path)
        else:
            step.plan.downloads[index] = replace(download, mode=f"{new:04o}")
    return rest


def apply_mode(current: int, mode: str) -> int | None:
    """Return the permission bits chmod `mode` gives a file that has `current`, or None."""
    if re.fullmatch(r"[0-7]{1,4}", mode):
        return int(mode, 8)
    for clause in mode.split(","):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            return None
        who, operator, what = match.groups()
        # Without `ugoa`, chmod masks the change with the umask (022), as the shell did.
        scope = _bits(_WHO, who) if who else 0o755
        bits = _bits(_WHAT, what) & scope
        if operator == "+":
            current |= bits
        elif operator == "-":
            current &= ~bits
        else:
            current = current & ~scope | bits
    return current


def _bits(table: dict[str, int], letters: str) -> int:
    result = 0
    for letter in letters:
        result |= table[letter]
    return result


def _download_at(step: Step, dest: str | None) -> int | None:
    found = [index for index, d in enumerate(step.plan.downloads) if d.dest == dest]
    return found[-1] if found else None


def _add(step: Step, url: str, dest: str | None) -> None:
    if dest is None or dest == "-":
        message = f"{step.shown} writes the download to standard output, not to a file"
        raise Refused(message, _download_hint(step))
    path = resolve(dest, step.cwd)
    if path is None:
        raise relative_path(step, dest)
    step.plan.downloads.append(Download(url, path, None, step.location))


def _one_url(step: Step, operands: Sequence[str]) -> str:
    if len(operands) != 1:
        raise _not_a_download(step)
    url = operands[0]
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _not_a_download(step) from None
    if parts.scheme not in ("http", "https", "ftp") or not parts.netloc:
        raise _not_a_download(step)
    return url


def _url_name(step: Step, url: str) -> str:
    name = posixpath.basename(urlsplit(url).path)
    if not name:
        message = f"{step.shown} saves under a name taken from the URL, and `{url}` has none"
        raise Refused(message, _download_hint(step))
    return name


def _not_a_download(step: Step) -> Refused:
    message = f"{step.shown} does not name one http(s) URL and where to save it"
    return Refused(message, _download_hint(step))


def _download_hint(step: Step) -> str:
    return (
        "write it as `curl -L -o /absolute/path URL`, or describe it as a download with "
        f"a sha256 in {step.table}"
    )
