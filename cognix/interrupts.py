"""Turn SIGTERM and SIGHUP into an exception, so that cleanup runs before cognix exits.

A program killed by a signal runs no `finally` block: a uv resolution, a venv build, a
Nix build or a Cog server it started would run on alone. `cognix.cli.main` runs every
command inside `stopping_on_signals`, and the server runner holds signals back while it
stops a server (`signals_held`). Ctrl-C needs nothing here: Python raises
KeyboardInterrupt for it already.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from cognix.errors import Interrupted

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `Interrupted`, so that `finally` blocks stop the server.

    Only the first signal raises. The previous handlers come back on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Python takes signals in the main thread only.
        return
    received: list[int] = []

    def interrupt(signal_number: int, frame: FrameType | None) -> None:
        if not received:
            received.append(signal_number)
            raise Interrupted(signal_number)

    previous = {number: signal.signal(number, interrupt) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back while the server stops; they arrive after."""
    held = {signal.SIGINT, *STOP_SIGNALS}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
