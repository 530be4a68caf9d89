"""Where cognix keeps what it can always fetch or build again: venvs, wheels, indexes.

Everything below `cache_dir()` is safe to delete; cognix refills it when needed.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return cognix's cache folder (`$XDG_CACHE_HOME/cognix` or `~/.cache/cognix`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cognix"
