"""Concurrent askers: one Chroma server, two app processes, four askers in each.

`Benchmark.measure_load` serves the benchmark's own library (its Chroma folder, closed by
then) from a `chroma run` on 127.0.0.1, starts the app processes
(`python -m evals.bench.load SETTINGS QUESTIONS SECONDS THREADS`), each of which builds
the assistant against the server, waits for the common start, lets its askers answer
questions in turn until the time is up and prints one JSON object: the seconds of each
answer and every error. Bounded in time: the askers stop at the deadline, the processes
are killed if they overrun it by a minute.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from evals.bench.scale import percentiles_ms

START_S = 60  # for the server to answer its heartbeat


def measure_load(bench, questions: list[str], seconds: int, processes: int = 2,
                 threads: int = 4) -> dict:
    """Answers/s, p50/p95 and errors of `processes` x `threads` askers over `seconds`."""
    data = bench.settings.data_dir
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    chroma = Path(sys.executable).parent / "chroma"
    log = open(bench.work / "chroma-server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([str(chroma), "run", "--path", str(data / "chroma"), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=log,
                              stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    try:
        _wait_for(url, server)
        overrides = {"data_dir": str(data), "collection": bench.settings.collection,
                     "chroma_url": url, "embedding_threads": 1}
        start = time.time() + 30  # time for each process to load the model and the index
        children = [subprocess.Popen(
            [sys.executable, "-m", "evals.bench.load", json.dumps(overrides),
             json.dumps(questions[i::processes] or questions), str(start), str(seconds),
             str(threads)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=_env()) for i in range(processes)]
        results = [_collect(c, start + seconds + 60 - time.time()) for c in children]
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    took = [t for r in results for t in r["seconds"]]
    errors = [e for r in results for e in r["errors"]]
    return {"processes": processes, "askers_per_process": threads, "seconds": seconds,
            "answers": len(took), "answers_per_s": round(len(took) / seconds, 2),
            "answer": percentiles_ms(took) if took else {}, "errors": len(errors),
            "error_sample": errors[:3], "ready_s": [r["ready_s"] for r in results]}


def _wait_for(url: str, server) -> None:
    deadline = time.monotonic() + START_S
    while not _heartbeat(url):
        if server.poll() is not None:
            raise RuntimeError("the Chroma server stopped at start (see chroma-server.log)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Chroma server did not answer within {START_S} s")
        time.sleep(0.2)


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _collect(child, timeout: float) -> dict:
    try:
        out, err = child.communicate(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    if child.returncode:
        return {"seconds": [], "errors": [f"app process failed: {err[-500:]}"], "ready_s": None}
    return json.loads(out.strip().splitlines()[-1])


def _env() -> dict:
    from evals.bench.run import _child_env

    return _child_env()


def app_process(overrides: dict, questions: list[str], start: float, seconds: float,
                threads: int) -> dict:
    """One app process: its askers share one assistant, as the app's sessions do."""
    from assistant.composition import build_assistant
    from assistant.offline import prepare_process
    from assistant.settings import Settings

    t0 = time.time()
    settings = Settings(_env_file=None, **overrides)
    prepare_process(settings.embedding_threads)
    assistant = build_assistant(settings).warm_up()
    ready = time.time() - t0
    took: list[float] = []
    errors: list[str] = []
    time.sleep(max(0.0, start - time.time()))
    deadline = start + seconds

    def ask(n: int) -> None:
        i = n
        while time.time() < deadline:
            t = time.perf_counter()
            try:
                assistant.answer(questions[i % len(questions)])
                took.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - counted and reported, never hidden
                errors.append(f"{type(e).__name__}: {e}"[:300])
            i += threads

    askers = [threading.Thread(target=ask, args=(n,)) for n in range(threads)]
    for a in askers:
        a.start()
    for a in askers:
        a.join()
    return {"seconds": took, "errors": errors, "ready_s": round(ready, 1)}


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit("usage: python -m evals.bench.load SETTINGS QUESTIONS START SECONDS THREADS")
    print(json.dumps(app_process(json.loads(sys.argv[1]), json.loads(sys.argv[2]),
                                 float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))))
