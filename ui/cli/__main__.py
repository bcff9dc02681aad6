"""`python -m ui.cli`: the `hrdd` command without its console script."""

from ui.cli import main

main()
