"""A local HTTP server that plays UniProt (REST search and stream, release archives) and HPA.

It serves real-format data over real HTTP on 127.0.0.1, and can be told to misbehave on chosen
requests: answer 429 with Retry-After, 5xx, or 404; stall past the client's timeout; send a cut
gzip body; or promise more bytes (Content-Length) than it sends. Every request is logged so that
tests can assert what the client asked for (cursor pages, Range headers).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SHARED_UNIPROT = Path(__file__).resolve().parents[2] / "shared" / "data" / "uniprot"
RELEASE = "2021_03"
RELEASE_DATE = "02-June-2021"
LAST_MODIFIED = "Wed, 02 Jun 2021 00:00:00 GMT"


# --- test data ----------------------------------------------------------------------------------


def _generated_entry(i: int) -> str:
    """A small but well-formed Swiss-Prot flat-file entry (used when the real sample is absent)."""
    seq = ("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ" * 2)[: 60 + i]
    lines = [
        f"ID   TEST{i}_HUMAN             Reviewed;         {len(seq)} AA.",
        f"AC   Q{i:05d};",
        "DE   RecName: Full=Test protein;",
        "OS   Homo sapiens (Human).",
        "OC   Eukaryota; Metazoa; Chordata.",
        "OX   NCBI_TaxID=9606;",
        "CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}.",
        f"SQ   SEQUENCE   {len(seq)} AA;  1 MW;  0 CRC64;",
    ]
    lines += [
        "     " + " ".join(seq[j : j + 10] for j in range(k, min(k + 60, len(seq)), 10))
        for k in range(0, len(seq), 60)
    ]
    return "\n".join(lines) + "\n//\n"


def flat_entries(n: int) -> list[str]:
    """`n` flat-file entries, each ending in `//`: real ones from ../shared/data when present."""
    sample = SHARED_UNIPROT / "sample_entries.dat"
    if sample.is_file():
        text = sample.read_text(encoding="utf-8")
        entries = [chunk + "//\n" for chunk in text.split("//\n") if chunk.strip()]
        if len(entries) >= n:
            return entries[:n]
    return [_generated_entry(i) for i in range(n)]


def json_entries(n: int) -> list[dict[str, Any]]:
    """`n` REST JSON entries: copies of the real sample entry with distinct accessions."""
    sample = SHARED_UNIPROT / "sample_entry_O94603.json"
    if sample.is_file():
        base = json.loads(sample.read_text(encoding="utf-8"))
        base = base["results"][0] if "results" in base else base
    else:
        base = {"entryType": "UniProtKB reviewed (Swiss-Prot)", "sequence": {"value": "MKT" * 20}}
    out = []
    for i in range(n):
        entry = json.loads(json.dumps(base))
        entry["primaryAccession"] = f"P{i:05d}"
        out.append(entry)
    return out


def release_archive(entries: list[str]) -> bytes:
    """A uniprot_sprot-only<R>.tar.gz in the real layout, holding uniprot_sprot.dat.gz."""
    members = {
        "uniprot_sprot.fasta.gz": gzip.compress(b">sp|Q00000|X\nMKT\n", mtime=0),
        "uniprot_sprot.dat.gz": gzip.compress("".join(entries).encode(), mtime=0),
        "uniprot_sprot.xml.gz": gzip.compress(b"<uniprot/>\n", mtime=0),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def hpa_zip(tsv: bytes) -> bytes:
    """A subcellular_location.tsv.zip holding the given TSV bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("subcellular_location.tsv", tsv)
    return buf.getvalue()


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Fault:
    """Misbehave on requests whose path+query contains `match`, `times` times (-1: forever)."""

    match: str
    kind: str  # "status", "slow", "truncate-gzip", "short"
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    times: int = 1


class Loopback:
    """A threaded HTTP server on 127.0.0.1 playing UniProt REST, UniProt downloads and HPA."""

    def __init__(
        self,
        entries: list[str] | None = None,
        json_results: list[dict[str, Any]] | None = None,
        *,
        release: str = RELEASE,
        release_date: str = RELEASE_DATE,
    ) -> None:
        self.entries = entries or []
        self.json_results = json_results or []
        self.release = release
        self.release_date = release_date
        self.files: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.play = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, match: str, kind: str = "status", **kwargs: Any) -> None:
        """Add a fault for requests whose path+query contains `match`."""
        self.faults.append(Fault(match, kind, **kwargs))

    def hits(self, match: str) -> list[dict[str, Any]]:
        """Logged requests whose path+query contains `match`."""
        return [r for r in self.requests if match in r["target"]]

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times != 0 and fault.match in target:
                    fault.times -= 1 if fault.times > 0 else 0
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `requests`
        pass

    @property
    def play(self) -> Loopback:
        return self.server.play  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        play = self.play
        with play._lock:
            play.requests.append({"target": self.path, "headers": dict(self.headers.items())})
        fault = play._take_fault(self.path)
        try:
            if fault and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault and fault.kind == "status":
                self._send_status(fault)
                return
            status, headers, body = self._route()
            self._send(status, headers, body, fault)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (timeout) and closed the socket: expected in tests.
            self.close_connection = True

    def _send_status(self, fault: Fault) -> None:
        body = json.dumps({"messages": [f"played status {fault.status}"]}).encode()
        self.send_response(fault.status)
        if fault.retry_after is not None:
            self.send_header("Retry-After", fault.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, status: int, headers: dict[str, str], body: bytes, fault: Fault | None) -> None:
        declared = len(body)
        if fault and fault.kind == "truncate-gzip":
            body = body[: len(body) // 2]  # a cut gzip stream, but consistent HTTP framing
            declared = len(body)
        elif fault and fault.kind == "short":
            body = body[: len(body) // 2]  # promise more than is sent, then hang up
            self.close_connection = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _route(self) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(self.path)
        if parts.path in ("/uniprotkb/search", "/uniprotkb/stream"):
            return self._uniprot(parts.path.endswith("stream"), parse_qs(parts.query))
        if parts.path in self.play.files:
            return self._file(self.play.files[parts.path])
        body = json.dumps({"messages": [f"no such resource {parts.path}"]}).encode()
        return 404, {"Content-Type": "application/json"}, body

    def _uniprot(self, stream: bool, args: dict[str, list[str]]) -> tuple[int, dict, bytes]:
        play = self.play
        fmt = args.get("format", ["json"])[0]
        items: list[Any] = play.json_results if fmt == "json" else play.entries
        size = len(items) if stream else int(args.get("size", ["25"])[0])
        match = re.fullmatch(r"page(\d+)", args.get("cursor", ["page1"])[0])
        page = int(match.group(1)) if match else 1
        chunk = items[(page - 1) * size : page * size]
        if fmt == "json":
            body = json.dumps({"results": chunk}).encode()
            ctype = "application/json"
        else:
            body = "".join(chunk).encode()
            ctype = "text/plain;format=flatfile"
        headers = {
            "Content-Type": ctype,
            "X-Total-Results": str(len(items)),
            "X-UniProt-Release": play.release,
            "X-UniProt-Release-Date": play.release_date,
        }
        if not stream and page * size < len(items):
            query = {k: v[0] for k, v in args.items() if k != "cursor"}
            query["cursor"] = f"page{page + 1}"
            link = f"{play.url}/uniprotkb/search?{urlencode(query)}"
            headers["Link"] = f'<{link}>; rel="next"'
        if args.get("compressed", ["false"])[0] == "true":
            body = gzip.compress(body, mtime=0)
            headers["Content-Type"] = "application/x-gzip"
        elif "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return 200, headers, body

    def _file(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": LAST_MODIFIED,
        }
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
        if match and (if_range is None or if_range == etag):
            start = int(match.group(1))
            if start >= len(data):
                headers["Content-Range"] = f"bytes */{len(data)}"
                return 416, headers, b""
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return 206, headers, data[start:]
        return 200, headers, data
