"""Ingest's stages side by side: order kept, memory bounded, the first error stops them all."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.stages import Pipeline, tail_pieces


class PowerCut(Exception):
    pass


def test_every_item_goes_through_every_step_in_order():
    written = []
    with Pipeline([lambda x: x * 10, written.append], depth=1) as steps:
        for i in range(50):
            steps.put(i)
    assert written == [i * 10 for i in range(50)]


def test_a_stalled_last_step_holds_the_caller_back_so_memory_stays_bounded():
    """With depth 1, a stalled writer lets the encoder take three groups (one it has written
    to the writer's queue, one it is holding, the one the writer holds) and the caller hand
    over one more; then the caller waits, however many files are left."""
    release, handed, encoded = threading.Event(), [], []

    def encode(item):
        encoded.append(item)
        return item

    with Pipeline([encode, lambda _item: release.wait(30)], depth=1) as steps:
        caller = threading.Thread(target=lambda: [steps.put(i) or handed.append(i)
                                                  for i in range(100)])
        caller.start()
        deadline = time.monotonic() + 30
        while len(encoded) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # time to go further, were anything unbounded
        stalled = (len(encoded), len(handed))
        release.set()
        caller.join(30)
    assert stalled == (3, 4)
    assert encoded == list(range(100)) and handed == list(range(100))


def test_a_failing_step_stops_the_others_and_its_error_reaches_the_caller():
    written, seen = [], []

    def write(item):
        if item == 3:
            raise PowerCut(f"item {item}")
        written.append(item)

    with pytest.raises(PowerCut, match="item 3"):
        with Pipeline([lambda x: seen.append(x) or x, write], depth=1) as steps:
            for i in range(1000):
                steps.put(i)
    assert written == [0, 1, 2], "nothing after the failed item is written"
    assert len(seen) < 10, "the first step went on long after the last one failed"


def test_an_error_on_the_callers_side_stops_the_steps_after_the_item_in_hand():
    started, finished = threading.Event(), []
    release = threading.Event()

    def write(item):
        started.set()
        release.wait(10)
        finished.append(item)

    with pytest.raises(PowerCut):
        with Pipeline([lambda x: x, write], depth=1) as steps:
            steps.put(1)
            steps.put(2)
            started.wait(10)
            release.set()
            raise PowerCut("the caller failed")
    assert finished[:1] == [1], "the item being written was finished"
    assert all(t.name != "stage-1" for t in threading.enumerate()), "a step thread is left"


def test_the_first_step_says_when_it_is_idle_so_the_caller_need_not_make_it_wait():
    started, release = threading.Event(), threading.Event()

    def encode(item):
        started.set()
        release.wait(30)
        return item

    with Pipeline([encode, lambda _item: None], depth=1) as steps:
        assert steps.idle()
        steps.put(1)
        assert started.wait(30)
        assert not steps.idle()  # working on the first item
        steps.put(2)
        assert not steps.idle()
        release.set()
    assert steps.idle()


def test_the_last_group_is_cut_in_halves_at_document_boundaries_keeping_every_document():
    """The writer of the last piece is all that follows the encoder: the pieces shrink, every
    document stays whole and in order, and nothing is dropped or repeated."""
    sizes = [21, 30, 5, 100, 40, 12, 3, 60, 20, 66, 8, 2]
    pieces = tail_pieces(list(range(len(sizes))), lambda i: sizes[i], smallest=32)
    assert [i for piece in pieces for i in piece] == list(range(len(sizes)))
    totals = [sum(sizes[i] for i in piece) for piece in pieces]
    assert totals[0] >= sum(sizes) / 2 and totals[-1] < totals[0] / 2
    assert all(t >= 32 for t in totals[:-1])
    assert tail_pieces([], len, smallest=32) == []
    assert tail_pieces([7], lambda _: 500, smallest=32) == [[7]]  # one big document stays whole
