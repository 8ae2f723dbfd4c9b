"""`python -m locflow.cli`: the `locflow` command."""

from locflow.cli import main

main()
