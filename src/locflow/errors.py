"""The errors a user can fix: bad input files, bad records, bad parameter values.

Every stage raises them, and the `locflow` command line turns them into one `error:` line
and exit status 2 (an unexpected exception keeps its traceback). This module imports nothing
of locflow, so that every other module can use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NAMED = re.compile(r"`(\w+)`")


class InputError(ValueError):
    """Bad user input: the message names the file or record and the problem."""


class ParameterError(InputError):
    """A bad value for a parameter of a library function.

    The message names the parameter in backticks (``\\`tokens_per_batch\\` must be positive``),
    so that the command line can show its own option in its place (`named`).
    """

    def named(self, rename: Callable[[str], str]) -> str:
        """The message with each backticked parameter name replaced by `rename(name)`."""
        return _NAMED.sub(lambda match: rename(match.group(1)), str(self))


__all__ = ["InputError", "ParameterError"]
