"""The `locflow` command line: one thin sub-command per pipeline step (DESIGN.md section 3).

Each command parses options, calls one library function and reports where its output went.
Heavy imports (torch, transformers) happen inside the commands so that `--help` stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from locflow import __version__
from locflow.files import InputError

app = typer.Typer(
    name="locflow",
    help=(
        "Protein subcellular-localization prediction in the manner of DeepLoc 2.0: curate "
        "UniProt and HPA data, partition by homology, embed, train, evaluate and predict."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"locflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def done(message: str) -> None:
    """Tell the user, on stderr, what a command wrote."""
    console.print(message, highlight=False)


# --- commands -------------------------------------------------------------------------------
# Keep each command short: parse options, call the library, print one line of what it wrote.


def main() -> None:
    """Console-script entry point: bad input becomes a one-line error and exit status 2."""
    try:
        app()
    except InputError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()

__all__ = ["app", "main", "Path"]
