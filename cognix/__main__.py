"""The `cognix` program's entry point; also runs as ``python -m cognix``.

`--version` alone is answered here, before the command-line framework is imported, so
that it stays fast; everything else goes to `cognix.cli`.
"""

import sys

from cognix import __version__


def main() -> None:
    """Run cognix with the arguments in `sys.argv`."""
    if sys.argv[1:] == ["--version"]:
        print(f"cognix {__version__}")
        sys.exit(0)

    from cognix.errors import Interrupted
    from cognix.interrupts import stopping_on_signals

    try:
        # cognix.cli.main does the same for the command; this covers importing it.
        with stopping_on_signals():
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
