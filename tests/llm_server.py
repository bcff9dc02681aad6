"""A stand-in OpenAI-compatible chat server on 127.0.0.1 that misbehaves on purpose.

The request's `model` picks the behaviour, so one server serves every test:

    good         quotes the first sentence of sources 1 and 2, cited, then stops
    structured   the same sentences under the answer's part headings (bottom line, steps)
    slow         the same, one word every 0.4 s (for the deadline)
    stall        one word, then silence (for the read timeout)
    close-early  a few words, then the connection closes: no finish reason, no [DONE]
    malformed    a first event that is not JSON
    length       a few words, then finish_reason "length"
    error        HTTP 500
    echo         the prompt itself (system rules, fences and all)
    obey         whatever a source tells it to say (a quoted text after "reply/respond/say ...")
    out-of-range the good reply plus a sentence citing [7] of however many sources
    made-up      the good reply plus a made-up sentence citing [3]
    wrong-cite   source 2's first sentence cited as [1], and source 1's as [1]
    marker-only  "[1]"
    off-topic    a sentence about VAT rates, cited [1]

`requests` keeps every request's JSON; `disconnects` counts replies the client stopped reading.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assistant.llm.quoting import SOURCE, quoting_reply

OBEY = re.compile(r"\b(?:reply|respond|answer|say|output)\b[^\"'\n]{0,60}[\"']([^\"'\n]{3,200})[\"']",
                  re.I)
VAT = "The standard VAT rate is 21 percent of the net price, paid each quarter [1]."


def reply_for(model: str, prompt: str) -> str:
    sources = SOURCE.findall(prompt)
    if model == "echo":
        return prompt
    if model == "obey":  # obeys what the sources say, not the rules
        m = OBEY.search("\n".join(body for _, body in sources))
        return m.group(1) if m else quoting_reply(prompt)
    if model == "marker-only":
        return "[1]"
    if model == "off-topic":
        return VAT
    if model == "wrong-cite" and len(sources) >= 2:
        two = quoting_reply(f'<source id="1">\n{sources[1][1]}\n</source>', 1)
        return f"{quoting_reply(prompt, 1)}\n\n{two}"
    if model == "structured":
        first, *rest = quoting_reply(prompt, 3).split("\n\n")
        steps = "\n".join(f"{i}. {line}" for i, line in enumerate(rest, 1))
        return f"**Bottom line**\n\n{first}\n\n**What to do now**\n\n{steps}"
    text = quoting_reply(prompt)
    if model == "out-of-range":
        text += "\n\nEvery request is also logged in the transparency report [7]."
    if model == "made-up":
        text += "\n\nThe EU banned all exports of routers to such authorities in 2019 [3]."
    return text


class Handler(BaseHTTPRequestHandler):
    server: StandInServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.server.requests.append(body)
        model = body.get("model", "good")
        prompt = "\n\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if model == "error":
            self._send(500, b'{"error": {"message": "the stand-in fails on purpose"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            self._stream(model, reply_for(model, prompt))
        except (BrokenPipeError, ConnectionResetError):
            self.server.disconnects += 1

    def _stream(self, model: str, text: str) -> None:
        words = re.split(r"(?<=\s)", text)
        if model == "malformed":
            self._event("{not json")
            return
        if model in ("close-early", "length"):
            words = words[:4]
        for i, word in enumerate(words):
            self._event(json.dumps(_chunk(word)))
            if model == "slow":
                time.sleep(0.4)
            if model == "stall":
                time.sleep(30)
            if model == "close-early" and i == len(words) - 1:
                return
        finish = "length" if model == "length" else "stop"
        self._event(json.dumps(_chunk("", finish)))
        usage = {"prompt_tokens": len(text.split()) * 3, "completion_tokens": len(words),
                 "total_tokens": len(text.split()) * 3 + len(words)}
        self._event(json.dumps({**_chunk(None), "choices": [], "usage": usage}))
        self._event("[DONE]")

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _chunk(content: str | None, finish: str | None = None) -> dict:
    delta = {} if content is None else {"role": "assistant", "content": content}
    return {"id": "stand-in", "object": "chat.completion.chunk", "created": 0, "model": "stand-in",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.disconnects = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> StandInServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="stand-in-llm").start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
