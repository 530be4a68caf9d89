"""Turn apt run commands into system packages; refuse apt repositories and conda."""

from __future__ import annotations

import re

from cognix.resolve._runsteps_model import Refused, Step, other_program, project_read
from cognix.resolve._runsteps_shell import Options, project_path, scan_options, word_set

_APT = Options(
    flags=word_set(
        "-y --yes --assume-yes -q --quiet -m --fix-missing -f --fix-broken"
        " --no-install-recommends --no-install-suggests --allow-downgrades"
        " --allow-change-held-packages --force-yes --reinstall --no-upgrade --only-upgrade"
    ),
    valued=word_set("-o --option"),
)
# A Debian package name, then an optional `:arch` and `=version`, which nixpkgs cannot honour.
_PACKAGE = re.compile(r"([a-z0-9][a-z0-9+.-]+)(:[a-z0-9-]+)?(=\S+)?")
_UPGRADES = frozenset({"upgrade", "dist-upgrade", "full-upgrade"})
_CLEANS = frozenset({"clean", "autoclean", "autoremove"})


def plan_apt(step: Step) -> None:
    """Plan `apt-get …`/`apt …`: install adds packages, update and clean are dropped."""
    _, operands = scan_options(step, step.argv[1:], _APT)
    command, names = (operands[0], operands[1:]) if operands else ("", [])
    if command == "update":
        step.drop("is not needed: system packages come from the pinned nixpkgs, not apt")
    elif command in _CLEANS:
        step.drop("is not needed: no apt files go into the image")
    elif command in _UPGRADES and not names:
        step.drop("is not needed: the pinned nixpkgs fixes every system package version")
    elif command == "install" or command in _UPGRADES:
        _add_packages(step, names)
    elif command in ("remove", "purge"):
        message = f"{step.shown} removes system packages, which cognix cannot do"
        raise Refused(message, "leave the package out of build.system_packages and run")
    else:
        raise other_program(step)


def refuse_repository(step: Step) -> None:
    """Refuse a command that adds an apt repository, a PPA or a signing key."""
    message = (
        f"{step.shown} adds an apt repository, but cognix takes system packages "
        "from nixpkgs, not apt"
    )
    hint = (
        f"replace this item in {step.table} with the nixpkgs attributes that provide "
        "what you need from that repository"
    )
    raise Refused(message, hint)


def refuse_conda(step: Step) -> None:
    """Refuse conda, mamba and micromamba commands."""
    hint = (
        "list Python packages in build.python_requirements and other tools as nixpkgs "
        f"attributes in {step.table}"
    )
    raise Refused(f"{step.shown} uses conda, which cognix does not support", hint)


def _add_packages(step: Step, names: list[str]) -> None:
    packages = [_package(step, name) for name in names]
    if not packages:
        step.drop("names no package to install")
    step.plan.apt_packages += [(step.location, package) for package in packages]


def _package(step: Step, name: str) -> str:
    match = _PACKAGE.fullmatch(name)
    if match:
        return match.group(1)
    if step.cwd is None and project_path(name, step.project_dir):
        raise project_read(step, name)
    if "/" in name or name.endswith(".deb"):
        message = f"{step.shown} installs `{name}` from a local file, which cognix cannot pin"
    else:
        message = f"{step.shown} names `{name}`, which is not an apt package name"
    hint = f"replace this item in {step.table} with the nixpkgs attributes for the package"
    raise Refused(message, hint)
