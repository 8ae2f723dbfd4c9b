"""Data retrieval: UniProtKB entries (REST search or a release's flat file) and HPA locations.

Each fetch writes its data file and `fetch.json` (what was fetched: source, release, query, URL,
date, counts, SHA-256) into one folder. Work in progress lives in hidden files beside them, so a
killed run continues where it stopped, and the data file appears, atomically, only when complete.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locflow import runtime
from locflow.data.files import atomic_path, file_sha256, write_json
from locflow.data.http import DownloadError, Fetched, HttpClient, IncompleteBody, RetryPolicy
from locflow.errors import ParameterError

log = logging.getLogger(__name__)

UNIPROT_REST = "https://rest.uniprot.org"
UNIPROT_FTP = "https://ftp.uniprot.org"
#: Reviewed, eukaryotic, whole proteins with a subcellular location backed by an experimental
#: assertion. Only a speed-up: curation re-applies every filter to the parsed entries.
DEFAULT_QUERY = (
    "(reviewed:true) AND (taxonomy_id:2759) AND (fragment:false) AND (cc_scl_term_exp:*)"
)
FORMATS = {"txt": "uniprot.dat.gz", "json": "uniprot.json.gz"}
DEFAULT_HPA_VERSION = "23"
HPA_FILE = "subcellular_location.tsv"
RECORD = "fetch.json"
_STATE = ".fetch-state.json"
_PAGES = ".pages"
_RELEASE = re.compile(r"^\d{4}_\d{2}$")
_HPA_VERSION = re.compile(r"^v?(\d+)(?:\.\d+)?$", re.IGNORECASE)


_Progress = Callable[[int, int | None], None]


def _now() -> str:
    """The current UTC time, to the second, in ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _host(base_url: str | None, default: str) -> str:
    """The scheme and host to use, without a trailing slash."""
    return (base_url or default).rstrip("/")


def _done_before(out: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """The previous record if the same fetch already completed in `out` and its file is intact."""
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = out / str(record.get("file", ""))
    if record.get("params") != params or not path.is_file():
        return None
    return record if path.stat().st_size == record.get("bytes") else None


# --- UniProt ----------------------------------------------------------------------------------


def run_fetch_uniprot(
    out: str | Path,
    *,
    query: str | None = None,
    release: str | None = None,
    base_url: str | None = None,
    fmt: str = "txt",
    page_size: int = 500,
    stream: bool = False,
    policy: RetryPolicy | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Fetch UniProtKB entries into `out` (REST search, or the flat file of a pinned `release`)."""
    out = Path(out)
    if query is not None and release is not None:
        raise ParameterError(
            "`query` and `release` exclude each other: a release is all of Swiss-Prot"
        )
    if fmt not in FORMATS:
        raise ParameterError(f"`fmt` {fmt!r}: choose one of {', '.join(FORMATS)}")
    if release is not None:
        if not _RELEASE.match(release):
            raise ParameterError(f"`release` {release!r}: expected a UniProt release like 2021_03")
        if fmt != "txt":
            raise ParameterError("`release` gives the Swiss-Prot flat file; use `fmt` txt")
    if page_size < 1:
        raise ParameterError(f"`page_size` {page_size}: must be at least 1")
    params: dict[str, Any] = {"release": release, "format": fmt}
    if release is None:
        params.update(query=query or DEFAULT_QUERY, stream=stream)
    params["base_url"] = base_url
    if not force and (record := _done_before(out, params)):
        log.info("%s already holds this fetch; nothing to do", out)
        return record
    out.mkdir(parents=True, exist_ok=True)
    label = f"UniProt {release}" if release else "UniProt entries"
    runtime.stage(label, None, "bytes" if release else "entries")
    with HttpClient(policy) as client:
        if release is not None:
            host = _host(base_url, UNIPROT_FTP)
            record = _fetch_release(client, out, release, host, runtime.update)
        elif stream:
            record = _fetch_stream(client, out, params["query"], fmt, _host(base_url, UNIPROT_REST))
        else:
            rest = _host(base_url, UNIPROT_REST)
            record = _fetch_search(
                client, out, params["query"], fmt, rest, page_size, runtime.update
            )
    record["params"] = params
    write_json(out / RECORD, record)
    return record


def search_url(base: str, endpoint: str, query: str, fmt: str, page_size: int | None) -> str:
    """The UniProtKB REST URL of a `search` (paginated) or `stream` request, gzip-compressed."""
    args: dict[str, Any] = {"query": query, "format": fmt, "compressed": "true"}
    if page_size is not None:
        args["size"] = page_size
    return f"{base}/uniprotkb/{endpoint}?{urlencode(args)}"


def _page_gzip(fetched: Fetched, fmt: str) -> tuple[bytes, int]:
    """The page as a whole gzip member and its entry count; IncompleteBody if it is cut short."""
    body = fetched.content
    if body[:2] == b"\x1f\x8b":
        try:
            text = gzip.decompress(body)
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            raise IncompleteBody(f"page is not a complete gzip stream ({exc})") from exc
    else:
        text, body = body, gzip.compress(body, mtime=0)
    return body, _count_entries(text, fmt)


def _check_page(fetched: Fetched, fmt: str, into: dict[str, tuple[bytes, int]]) -> None:
    """Validate a page inside the retry loop, keeping the checked result for the caller."""
    into["page"] = _page_gzip(fetched, fmt)


def _count_entries(text: bytes, fmt: str) -> int:
    """Entries in one page: `//` terminators in flat text, `results` items in JSON."""
    if fmt == "json":
        try:
            doc = json.loads(text) if text.strip() else {"results": []}
        except ValueError as exc:
            raise IncompleteBody(f"page is not complete JSON ({exc})") from exc
        results = doc.get("results") if isinstance(doc, dict) else None
        return len(results) if isinstance(results, list) else 1
    if text.strip() and not text.rstrip().endswith(b"\n//") and text.strip() != b"//":
        raise IncompleteBody("flat-file page does not end with a complete entry ('//')")
    return sum(1 for line in text.splitlines() if line.rstrip() == b"//")


def _fetch_search(
    client: HttpClient,
    out: Path,
    query: str,
    fmt: str,
    base: str,
    page_size: int,
    progress: _Progress,
) -> dict[str, Any]:
    """Walk the cursor-paginated search, saving each page and the next cursor as it goes."""
    first = search_url(base, "search", query, fmt, page_size)
    state_path, pages = out / _STATE, out / _PAGES
    state = _load_state(state_path, first)
    if state["pages"]:
        log.info("resuming at page %d of %s", len(state["pages"]) + 1, first)
    restarts = 0
    checked: dict[str, tuple[bytes, int]] = {}
    while state["next"]:
        fetched = client.get(state["next"], validate=lambda f: _check_page(f, fmt, checked))
        body, entries = checked["page"]
        release = fetched.headers.get("x-uniprot-release")
        if state["release"] and release and release != state["release"]:
            # A cursor is only valid within one release: mixing pages of two would be wrong.
            restarts += 1
            if restarts > 1:
                raise DownloadError(f"{first}: UniProt release changed twice during the download")
            log.warning("UniProt release moved %s -> %s; starting over", state["release"], release)
            state = _new_state(first)
            continue
        name = f"page-{len(state['pages']) + 1:06d}.gz"
        pages.mkdir(exist_ok=True)
        with atomic_path(pages / name) as tmp:
            tmp.write_bytes(body)
        total = fetched.headers.get("x-total-results")
        state["pages"].append({"file": name, "entries": entries})
        state["next"] = fetched.next_url()
        state["release"] = release or state["release"]
        state["release_date"] = fetched.headers.get("x-uniprot-release-date", state["release_date"])
        state["total"] = int(total) if total is not None else state["total"]
        write_json(state_path, state)
        log.info("page %d: %d entries", len(state["pages"]), entries)
        progress(sum(page["entries"] for page in state["pages"]), state["total"])
    count = sum(page["entries"] for page in state["pages"])
    if state["total"] is not None and count != state["total"]:
        raise DownloadError(
            f"{first}: got {count} entries but the server announced {state['total']} "
            f"(X-Total-Results); the saved pages are kept in {pages}"
        )
    target = out / FORMATS[fmt]
    files = [pages / page["file"] for page in state["pages"]]
    if fmt == "txt":
        _concat_gzip(files, target)
    else:
        _merge_json_pages(files, target)
    record = _uniprot_record("uniprot-rest-search", first, target, count, state)
    record.update(query=query, pages=len(files), total_results=state["total"])
    shutil.rmtree(pages, ignore_errors=True)
    state_path.unlink(missing_ok=True)
    return record


def _new_state(first: str) -> dict[str, Any]:
    return {
        "url": first,
        "next": first,
        "pages": [],
        "release": None,
        "release_date": None,
        "total": None,
    }


def _load_state(path: Path, first: str) -> dict[str, Any]:
    """The saved progress of this same search, or a fresh start (stale pages are dropped)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        pages = path.parent / _PAGES
        if state.get("url") == first and all((pages / p["file"]).is_file() for p in state["pages"]):
            return state
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shutil.rmtree(path.parent / _PAGES, ignore_errors=True)
    return _new_state(first)


def _concat_gzip(files: Iterable[Path], target: Path) -> None:
    """Join gzip pages as one multi-member gzip file (gzip readers read all members)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as dst:
        for path in files:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, dst)


def _merge_json_pages(files: Iterable[Path], target: Path) -> None:
    """Merge JSON pages into one gzipped `{"results": [...]}` document, a page at a time."""
    with atomic_path(target) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as dst:
        dst.write('{"results": [')
        first = True
        for path in files:
            text = gzip.decompress(path.read_bytes())
            doc = json.loads(text) if text.strip() else {"results": []}
            for entry in doc.get("results", [doc]) if isinstance(doc, dict) else doc:
                dst.write(("" if first else ",\n") + json.dumps(entry, separators=(",", ":")))
                first = False
        dst.write("]}\n")


def _uniprot_record(
    source: str, url: str, target: Path, entries: int, headers: dict[str, Any]
) -> dict[str, Any]:
    """The common fields of a UniProt fetch record."""
    return {
        "source": source,
        "release": headers.get("release"),
        "release_date": _iso_date(headers.get("release_date")),
        "url": url,
        "retrieved": _now(),
        "entries": entries,
        "file": target.name,
        "bytes": target.stat().st_size,
        "sha256": file_sha256(target),
    }


def _fetch_stream(client: HttpClient, out: Path, query: str, fmt: str, base: str) -> dict[str, Any]:
    """One `stream` request (no cursor, so no resume: a failed body is fetched again whole)."""
    url = search_url(base, "stream", query, fmt, None)
    checked: dict[str, tuple[bytes, int]] = {}
    fetched = client.get(url, validate=lambda f: _check_page(f, fmt, checked))
    body, entries = checked["page"]
    target = out / FORMATS[fmt]
    # The stream endpoint returns one document: flat text, or one {"results": [...]} JSON.
    with atomic_path(target) as tmp:
        tmp.write_bytes(body)
    info = {
        "release": fetched.headers.get("x-uniprot-release"),
        "release_date": fetched.headers.get("x-uniprot-release-date"),
    }
    record = _uniprot_record("uniprot-rest-stream", url, target, entries, info)
    record["query"] = query
    return record


def release_urls(base: str, release: str) -> list[str]:
    """Where a release's Swiss-Prot archive lives: minor releases, then major (yearly) ones."""
    name = f"uniprot_sprot-only{release}.tar.gz"
    return [
        f"{base}/pub/databases/uniprot/{folder}/release-{release}/knowledgebase/{name}"
        for folder in ("previous_releases", "previous_major_releases")
    ]


def _fetch_release(
    client: HttpClient, out: Path, release: str, base: str, progress: _Progress
) -> dict[str, Any]:
    """Download (resumably) a release's Swiss-Prot archive and extract uniprot_sprot.dat.gz."""
    archive = out / f"uniprot_sprot-only{release}.tar.gz"
    origin_file = out / _STATE
    try:
        # A complete archive from a run killed while extracting: no need to download it again.
        origin = json.loads(origin_file.read_text(encoding="utf-8")) if archive.is_file() else None
    except (OSError, ValueError):
        origin = None
    if not origin or origin.get("archive") != archive.name:
        urls = release_urls(base, release)
        for url in urls:
            try:
                fetched = client.download(url, archive, progress=progress)
                break
            except DownloadError as exc:
                if exc.status != 404:
                    raise
                if url == urls[-1]:
                    raise DownloadError(
                        f"UniProt release {release}: no Swiss-Prot archive at {' nor '.join(urls)}",
                        404,
                    ) from exc
                log.info("%s: not found; trying %s", url, urls[-1])
        modified = fetched.headers.get("last-modified")
        origin = {"archive": archive.name, "url": fetched.url, "last_modified": modified}
        write_json(origin_file, origin)
    archive_sha = file_sha256(archive)
    target = out / FORMATS["txt"]
    _extract_member(archive, "uniprot_sprot.dat.gz", target)
    entries = _count_flat_entries(target)
    modified = origin.get("last_modified")
    info = {"release": release, "release_date": _http_date(modified) if modified else None}
    record = _uniprot_record("uniprot-release", origin["url"], target, entries, info)
    record.update(archive=archive.name, archive_sha256=archive_sha)
    # The archive also holds XML and FASTA several times the size of what curation needs.
    archive.unlink()
    origin_file.unlink(missing_ok=True)
    return record


def _iso_date(value: str | None) -> str | None:
    """UniProt's release date header ("02-June-2021") as ISO 8601; other forms kept as given."""
    for pattern in ("%d-%B-%Y", "%d-%b-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value or "", pattern).date().isoformat()
        except ValueError:
            continue
    return value


def _http_date(value: str) -> str | None:
    """An HTTP date as an ISO date, or None if unparseable."""
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return None


def _extract_member(archive: Path, member: str, target: Path) -> None:
    """Stream one member (by base name) out of a .tar.gz to `target`, atomically."""
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for info in tar:
                if info.isfile() and Path(info.name).name == member:
                    src = tar.extractfile(info)
                    assert src is not None
                    with atomic_path(target) as tmp, open(tmp, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    return
    except (tarfile.TarError, EOFError, OSError) as exc:
        archive.unlink(missing_ok=True)
        raise DownloadError(f"{archive}: corrupt archive ({exc}); deleted, run again") from exc
    archive.unlink()
    raise DownloadError(f"{archive}: has no {member}; deleted")


def _count_flat_entries(path: Path) -> int:
    """Entries in a gzipped flat file (`//` lines); a truncated gzip is a DownloadError."""
    count = 0
    try:
        with gzip.open(path, "rb") as fh:
            for line in fh:
                if line.startswith(b"//"):
                    count += 1
    except (EOFError, OSError) as exc:
        path.unlink(missing_ok=True)
        raise DownloadError(f"{path}: incomplete gzip stream ({exc}); deleted") from exc
    return count


# --- Human Protein Atlas ----------------------------------------------------------------------


def hpa_url(version: str | None, base_url: str | None = None) -> str:
    """The subcellular_location.tsv.zip URL of an HPA version ("v23", "23", "21.1", "latest")."""
    if base_url:
        host = base_url.rstrip("/")
    elif version in (None, "latest"):
        host = "https://www.proteinatlas.org"
    else:
        match = _HPA_VERSION.match(version)
        if not match:
            raise ParameterError(f"`version` {version!r}: expected an HPA version like v23 or 23")
        # Archived versions live on their own subdomain, v<major>.proteinatlas.org.
        host = f"https://v{match.group(1)}.proteinatlas.org"
    return f"{host}/download/{HPA_FILE}.zip"


def run_fetch_hpa(
    out: str | Path,
    *,
    version: str | None = DEFAULT_HPA_VERSION,
    base_url: str | None = None,
    policy: RetryPolicy | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Download an HPA version's subcellular_location.tsv.zip and extract the TSV into `out`."""
    out = Path(out)
    if version not in (None, "latest") and not _HPA_VERSION.match(version):
        raise ParameterError(f"`version` {version!r}: expected an HPA version like v23 or 23")
    url = hpa_url(version, base_url)
    params = {"version": version, "url": url}
    if not force and (record := _done_before(out, params)):
        return record
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{HPA_FILE}.zip"
    runtime.stage(f"HPA {version}", None, "bytes")
    with HttpClient(policy) as client:
        fetched = client.download(url, archive, progress=runtime.update)
    archive_sha = file_sha256(archive)
    target = out / HPA_FILE
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if Path(n).name == HPA_FILE]
            if not names:
                raise DownloadError(f"{url}: the zip archive has no {HPA_FILE}")
            with zf.open(names[0]) as src, atomic_path(target) as tmp, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)  # zipfile checks the CRC at the end
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        archive.unlink(missing_ok=True)
        raise DownloadError(f"{url}: corrupt zip archive ({exc}); deleted, run again") from exc
    with open(target, encoding="utf-8") as fh:
        columns = fh.readline().rstrip("\n").split("\t")
        rows = sum(1 for _ in fh)
    modified = fetched.headers.get("last-modified")
    record = {
        "source": "hpa",
        "version": version or "latest",
        "url": fetched.url,
        "retrieved": _now(),
        "last_modified": _http_date(modified) if modified else None,
        "archive_sha256": archive_sha,
        "file": target.name,
        "bytes": target.stat().st_size,
        "sha256": file_sha256(target),
        "rows": rows,
        "columns": columns,
        "params": params,
    }
    archive.unlink()
    write_json(out / RECORD, record)
    return record
