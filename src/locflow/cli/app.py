"""The `locflow` application: the typer app the commands register on, how a command tells
the user what it wrote (`done`), and the one error path (`main`).
"""

from __future__ import annotations

import errno
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from locflow import __version__
from locflow.errors import InputError, ParameterError
from locflow.runtime import configure_logging

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


def _flags_as_flags() -> None:
    """Show on/off options in --help as bare flags (`--plots`), not `--plots <bool>`.

    typer's rich help prints a type for every option, flags included; the plain (click)
    help never did. Patched once here; a typer without the hook keeps its own help.
    """
    from typer.core import TyperOption

    display = getattr(TyperOption, "display_type_rich", None)
    if display is None or getattr(display, "_locflow", False):
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag or self.count else display(self, ctx)

    display_type_rich._locflow = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_flags()


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
    configure_logging(verbose)


def done(message: str) -> None:
    """Tell the user, on stderr, what a command wrote."""
    console.print(message, highlight=False)


def error(message: str, code: int = 2) -> NoReturn:
    """Print `message` as one `error:` line on stderr (never wrapped, markup-free) and exit."""
    from rich.markup import escape

    text = " ".join(str(message).split())
    # soft_wrap: the message stays one line whatever the terminal width.
    console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    sys.exit(code)


# The library's parameters whose option has another name; every other parameter `x_y` is `--x-y`.
_OPTION_NAMES = {"k": "--folds", "fmt": "--format", "model_dir": "--model"}


def option_name(parameter: str) -> str:
    """The command-line option of a library function's parameter (`tokens_per_batch` ->
    `--tokens-per-batch`): the library's errors name parameters, the commands name options."""
    return _OPTION_NAMES.get(parameter, "--" + parameter.replace("_", "-"))


def _path_error(exc: OSError) -> str:
    """'<file>: <reason>' for an OSError about a path."""
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {exc.strerror or type(exc).__name__}"


def main() -> None:
    """Console-script entry point, and locflow's one error path.

    Expected failures (bad input, a bad model, a bad path, a bad option) print one unwrapped
    `error:` line naming the file or option (a library parameter shown as its option) and exit
    with status 2; an unexpected exception
    (a bug) keeps its traceback and exits with status 1.
    """
    try:  # typer >= 0.20 carries its own copy of click
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - older typer on the real click
        from click import exceptions as click  # type: ignore[no-redef]

    try:
        code = app(standalone_mode=False)
    except ParameterError as exc:
        error(exc.named(option_name))
    except InputError as exc:
        error(str(exc))
    except click.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help())
        sys.exit(2)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "locflow"
        error(f"{where}: {exc.format_message()} (see '{where} --help')", exc.exit_code)
    except click.ClickException as exc:
        error(exc.format_message(), exc.exit_code)
    except typer.Abort:
        error("aborted", 1)
    except (
        FileNotFoundError,
        FileExistsError,
        PermissionError,
        IsADirectoryError,
        NotADirectoryError,
    ) as exc:
        if exc.filename is None:
            raise
        error(_path_error(exc))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) and exc.filename is not None:
            error(_path_error(exc))
        raise
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "console", "done", "error", "main", "option_name"]
