"""Steps that run side by side, each in a thread of its own, joined by bounded queues.

Ingest parses and chunks the next documents on the caller's thread while one worker embeds
the current group and another writes the previous one to the store. A queue holds at most
`depth` items, so a slow step holds the ones before it back and memory stays flat however
many files there are. The first error in any step stops them all and is raised on the
caller's thread, as it would have been without the threads. Progress is the caller's to show
from its own thread (a Streamlit progress bar may only be touched from there): `finish()`
calls it back while it waits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

_DONE = object()  # sent down the queues after the last item
TICK_S = 0.1  # how often a blocked put or get looks whether the pipeline was stopped


class Stopped(Exception):
    """The pipeline stopped while an item was waiting (another step failed)."""


class Pipeline:
    """`steps[0](item)` feeds `steps[1]`, ...; each step runs in its own thread.

    Use it as a context manager: `put()` items, and leaving the block waits until every item
    has been through every step (or, when the block raises, stops the steps without waiting
    for the items still queued; the item a step is working on is finished first).
    """

    def __init__(self, steps: Sequence[Callable], depth: int = 1, name: str = "stage"):
        self._stop = threading.Event()
        self._finished = False
        self._error: BaseException | None = None
        self._queues = [queue.Queue(maxsize=depth) for _ in steps]
        self._busy = [False] * len(steps)  # whether each step holds an item
        self._threads = [threading.Thread(target=self._work, args=(i, step), daemon=True,
                                          name=f"{name}-{i}") for i, step in enumerate(steps)]
        for t in self._threads:
            t.start()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._stop.set()
            self._join()
        elif not self._finished:
            self.finish()

    def finish(self, poll: Callable[[], None] = lambda: None) -> None:
        """Wait until every item has been through every step, calling `poll` on this thread
        every TICK_S (to show progress) and once at the end; raises the first step's error."""
        self._finished = True
        try:
            self._put(self._queues[0], _DONE)
        except Stopped:
            pass
        for t in self._threads:
            while t.is_alive():
                t.join(TICK_S)
                poll()
        poll()
        self._raise()

    def idle(self) -> bool:
        """Whether the first step has nothing to do: no item in hand, none queued (the caller
        may then hand over a smaller item rather than let it wait)."""
        return not self._busy[0] and self._queues[0].empty()

    def put(self, item) -> None:
        """Hand an item to the first step; waits while its queue is full; raises a step's error."""
        self._raise()
        try:
            self._put(self._queues[0], item)
        except Stopped:
            self._raise()
            raise

    # ----- inside
    def _work(self, i: int, step: Callable) -> None:
        inbox = self._queues[i]
        outbox = self._queues[i + 1] if i + 1 < len(self._queues) else None
        try:
            while (item := self._get(inbox)) is not _DONE:
                self._busy[i] = True
                result = step(item)
                if outbox is not None:
                    self._put(outbox, result)
                self._busy[i] = False
            if outbox is not None:
                self._put(outbox, _DONE)
        except Stopped:
            return
        except BaseException as e:  # noqa: BLE001 - raised again on the caller's thread
            if self._error is None:
                self._error = e
            self._stop.set()

    def _put(self, q: queue.Queue, item) -> None:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=TICK_S)
                return
            except queue.Full:
                continue
        raise Stopped

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=TICK_S)
            except queue.Empty:
                continue
        raise Stopped

    def _join(self) -> None:
        for t in self._threads:
            t.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def tail_pieces(items: list, size: Callable[[object], int], smallest: int) -> list[list]:
    """`items` cut in order into pieces of about half of what is left each (by `size`), none
    below `smallest` but the last: the tail of a pipeline, so that each piece's last step runs
    beside the next piece's first, and only a small piece's last step is left at the end."""
    pieces: list[list] = []
    piece: list = []
    left = sum(size(x) for x in items)
    for item in items:
        piece.append(item)
        total = sum(size(x) for x in piece)
        if total >= max(smallest, left / 2):
            pieces.append(piece)
            left -= total
            piece = []
    return [*pieces, piece] if piece else pieces
