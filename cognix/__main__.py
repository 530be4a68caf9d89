"""Run the cognix command line as ``python -m cognix``."""

from cognix.cli import main

main()
