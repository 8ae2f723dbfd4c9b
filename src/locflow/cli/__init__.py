"""The `locflow` command line: one thin command per pipeline step, grouped as in `locflow
--help`. Each command parses options, calls one library function (`run_<command>` in its
stage's package) and reports where its output went; heavy imports (torch, transformers) happen
inside the commands so that `--help` stays fast.
"""

from locflow.cli.app import app, main

__all__ = ["app", "main"]

# Importing the command modules registers their commands on `app`, in this order in --help.
from locflow.cli import data, model, results, homology  # noqa: E402, F401, I001
