"""What a user sees while a long command works: its stage, a count, elapsed and remaining time.

Library code reports through two module functions, `stage` and `advance`, which do nothing
unless a command turned reporting on with `reporting(...)`. On a terminal the report is one
rich progress line (stage, bar when the total is known, count, elapsed, remaining); without a
terminal (a log file, a Nextflow task, CI) it is a plain line every `interval` seconds, so a
log shows that a run is alive without filling up with bar redraws. Nothing is printed for a
run shorter than one interval.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO, Any

PLAIN_INTERVAL_S = 30.0
"""Seconds between two plain progress lines when stderr is not a terminal."""


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Reporter:
    """Progress of one command: a current stage with an optional total and a count."""

    def __init__(
        self,
        command: str,
        *,
        live: bool | None = None,
        interval: float = PLAIN_INTERVAL_S,
        stream: IO[str] | None = None,
    ) -> None:
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self.name, self.total, self.unit, self.count = "starting", None, "", 0
        self.started = self.stage_started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._task: Any = None

    # --- reporting -------------------------------------------------------------------------

    def stage(self, name: str, total: int | None = None, unit: str = "") -> None:
        """Start stage `name` (with `total` items of `unit`, when known)."""
        with self._lock:
            self.name, self.total, self.unit, self.count = name, total, unit, 0
            self.stage_started = time.monotonic()
        if self._bar is not None:
            self._bar.reset(self._task, total=total, description=self._describe())

    def advance(self, n: int = 1) -> None:
        """Count `n` more items of the current stage."""
        with self._lock:
            self.count += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n, description=self._describe())

    def _describe(self) -> str:
        count = f" ({self.count:,} {self.unit})" if self.unit and self.total is None else ""
        return f"{self.command}: {self.name}{count}"

    def line(self) -> str:
        """The plain progress line: stage, count of total, elapsed, remaining where known."""
        with self._lock:
            now = time.monotonic()
            parts = [f"{self.command}: {self.name}"]
            if self.unit:
                of = f" of {self.total:,}" if self.total is not None else ""
                parts.append(f"{self.count:,}{of} {self.unit}")
            in_stage = now - self.stage_started
            parts.append(f"{_clock(now - self.started)} elapsed")
            if self.total and 0 < self.count < self.total:
                left = in_stage / self.count * (self.total - self.count)
                parts.append(f"about {_clock(left)} left")
            return ", ".join(parts)

    # --- lifetime --------------------------------------------------------------------------

    def __enter__(self) -> Reporter:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self._describe(), total=None)
        else:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            print(self.line(), file=self.stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


_CURRENT: ContextVar[Reporter | None] = ContextVar("locflow_progress", default=None)


@contextlib.contextmanager
def reporting(command: str, show: bool = True, **kwargs: Any) -> Iterator[Reporter | None]:
    """Turn progress reporting on for the block (off when `show` is false)."""
    if not show:
        yield None
        return
    with Reporter(command, **kwargs) as reporter:
        token = _CURRENT.set(reporter)
        try:
            yield reporter
        finally:
            _CURRENT.reset(token)


def stage(name: str, total: int | None = None, unit: str = "") -> None:
    """Report the start of a stage to the active reporter, if any."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.stage(name, total, unit)


def advance(n: int = 1) -> None:
    """Count `n` items of the current stage on the active reporter, if any."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.advance(n)


__all__ = ["PLAIN_INTERVAL_S", "Reporter", "advance", "reporting", "stage"]
