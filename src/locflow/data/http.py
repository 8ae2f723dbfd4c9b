"""A robust HTTP client: bounded retries, Retry-After, verified bodies, resumable downloads.

Every body is checked before anyone sees it: the byte count must match Content-Length, a gzip
transfer encoding must decode to its end, and an optional caller check (say, "this gzip page is
whole") can reject it. Any of these failures, a connection error, a timeout, 429 or 5xx is retried
with exponential backoff (or the server's Retry-After), a bounded number of times; then a
`DownloadError` names the URL and the last reason. `download` streams to `<dest>.part` and resumes
it with an HTTP Range request, so a large file is never fetched twice nor left half-written.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from locflow import __version__
from locflow.errors import InputError

log = logging.getLogger(__name__)

#: Statuses that mean "try again later" rather than "this request is wrong".
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: How many rounds of `attempts` a resumable download may use while it keeps making progress.
MAX_ROUNDS = 100
USER_AGENT = f"locflow/{__version__} (python-httpx)"


class DownloadError(InputError):
    """A download failed for good: the message names the URL and the reason."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableError(Exception):
    """A transient failure (429, 5xx, incomplete body): worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IncompleteBody(RetryableError):
    """The body ended early or does not decode to its end; it must not be used."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, backoff start and cap (seconds), and timeouts."""

    attempts: int = 8
    backoff: float = 2.0
    max_wait: float = 300.0
    timeout: float = 60.0
    connect_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_wait < 0 or self.timeout <= 0:
            raise InputError(f"invalid retry policy: {self}")


@dataclass(frozen=True)
class Fetched:
    """A complete, verified response: final URL, status, headers, decoded body, Link relations."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes = b""
    links: Mapping[str, Any] = field(default_factory=dict)

    def next_url(self) -> str | None:
        """The absolute URL of the Link header's rel="next", if any."""
        link = self.links.get("next")
        return str(httpx.URL(self.url).join(link["url"])) if link else None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay seconds or an HTTP-date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _decode(raw: bytes, encoding: str | None) -> bytes:
    """Undo a gzip Content-Encoding, insisting that the stream reaches its end marker."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise IncompleteBody(f"unsupported Content-Encoding {encoding!r}")
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(raw) + decoder.flush()
    except zlib.error as exc:
        raise IncompleteBody(f"corrupt gzip transfer encoding ({exc})") from exc
    if not decoder.eof:
        raise IncompleteBody("truncated gzip transfer encoding")
    return out


def _describe(exc: BaseException, policy: RetryPolicy) -> str:
    """A short human reason for a failed attempt."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__}, limit {policy.timeout:g} s)"
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return str(exc)


def _error_detail(response: httpx.Response) -> str:
    """The reasons in a JSON error body (UniProt sends {"messages": [...]}), on one line."""
    try:
        doc = json.loads(response.read()[:4000])
        messages = doc.get("messages") if isinstance(doc, dict) else None
    except (ValueError, httpx.HTTPError):
        return ""
    return " ".join("; ".join(map(str, messages or [])).split())[:300]


class HttpClient:
    """An httpx client whose `get` and `download` retry transient failures and verify bodies."""

    def __init__(self, policy: RetryPolicy | None = None, *, user_agent: str = USER_AGENT) -> None:
        self.policy = policy or RetryPolicy()
        timeout = httpx.Timeout(self.policy.timeout, connect=self.policy.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": user_agent}
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- retry machinery --------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server gave one, else exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.max_wait)
        backoff = wait_exponential_jitter(
            multiplier=self.policy.backoff, max=self.policy.max_wait, jitter=self.policy.backoff / 2
        )
        return backoff(state)

    def _with_retries(self, url: str, attempt: Callable[[], Fetched]) -> Fetched:
        """Run `attempt` under the retry policy; a last transient failure becomes DownloadError."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.1f s",
                url,
                state.attempt_number,
                _describe(exc, self.policy) if exc else "?",
                wait,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((RetryableError, httpx.TransportError)),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except (RetryableError, httpx.TransportError) as exc:
            raise DownloadError(
                f"{url}: gave up after {self.policy.attempts} attempt(s): "
                f"{_describe(exc, self.policy)}"
            ) from exc

    def _check_status(self, response: httpx.Response) -> None:
        """Raise RetryableError for transient statuses and DownloadError for permanent ones."""
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"HTTP {status} {response.reason_phrase}".strip()
        if status in RETRY_STATUSES:
            after = retry_after_seconds(response.headers.get("retry-after"))
            raise RetryableError(reason, retry_after=after)
        detail = _error_detail(response)
        raise DownloadError(
            f"{response.request.url}: {reason}" + (f" ({detail})" if detail else ""), status
        )

    # -- public API -------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        validate: Callable[[Fetched], None] | None = None,
    ) -> Fetched:
        """GET a whole body into memory; retried until complete and accepted by `validate`."""

        def attempt() -> Fetched:
            headers = {"Accept-Encoding": "gzip"}
            with self._client.stream("GET", url, params=params, headers=headers) as response:
                self._check_status(response)
                raw = b"".join(response.iter_raw())
                expected = response.headers.get("content-length")
                if expected is not None and len(raw) != int(expected):
                    raise IncompleteBody(f"body has {len(raw)} of {expected} bytes")
                content = _decode(raw, response.headers.get("content-encoding"))
                fetched = Fetched(
                    url=str(response.url),
                    status=response.status_code,
                    headers=response.headers,
                    content=content,
                    links=response.links,
                )
            if validate is not None:
                validate(fetched)
            return fetched

        return self._with_retries(url, attempt)

    def download(
        self,
        url: str,
        dest: str | Path,
        *,
        resume: bool = True,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Fetched:
        """Stream `url` to `dest`, resuming `<dest>.part` with Range; `dest` appears only whole.

        `progress(bytes_so_far, total_or_None)` is called as bytes arrive.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        validator_file = dest.with_name(dest.name + ".part.json")
        if not resume:
            part.unlink(missing_ok=True)

        def attempt() -> Fetched:
            have = part.stat().st_size if part.exists() else 0
            # Files are compressed already; a transfer encoding would make byte ranges ambiguous.
            headers = {"Accept-Encoding": "identity"}
            if have:
                headers["Range"] = f"bytes={have}-"
                validator = _read_validator(validator_file, url)
                if validator:
                    # If the file changed on the server, If-Range makes it send the whole new one.
                    headers["If-Range"] = validator
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416 and have:
                    total = _content_range_total(response.headers.get("content-range"))
                    if total == have:
                        return _finish(part, dest, validator_file, response)
                    part.unlink(missing_ok=True)
                    raise RetryableError(f"server refused range from byte {have}; restarting")
                self._check_status(response)
                if response.status_code == 206:
                    start = _content_range_start(response.headers.get("content-range"))
                    if start != have:
                        part.unlink(missing_ok=True)
                        raise RetryableError(f"server resumed at byte {start}, not {have}")
                    total = _content_range_total(response.headers.get("content-range"))
                    mode = "ab"
                else:
                    have, mode = 0, "wb"
                    length = response.headers.get("content-length")
                    total = int(length) if length is not None else None
                _write_validator(validator_file, url, response.headers)
                size = have
                with open(part, mode) as fh:
                    for chunk in response.iter_raw():  # no chunk size: keep every byte received
                        fh.write(chunk)
                        size += len(chunk)
                        if progress is not None:
                            progress(size, total)
                size = part.stat().st_size
                if total is not None and size < total:
                    raise IncompleteBody(f"got {size} of {total} bytes; will resume")
                if total is not None and size > total:
                    part.unlink(missing_ok=True)
                    raise IncompleteBody(f"got {size} bytes but expected {total}; restarting")
                if have:
                    log.info("%s: resumed at byte %d, now complete (%d bytes)", url, have, size)
                return _finish(part, dest, validator_file, response)

        # Attempts bound failures in a row; a round that moved the file forward starts afresh,
        # so a long download over a flaky link still finishes (within MAX_ROUNDS).
        for _ in range(MAX_ROUNDS):
            before = part.stat().st_size if part.exists() else 0
            try:
                return self._with_retries(url, attempt)
            except DownloadError as exc:
                after = part.stat().st_size if part.exists() else 0
                if exc.status is not None or after <= before:
                    raise
                log.warning("%s: progress made (%d bytes); trying again", url, after)
        raise DownloadError(f"{url}: still incomplete after {MAX_ROUNDS} rounds of attempts")


def _finish(part: Path, dest: Path, validator_file: Path, response: httpx.Response) -> Fetched:
    """Move the completed part file into place and forget its resume validator."""
    os.replace(part, dest)
    validator_file.unlink(missing_ok=True)
    return Fetched(url=str(response.url), status=response.status_code, headers=response.headers)


def _content_range_start(value: str | None) -> int | None:
    """First byte of a `Content-Range: bytes a-b/n` header."""
    try:
        return int(value.split()[1].split("-")[0]) if value else None
    except (IndexError, ValueError):
        return None


def _content_range_total(value: str | None) -> int | None:
    """Total size from `Content-Range: bytes a-b/n` or `bytes */n`; None if unknown."""
    try:
        total = value.rsplit("/", 1)[1] if value else "*"
        return None if total == "*" else int(total)
    except (IndexError, ValueError):
        return None


def _read_validator(path: Path, url: str) -> str | None:
    """The ETag or Last-Modified saved for a part file of `url`."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved.get("validator") if saved.get("url") == url else None


def _write_validator(path: Path, url: str, headers: httpx.Headers) -> None:
    """Remember what identifies this version of the file, for a later If-Range."""
    etag = headers.get("etag")
    validator = etag if etag and not etag.startswith("W/") else headers.get("last-modified")
    path.write_text(json.dumps({"url": url, "validator": validator}), encoding="utf-8")
