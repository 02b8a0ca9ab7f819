"""`python -m connector.cli`: the same as the `gemello` command."""

from connector.cli import main

main()
