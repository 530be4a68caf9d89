"""Choose the Cog SDK (the `cog` package) that serves predictions in the image.

`build.sdk_version` wins when set. Otherwise the newest release that supports the
project's Python: the 0.17+ line (Rust coglet server) needs Python 3.10 or newer, and older
Pythons get the 0.16 line, the last with the pure-Python server.
"""

from __future__ import annotations

from cognix.config.model import CogConfig

FIRST_COGLET_RELEASE = "0.17.0"


def cog_requirement(config: CogConfig, python_minor: str) -> tuple[str, bool]:
    """Return the requirement line for the cog package and whether pre-releases are allowed."""
    pinned = config.build.sdk_version
    if pinned == "prerelease":
        return "cog", True
    if pinned is not None:
        return f"cog=={pinned}", False
    minor = int(python_minor.split(".")[1])
    if minor >= 10:
        return f"cog>={FIRST_COGLET_RELEASE}", False
    return f"cog>=0.16,<{FIRST_COGLET_RELEASE}", False
