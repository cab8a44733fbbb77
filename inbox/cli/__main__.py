"""`python -m inbox.cli` runs the `inbox` command."""

from inbox.cli import main

main()
