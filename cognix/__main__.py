"""The `cognix` program's entry point; also runs as ``python -m cognix``.

`--version` alone is answered here, before the command-line framework is imported, so
that it stays fast; everything else goes to `cognix.cli`.
"""

import signal
import sys
from types import FrameType

from cognix import __version__


def _interrupt(signal_number: int, frame: FrameType | None) -> None:
    # Raised where the program is, so that `finally` blocks and the children of
    # `external.run` (uv, nix) are stopped before cognix exits with 128 + the number.
    from cognix.errors import Interrupted

    raise Interrupted(signal_number)


def main() -> None:
    """Run cognix with the arguments in `sys.argv`."""
    if sys.argv[1:] == ["--version"]:
        print(f"cognix {__version__}")
        sys.exit(0)

    from cognix.errors import Interrupted

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    try:
        from cognix.cli import main as run_cli

        run_cli()
    except KeyboardInterrupt:
        # Ctrl-C while the command line is still being imported: cli.main is not yet there
        # to catch it.
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Interrupted as interrupted:
        print(f"error: {interrupted.message}", file=sys.stderr)
        sys.exit(interrupted.exit_code)


if __name__ == "__main__":
    main()
