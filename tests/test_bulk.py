"""Bulk work pauses the cyclic garbage collector, and always restores it."""

import gc
import threading

import pytest

from distil_tui.core.bulk import paused_gc
from distil_tui.core.importer import import_file


def test_paused_while_the_work_runs_and_enabled_after():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested, as an import inside other bulk work
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_a_failure():
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("the import failed")
    assert gc.isenabled()


def test_two_jobs_on_two_threads_the_first_to_end_does_not_resume_it():
    first_in, second_done = threading.Event(), threading.Event()
    seen = []

    def first():
        with paused_gc():
            first_in.set()
            second_done.wait(5)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with paused_gc():
        pass
    second_done.set()
    thread.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_import_leaves_the_collector_as_it_found_it(store, write):
    import_file(store, write("a.csv", "id,first_name\n1,Ann\n"), source="s", id_column="id")
    assert gc.isenabled()
