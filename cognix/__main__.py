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

    from cognix.cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
