"""The sandbox: untrusted work in a warm child process that may die, overrun or run out of
memory without harming the caller, and is replaced at once."""

from __future__ import annotations

import os
import time

import pytest

from pipelines.intake import read, sandbox


def test_a_child_answers_and_tells_its_peak_memory(reg, demo_dir):
    book = sandbox.run(read.read, demo_dir / "BG_2022-Q3.xlsx", reg)
    assert (book.country, book.quarter, book.findings) == ("BG", "2022-Q3", [])
    assert 50 < sandbox.peak_mb() < 1000


def test_an_exception_in_the_child_is_raised_in_the_caller():
    with pytest.raises(FileNotFoundError):
        sandbox.run(os.stat, "/no/such/file")


def test_a_child_that_aborts_is_refused_and_replaced(reg, demo_dir):
    with pytest.raises(sandbox.Refused, match="too much memory"):
        sandbox.run(os.abort)
    book = sandbox.run(read.read, demo_dir / "AT_2022-Q3.xlsx", reg)  # the next one is served
    assert book.country == "AT"


def test_memory_beyond_the_limit_is_refused():
    with pytest.raises(sandbox.Refused, match="too much memory"):
        sandbox.run(bytearray, (sandbox.memory_mb() + 512) * 1024 * 1024)


def test_a_call_that_overruns_its_time_is_killed():
    started = time.monotonic()
    with pytest.raises(sandbox.Refused, match="took too long"):
        sandbox.run(time.sleep, 30, timeout=1)
    assert time.monotonic() - started < 5
    assert sandbox.run(len, "still here") == 10
