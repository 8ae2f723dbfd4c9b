"""Data retrieval against a loopback server that plays UniProt and HPA, faults included."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from Bio import SwissProt
from loopback import (
    RELEASE,
    Loopback,
    flat_entries,
    hpa_zip,
    json_entries,
    release_archive,
)

from locflow.data.fetch import (
    DEFAULT_QUERY,
    hpa_url,
    release_urls,
    run_fetch_hpa,
    run_fetch_uniprot,
)
from locflow.data.http import DownloadError, HttpClient, RetryPolicy, retry_after_seconds
from locflow.errors import InputError

# Short waits and timeouts keep the suite fast; the retry logic itself is untouched.
FAST = RetryPolicy(attempts=4, backoff=0.01, max_wait=2.0, timeout=2.0, connect_timeout=2.0)
N_ENTRIES, PAGE = 7, 3  # three pages: 3 + 3 + 1


@pytest.fixture()
def server():
    with Loopback(flat_entries(N_ENTRIES), json_entries(N_ENTRIES)) as play:
        yield play


def accessions(path: Path) -> list[str]:
    """Primary accessions of a gzipped flat file, parsed by Biopython."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [record.accessions[0] for record in SwissProt.parse(fh)]


def expected_accessions() -> list[str]:
    text = "".join(flat_entries(N_ENTRIES))
    return [r.accessions[0] for r in SwissProt.parse(io.StringIO(text))]


def fetch(server: Loopback, out: Path, **kwargs):
    kwargs.setdefault("page_size", PAGE)
    kwargs.setdefault("policy", FAST)
    return run_fetch_uniprot(out, base_url=server.url, **kwargs)


# --- UniProt REST search ------------------------------------------------------------------------


def test_search_walks_three_cursor_pages_and_records_the_release(server, tmp_path):
    record = fetch(server, tmp_path)
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()
    pages = server.hits("/uniprotkb/search")
    assert len(pages) == 3
    assert "cursor=page2" in pages[1]["target"] and "cursor=page3" in pages[2]["target"]
    assert "compressed=true" in pages[0]["target"] and "format=txt" in pages[0]["target"]
    saved = json.loads((tmp_path / "fetch.json").read_text())
    assert saved == record
    assert saved["release"] == RELEASE and saved["release_date"] == "2021-06-02"  # RELEASE_DATE
    assert saved["query"] == DEFAULT_QUERY and saved["entries"] == N_ENTRIES
    assert saved["total_results"] == N_ENTRIES and saved["pages"] == 3
    assert saved["url"].startswith(server.url + "/uniprotkb/search?")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fetch.json", "uniprot.dat.gz"]


def test_json_pages_merge_into_one_results_document(server, tmp_path):
    fetch(server, tmp_path, fmt="json", query="reviewed:true")
    doc = json.loads(gzip.decompress((tmp_path / "uniprot.json.gz").read_bytes()))
    assert [e["primaryAccession"] for e in doc["results"]] == [f"P{i:05d}" for i in range(7)]
    assert "query=reviewed%3Atrue" in server.hits("/uniprotkb/search")[0]["target"]


def test_stream_endpoint_fetches_everything_in_one_request(server, tmp_path):
    record = fetch(server, tmp_path, stream=True)
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()
    assert len(server.hits("/uniprotkb/stream")) == 1 and record["entries"] == N_ENTRIES


def test_429_waits_for_retry_after_then_succeeds(server, tmp_path):
    server.fail("cursor=page2", status=429, retry_after="1")
    start = time.monotonic()
    fetch(server, tmp_path)
    assert time.monotonic() - start >= 1.0  # the server's Retry-After, not the 0.01 s backoff
    assert len(server.hits("cursor=page2")) == 2
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()


def test_500_then_success(server, tmp_path):
    server.fail("/uniprotkb/search", status=500, times=2)
    record = fetch(server, tmp_path)
    assert record["entries"] == N_ENTRIES and len(server.hits("/uniprotkb/search")) == 5


def test_truncated_gzip_page_is_retried_never_kept(server, tmp_path):
    server.fail("cursor=page3", kind="truncate-gzip")
    fetch(server, tmp_path)
    assert len(server.hits("cursor=page3")) == 2
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()


def test_body_shorter_than_content_length_is_retried(server, tmp_path):
    server.fail("cursor=page2", kind="short")
    fetch(server, tmp_path)
    assert len(server.hits("cursor=page2")) == 2
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()


def test_gzip_transfer_encoding_is_decoded_and_checked(server):
    url = f"{server.url}/uniprotkb/search?query=x&format=txt&size=7"
    with HttpClient(FAST) as client:
        page = client.get(url)
    assert page.headers["content-encoding"] == "gzip"
    assert page.content.decode() == "".join(flat_entries(N_ENTRIES))
    server.fail("size=7", kind="truncate-gzip", times=-1)
    with HttpClient(FAST) as client, pytest.raises(DownloadError, match="truncated gzip"):
        client.get(url)


def test_slow_response_times_out_then_retry_succeeds(server, tmp_path):
    policy = RetryPolicy(attempts=3, backoff=0.01, timeout=0.3)
    server.fail("cursor=page2", kind="slow", delay=1.0)
    fetch(server, tmp_path, policy=policy)
    assert len(server.hits("cursor=page2")) == 2
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()


def test_always_slow_gives_a_clear_timeout_error_in_bounded_time(server, tmp_path):
    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=0.3)
    server.fail("/uniprotkb/search", kind="slow", delay=1.0, times=-1)
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"gave up after 2 attempt\(s\): timed out"):
        fetch(server, tmp_path, policy=policy)
    assert time.monotonic() - start < 3.0
    assert not (tmp_path / "uniprot.dat.gz").exists() and not (tmp_path / "fetch.json").exists()


def test_permanent_404_fails_at_once_and_writes_nothing(server, tmp_path):
    server.fail("/uniprotkb/search", status=404, times=-1)
    with pytest.raises(DownloadError, match=r"HTTP 404.*played status 404"):
        fetch(server, tmp_path / "out")
    assert len(server.hits("/uniprotkb/search")) == 1  # a 404 is not retried
    out = tmp_path / "out"
    assert not (out / "uniprot.dat.gz").exists() and not (out / "fetch.json").exists()


def test_exhausted_5xx_names_url_and_status(server, tmp_path):
    server.fail("/uniprotkb/search", status=503, times=-1)
    with pytest.raises(DownloadError, match=r"uniprotkb/search.*gave up after 4.*HTTP 503"):
        fetch(server, tmp_path)
    assert len(server.hits("/uniprotkb/search")) == 4


def test_killed_search_resumes_from_the_saved_cursor(server, tmp_path):
    server.fail("cursor=page3", status=500, times=-1)
    with pytest.raises(DownloadError):
        fetch(server, tmp_path)
    assert not (tmp_path / "uniprot.dat.gz").exists()
    state = json.loads((tmp_path / ".fetch-state.json").read_text())
    assert len(state["pages"]) == 2 and "cursor=page3" in state["next"]
    server.faults.clear()
    server.requests.clear()
    record = fetch(server, tmp_path)
    assert [r["target"] for r in server.requests] == [state["next"].removeprefix(server.url)]
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()
    assert record["entries"] == N_ENTRIES and not (tmp_path / ".pages").exists()


def test_killed_process_resumes_where_it_stopped(server, tmp_path):
    server.fail("cursor=page3", kind="slow", delay=20)  # the run hangs on page 3 ...
    args = ["fetch-uniprot", "--out", str(tmp_path), "--base-url", server.url, "--page-size", "3"]
    code = "from locflow.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.DEVNULL)
    state_file = tmp_path / ".fetch-state.json"
    deadline = time.monotonic() + 30
    while not (server.hits("cursor=page3") and state_file.is_file()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()  # ... and is killed there
    proc.wait()
    state = json.loads(state_file.read_text())
    assert len(state["pages"]) == 2 and not (tmp_path / "uniprot.dat.gz").exists()
    server.requests.clear()
    fetch(server, tmp_path)
    assert [r["target"] for r in server.requests] == [state["next"].removeprefix(server.url)]
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()


def test_a_different_query_does_not_reuse_saved_pages(server, tmp_path):
    server.fail("cursor=page3", status=500, times=-1)
    with pytest.raises(DownloadError):
        fetch(server, tmp_path)
    server.faults.clear()
    server.requests.clear()
    fetch(server, tmp_path, query="organism_id:9606")
    assert len(server.requests) == 3 and "cursor" not in server.requests[0]["target"]


def test_completed_fetch_is_not_repeated(server, tmp_path):
    fetch(server, tmp_path)
    server.requests.clear()
    fetch(server, tmp_path)
    assert server.requests == []
    fetch(server, tmp_path, force=True)
    assert len(server.requests) == 3


def test_release_change_mid_download_starts_over(server, tmp_path):
    server.fail("cursor=page3", status=500, times=-1)
    with pytest.raises(DownloadError):
        fetch(server, tmp_path)
    server.faults.clear()
    server.release = "2021_04"
    record = fetch(server, tmp_path)
    assert record["release"] == "2021_04" and record["entries"] == N_ENTRIES


# --- pinned release flat file -------------------------------------------------------------------


def test_release_archive_is_resumed_with_range_and_extracted(server, tmp_path):
    entries = flat_entries(N_ENTRIES)
    path = urlpath(release_urls(server.url, RELEASE)[0], server)
    server.files[path] = release_archive(entries)
    server.fail(path, kind="short")  # the first response breaks off half way
    record = run_fetch_uniprot(tmp_path, release=RELEASE, base_url=server.url, policy=FAST)
    first, second = server.hits(path)
    assert "Range" not in first["headers"]
    assert second["headers"]["Range"] == f"bytes={len(server.files[path]) // 2}-"
    assert second["headers"]["If-Range"].startswith('"')
    assert accessions(tmp_path / "uniprot.dat.gz") == expected_accessions()
    assert record["release"] == RELEASE and record["release_date"] == "2021-06-02"
    assert record["entries"] == N_ENTRIES and record["source"] == "uniprot-release"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fetch.json", "uniprot.dat.gz"]


def test_download_that_keeps_progressing_outlasts_the_attempt_limit(server, tmp_path):
    data = bytes(range(256)) * 400
    server.files["/big.bin"] = data
    server.fail("/big.bin", kind="short", times=5)  # five breaks in a row, attempts=2
    policy = RetryPolicy(attempts=2, backoff=0.01)
    with HttpClient(policy) as client:
        client.download(f"{server.url}/big.bin", tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == data
    assert len(server.hits("/big.bin")) == 6 and not (tmp_path / "big.bin.part").exists()


def test_release_falls_back_to_major_release_folder(server, tmp_path):
    path = urlpath(release_urls(server.url, "2020_01")[1], server)
    assert "previous_major_releases" in path
    server.files[path] = release_archive(flat_entries(2))
    record = run_fetch_uniprot(tmp_path, release="2020_01", base_url=server.url, policy=FAST)
    assert record["entries"] == 2 and "previous_major_releases" in record["url"]


def test_unknown_release_is_a_clear_error(server, tmp_path):
    with pytest.raises(DownloadError, match="release 1999_01: no Swiss-Prot archive at .* nor "):
        run_fetch_uniprot(tmp_path, release="1999_01", base_url=server.url, policy=FAST)
    assert not any(tmp_path.glob("uniprot.dat.gz"))


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="exclude each other"):
        run_fetch_uniprot(tmp_path, query="x", release="2021_03")
    with pytest.raises(InputError, match="2021_03"):
        run_fetch_uniprot(tmp_path, release="2021-03")
    with pytest.raises(InputError, match="`fmt`"):
        run_fetch_uniprot(tmp_path, fmt="xml")
    with pytest.raises(InputError, match="`version`"):
        run_fetch_hpa(tmp_path, version="twenty")


# --- HPA ----------------------------------------------------------------------------------------

TSV = (
    b"Gene\tGene name\tReliability\tMain location\n"
    b"ENSG00000000003\tTSPAN6\tApproved\tCell Junctions\n"
)


def test_hpa_zip_is_downloaded_extracted_and_recorded(server, tmp_path):
    server.files["/download/subcellular_location.tsv.zip"] = hpa_zip(TSV)
    record = run_fetch_hpa(tmp_path, version="v20", base_url=server.url, policy=FAST)
    assert (tmp_path / "subcellular_location.tsv").read_bytes() == TSV
    assert record["version"] == "v20" and record["rows"] == 1
    assert record["columns"][:2] == ["Gene", "Gene name"]
    assert json.loads((tmp_path / "fetch.json").read_text())["sha256"] == record["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fetch.json", "subcellular_location.tsv"]


def test_hpa_real_v20_table_survives_a_broken_transfer(server, tmp_path, shared_data):
    tsv = gzip.decompress((shared_data / "hpa" / "subcellular_location_v20.tsv.gz").read_bytes())
    server.files["/download/subcellular_location.tsv.zip"] = hpa_zip(tsv)
    server.fail("subcellular_location.tsv.zip", kind="short")
    server.fail("subcellular_location.tsv.zip", status=503, retry_after="0")
    record = run_fetch_hpa(tmp_path, version="20", base_url=server.url, policy=FAST)
    assert (tmp_path / "subcellular_location.tsv").read_bytes() == tsv
    assert record["rows"] == 12390
    assert len(server.hits("subcellular_location.tsv.zip")) == 3


def test_hpa_urls_follow_versioned_subdomains():
    assert hpa_url("v23") == "https://v23.proteinatlas.org/download/subcellular_location.tsv.zip"
    assert hpa_url("21.1") == "https://v21.proteinatlas.org/download/subcellular_location.tsv.zip"
    assert hpa_url("latest").startswith("https://www.proteinatlas.org/")


# --- Retry-After parsing ------------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def test_retry_after_http_date_is_honoured(server, tmp_path):
    when = datetime.now(UTC) + timedelta(seconds=2)
    server.fail("/uniprotkb/search", status=503, retry_after=format_datetime(when, usegmt=True))
    start = time.monotonic()
    fetch(server, tmp_path)
    assert time.monotonic() - start >= 0.9  # HTTP-dates have one-second resolution


# --- command line -------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    code = "from locflow.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_cli_fetch_uniprot_and_404_exit_code(server, tmp_path):
    ok = run_cli(
        "fetch-uniprot",
        "--out",
        str(tmp_path / "a"),
        "--base-url",
        server.url,
        "--page-size",
        "3",
        "--backoff",
        "0.01",
    )
    assert ok.returncode == 0, ok.stderr
    assert accessions(tmp_path / "a" / "uniprot.dat.gz") == expected_accessions()
    server.fail("/uniprotkb/search", status=404, times=-1)
    bad = run_cli("fetch-uniprot", "--out", str(tmp_path / "b"), "--base-url", server.url)
    assert bad.returncode == 2 and "HTTP 404" in bad.stderr
    assert "Traceback" not in bad.stderr


def urlpath(url: str, server: Loopback) -> str:
    return url.removeprefix(server.url)
