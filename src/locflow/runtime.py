"""How a run uses the machine and talks to its user: device, precision, threads, logging and
progress. Every stage uses these helpers, so each rule is written once.

- `resolve_device` picks the torch device ('auto' is CUDA when available), `autocast` the
  mixed precision a device runs under (bf16 on CUDA, none on CPU), `set_threads` the CPU
  threads torch uses, `keep_freed_memory` the allocator setting that spares a CPU run from
  faulting in every batch's memory anew, `configure_logging` the log format and level.
- Progress: library code reports through `stage`, `advance`, `update` and `note`, which do
  nothing unless the caller turned reporting on with `reporting(...)` (the command line does,
  for each command). On a terminal the report is one rich progress line (stage, bar when the
  total is known, count, elapsed, remaining); without a terminal (a log file, a Nextflow task,
  CI) it is a plain line every `interval` seconds, so a log shows that a run is alive without
  filling up with bar redraws, plus one line per `note` (train writes one per epoch). Nothing
  periodic is printed for a run shorter than one interval.

torch is imported inside the functions that need it: the data and homology stages report
progress too, and must not pay for loading torch.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import platform
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any

from locflow.errors import ParameterError

if TYPE_CHECKING:
    import torch

# --- device, precision, threads, logging ------------------------------------------------------


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' is CUDA when available, else CPU; asking for absent CUDA is a ParameterError."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError as exc:
        raise ParameterError(
            f"`device` {device}: not a valid device (auto, cpu or cuda[:N])"
        ) from exc
    if device.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"`device` {device}: not a device locflow uses (auto, cpu or cuda)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"`device` {device}: no CUDA device is available")
    return device


def autocast(device: torch.device) -> Any:
    """The mixed precision models run under on `device`: bf16 on CUDA, full precision else."""
    import torch

    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def set_threads(threads: int) -> None:
    """Let torch use `threads` CPU threads in this process (several workers share a machine)."""
    import torch

    torch.set_num_threads(int(threads))


# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64-bit.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc keep freed tensor memory for the next batch instead of handing it back to
    the kernel; returns whether it could (glibc only, a no-op elsewhere).

    By default glibc serves blocks above a moving threshold with fresh mmap pages and trims
    the heap after large frees, so every training step faults in and zeroes its activations
    again: on a 2-core CPU that was 2.5x the page faults and about 10% of a cnn step
    (docs/benchmarks.md). Tensors up to 32 MiB now come from and return to the heap.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    trim = libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    mmap = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
    return bool(trim and mmap)


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr with time, level and module; INFO when verbose, else WARNING."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --- progress ---------------------------------------------------------------------------------

PLAIN_INTERVAL_S = 30.0
"""Seconds between two plain progress lines when stderr is not a terminal."""


def clock(seconds: float) -> str:
    """Seconds as h:mm:ss."""
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

    def update(self, count: int, total: int | None = None) -> None:
        """Set the current stage's count (and its total, once known)."""
        with self._lock:
            self.count = count
            if total is not None:
                self.total = total
        if self._bar is not None:
            self._bar.update(
                self._task, completed=count, total=self.total, description=self._describe()
            )

    def note(self, text: str) -> None:
        """Print one line now: `text` with the time elapsed (above the bar on a terminal)."""
        line = f"{self.command}: {text}, {clock(time.monotonic() - self.started)} elapsed"
        if self._bar is not None:
            self._bar.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self.stream, flush=True)

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
            parts.append(f"{clock(now - self.started)} elapsed")
            if self.total and 0 < self.count < self.total:
                left = in_stage / self.count * (self.total - self.count)
                parts.append(f"about {clock(left)} left")
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


def update(count: int, total: int | None = None) -> None:
    """Set the current stage's count (and total) on the active reporter, if any."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.update(count, total)


def note(text: str) -> None:
    """Print one progress line (`text`, elapsed time) through the active reporter, if any."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.note(text)


__all__ = [
    "PLAIN_INTERVAL_S",
    "Reporter",
    "advance",
    "autocast",
    "clock",
    "configure_logging",
    "note",
    "reporting",
    "resolve_device",
    "set_threads",
    "stage",
    "update",
]
