"""The garbage-collector settings hold inside their block and are undone after it, even on an error."""

from __future__ import annotations

import gc

import pytest

from services.stream.gcpolicy import THRESHOLDS, gc_paused, gc_thresholds


def test_thresholds_inside_and_restored_after_an_error() -> None:
    before = gc.get_threshold()
    assert before != THRESHOLDS
    with pytest.raises(RuntimeError), gc_thresholds(THRESHOLDS):
        assert gc.get_threshold() == THRESHOLDS
        raise RuntimeError("stop")
    assert gc.get_threshold() == before


def test_paused_inside_and_left_as_it_was() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("stop")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
