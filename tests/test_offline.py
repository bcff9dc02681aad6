"""Nothing leaves the machine: ingest, ask, a scripted deal, the evaluation and the web app run
as subprocesses with an audit hook that refuses, and logs, every connection or name lookup
for an address that is not loopback. With an LLM configured, the question and its passages
go to the configured server only.

The hook (`sitecustomize.py`, put on PYTHONPATH) sees what Python code does through the
`socket` module: model hubs, Chroma, Streamlit and LangChain telemetry, HTTP clients. The
subprocesses get none of the HRDD offline switches from this test run: the app must set them
itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.offline import OFFLINE_ENV
from tests.cli import hrdd_command
from tests.processes import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How should we assess the purchaser of a telecom export deal?"
TIMEOUT_S = 600

SITECUSTOMIZE = r'''
"""Refuse, and log, network access to anything but loopback (installed by tests/test_offline.py)."""
import ipaddress
import json
import os
import socket
import sys

_LOG = os.environ["NETWORK_LOG"]
_INET = (socket.AF_INET, socket.AF_INET6)


def _is_loopback(host):
    if host is None:
        return True
    host = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
    if host in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event, args):
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[-1]
        if sock.family not in _INET:
            return
        host, port = address[0], address[1]
    elif event == "socket.getaddrinfo":
        host, port = args[0], args[1]
    elif event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        host, port = args[0], None
    else:
        return
    allowed = _is_loopback(host)
    with open(_LOG, "a") as fh:
        fh.write(json.dumps({"event": event, "host": str(host), "port": str(port),
                             "allowed": allowed, "pid": os.getpid(),
                             "argv": " ".join(sys.argv[:3])}) + "\n")
    if not allowed:
        raise ConnectionRefusedError(f"network access to {host}:{port} refused by the test")


sys.addaudithook(_hook)
'''


class Guard:
    """The hook's folder and log; runs commands under it."""

    def __init__(self, root: Path):
        self.root = root
        (root / "hook").mkdir(exist_ok=True)
        (root / "hook" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.data = root / "data"
        self.library = self.data / "eval-library"  # where `hrdd eval` looks for the corpus
        self.inbox = root / "inbox"

    def env(self, log: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in OFFLINE_ENV and not k.startswith(("HRDD_", "PYTEST_"))}
        env.update({"PYTHONPATH": str(self.root / "hook"), "NETWORK_LOG": str(log),
                    "HRDD_DATA_DIR": str(self.library), "COLUMNS": "200", **extra})
        log.touch()
        return env

    def run(self, name: str, args: list, **extra: str) -> tuple[subprocess.CompletedProcess, list]:
        """`hrdd ARGS` on the copied corpus library (HRDD_DATA_DIR and others in `extra`)."""
        log = self.root / f"{name}.log"
        proc = subprocess.run([*hrdd_command(), *map(str, args)], cwd=self.root,
                              env=self.env(log, **extra), capture_output=True, text=True,
                              timeout=TIMEOUT_S)
        return proc, attempts(log)


def attempts(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def outbound(log_rows: list[dict]) -> list[str]:
    return [f"{r['event']} {r['host']}:{r['port']} ({r['argv']})" for r in log_rows
            if not r["allowed"]]


def succeeded(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def guard(tmp_path_factory) -> Guard:
    return Guard(tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def library(guard, corpus_library) -> Path:
    """A copy of the session's corpus library, where `hrdd eval` keeps its own (so the
    evaluation finds every document unchanged); a copy, because one Chroma folder is never
    opened by two processes."""
    source = corpus_library.settings.data_dir
    shutil.copytree(source, guard.library, ignore=shutil.ignore_patterns("chroma.sqlite3*"))
    db = sqlite3.connect(source / "chroma" / "chroma.sqlite3")
    copy = sqlite3.connect(guard.library / "chroma" / "chroma.sqlite3")
    try:
        db.backup(copy)  # a consistent copy, whatever the open connection has in its journal
    finally:
        copy.close()
        db.close()
    return guard.library


@pytest.fixture(scope="module")
def ingested(guard):
    """`hrdd ingest` of two documents under the hook, into a library of their own."""
    guard.inbox.mkdir()
    for name in ("four-ps-framework.md", "export-controls.md"):
        shutil.copy(ROOT / "corpus" / "guidance" / name, guard.inbox / name)
    return guard.run("ingest", ["ingest", "--json", guard.inbox],
                     HRDD_DATA_DIR=str(guard.root / "inbox-data"))


def test_the_hook_refuses_and_logs_an_outbound_attempt(guard):
    log = guard.root / "control.log"
    probe = ("import socket, urllib.request\n"
             "for call in (lambda: socket.getaddrinfo('example.org', 443),\n"
             "             lambda: urllib.request.urlopen('http://93.184.216.34/', timeout=5)):\n"
             "    try:\n"
             "        call()\n"
             "        print('connected')\n"
             "    except OSError as e:\n"
             "        print('refused', e)\n")
    proc = subprocess.run([sys.executable, "-c", probe], env=guard.env(log), capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split("\n")[:2] == [
        "refused network access to example.org:443 refused by the test",
        "refused <urlopen error network access to 93.184.216.34:80 refused by the test>"]
    assert [(r["host"], r["allowed"]) for r in attempts(log)] == [
        ("example.org", False), ("93.184.216.34", False)]


def test_ingest_stays_on_this_machine(ingested):
    proc, log = ingested
    succeeded(proc)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["outcome"] for r in rows] == ["added", "added"]
    assert outbound(log) == []


def test_ask_stays_on_this_machine(guard, library):
    proc, log = guard.run("ask", ["ask", "--json", QUESTION])
    succeeded(proc)
    answer = json.loads(proc.stdout)
    assert not answer["declined"] and answer["citations"] and answer["mode"] == "extractive"
    assert outbound(log) == []


def test_a_scripted_deal_session_stays_on_this_machine(guard, library):
    report = guard.root / "escalation.md"
    proc, log = guard.run("assess", ["assess", "run", ROOT / "examples" / "deals" /
                                     "escalation.yaml", "--report", report])
    succeeded(proc)
    assert "Core network upgrade for Borduria Telecom" in report.read_text()
    assert "Escalate" in " ".join(proc.stdout.split())
    assert outbound(log) == []


def test_the_evaluation_stays_on_this_machine(guard, library):
    reports = guard.root / "reports"
    # HRDD_DATA_DIR is the parent: the evaluation keeps its library in <data>/eval-library.
    proc, log = guard.run("eval", ["eval", "--limit", "1", "--out", reports],
                          HRDD_DATA_DIR=str(guard.data))
    succeeded(proc)
    assert list(reports.glob("*/report.md")), proc.stdout[-2000:]
    assert outbound(log) == []


def test_the_web_app_stays_on_this_machine(guard, library):
    """The server runs for a while, answers its health check and runs the app for a session."""
    port = free_port()
    log = guard.root / "app.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "web" / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=ROOT, env=guard.env(log), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        health = poll(f"{base}/_stcore/health", 120)
        assert health == "ok"
        assert "<html" in fetch(f"{base}/").lower()
        finished = run_app_session(port, timeout=240)
        assert finished == "FINISHED_SUCCESSFULLY"
        time.sleep(5)  # anything the server does once it has been up for a while
        assert server.poll() is None
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output[-3000:]
    rows = attempts(log)
    assert outbound(rows) == []


# ----- LLM mode: the question and its passages go to the configured server, and nowhere else


class FakeOpenAI(BaseHTTPRequestHandler):
    """Speaks OpenAI's chat completions (JSON and SSE streaming); replies with the first full
    sentence of source 1, cited, so the answer passes verification."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server interface
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append({"path": self.path, "body": body})
        user = body["messages"][-1]["content"]
        source = re.search(r"<source id=\"1\"[^>]*>\n(.*?)\n</source>", user, re.S)
        sentences = re.split(r"(?<=[.!?])\s+", source.group(1).strip()) if source else [""]
        first = next((x for x in sentences if len(x.split()) >= 6), sentences[0])
        reply = f"{first} [1]"
        if not body.get("stream"):
            return self._send("application/json", json.dumps({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                "model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant",
                                                                 "content": reply}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}))
        words = reply.split(" ")
        events = [{"role": "assistant", "content": ""}]
        events += [{"content": w + (" " if i < len(words) - 1 else "")}
                   for i, w in enumerate(words)]
        chunks = [{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                   "model": body["model"],
                   "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in events]
        chunks.append({**chunks[0], "choices": [{"index": 0, "delta": {},
                                                 "finish_reason": "stop"}]})
        self._send("text/event-stream", "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
                   + "data: [DONE]\n\n")

    def _send(self, kind: str, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def llm_server():
    FakeOpenAI.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_llm_mode_sends_the_question_and_passages_only_to_the_configured_server(
        guard, library, llm_server):
    proc, log = guard.run("llm", ["ask", "--json", "--mode", "llm", QUESTION],
                          HRDD_LLM_PROVIDER="openai", HRDD_LLM_MODEL="local-model",
                          HRDD_LLM_BASE_URL=f"http://127.0.0.1:{llm_server}/v1")
    succeeded(proc)
    answer = json.loads(proc.stdout)
    assert answer["mode"] == "llm" and not answer["unsupported"], answer
    (request,) = FakeOpenAI.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "local-model" and request["body"]["stream"] is True
    sent = request["body"]["messages"][-1]["content"]
    assert f"Question: {QUESTION}" in sent
    assert answer["citations"] and all(" ".join(c["quote"].split()) in " ".join(sent.split())
                                       for c in answer["citations"])
    assert outbound(log) == []
    assert any(r["event"] == "socket.connect" and r["port"] == str(llm_server) for r in log), \
        "the hook did not see the connection to the LLM server"


def test_the_fake_llm_server_also_answers_without_streaming(llm_server):
    """The server speaks both forms of the API, so a client that does not stream works too."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{llm_server}/v1/chat/completions", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"model": "m", "messages": [{"role": "user", "content":
                         "<source id=\"1\">\nFirst sentence. Second one.\n</source>"}]}).encode())
    with urllib.request.urlopen(request, timeout=10) as resp:
        reply = json.loads(resp.read())
    assert reply["choices"][0]["message"]["content"] == "First sentence. [1]"


# ----- helpers for the web app


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def poll(url: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fetch(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_app_session(port: int, timeout: float) -> str:
    """Open a session over the app's websocket, as a browser does, and run the script once
    (through the rerun that the root page's switch to Ask asks for)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                 open_timeout=30, max_size=None) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        ws.send(rerun.SerializeToString())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=deadline - time.monotonic()))
            if msg.WhichOneof("type") == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if status != "FINISHED_EARLY_FOR_RERUN":  # "/" switches to the Ask page
                    return status
    return "timed out"
