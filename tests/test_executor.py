"""Executors: results come back in order through a bounded window, and a process pool
or a Dask cluster gives byte-identical tables to the one-process build (`extracted`,
the session's local extraction with GiNZA). The two parallel runs start worker
processes that load GiNZA once each: ~10-30 s on a 2-core machine."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.build import BuildBusy, exclusive
from pipeline.cli import cli
from pipeline.executor import (
    POOL_MIN_ARTICLES,
    Settings,
    auto_executor,
    current_standby,
    make_runner,
    ordered_window,
    run_forked,
    standing_by,
)
from pipeline.extract import Flags, extract_article, extract_tables
from pipeline.forking import Background, Beside, ChildLost, Standby, forked_pool
from pipeline.progress import progress_on
from pipeline.paths import TABLES
from pipeline.registry import load_registry
from pipeline.tables import load_schema, render_csv


def csvs(tables) -> dict[str, str]:
    return {name: render_csv(tables[name], load_schema(name)) for name in TABLES}


def test_results_come_in_order_with_at_most_window_in_flight():
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def submit(n: int) -> Future:
        nonlocal in_flight, most
        future: Future = Future()
        with lock:
            in_flight += 1
            most = max(most, in_flight)

        def finish() -> None:
            nonlocal in_flight
            time.sleep(0.001 * (10 - n % 10))  # later items finish first
            with lock:
                in_flight -= 1
            future.set_result(n * n)

        threading.Thread(target=finish).start()
        return future

    assert list(ordered_window(list(range(30)), submit, window=3)) == [n * n for n in range(30)]
    assert most <= 3


def test_progress_is_off_in_ci_and_when_asked(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert progress_on(None) is False
    assert progress_on(True) is True
    assert progress_on(False) is False


def test_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="executor must be one of"):
        make_runner(Settings(executor="threads"))


def test_scheduler_without_dask_is_a_message_not_a_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["extract", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "--scheduler needs --executor dask" in result.output
    assert "Traceback" not in result.output


def test_process_pool_output_is_byte_identical(articles, extracted):
    runner = make_runner(Settings(executor="process", workers=2, progress=False, cache_dir=None))
    assert csvs(extract_tables(articles, apply_corrections=False, runner=runner)) == csvs(extracted)


def test_auto_runs_a_few_misses_in_one_forked_worker_and_many_in_a_pool(monkeypatch):
    monkeypatch.setattr("pipeline.executor.fork_safe", lambda: True)
    assert auto_executor(1, workers=2) == "fork"
    assert auto_executor(POOL_MIN_ARTICLES, workers=2) == "process"
    assert auto_executor(3, workers=1) == "local"
    monkeypatch.setattr("pipeline.executor.fork_safe", lambda: False)
    assert auto_executor(1, workers=2) == "local"


def test_a_forked_worker_gives_the_same_results(articles):
    registry, flags = load_registry(), Flags()
    forked = list(run_forked(list(articles), registry, flags))
    assert forked == [extract_article(a, registry, flags) for a in articles]


def _open_files(_: object) -> list[str]:
    return [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_forked_worker_lets_go_of_the_build_lock(tmp_path):
    """Else a worker outliving a killed build would keep the checkout locked."""
    lock = str((tmp_path / ".build" / "build.lock").resolve())
    with exclusive(tmp_path):
        assert lock in _open_files(None)
        with forked_pool(1) as pool:
            in_worker = pool.submit(_open_files, None).result()
        assert lock not in in_worker
        with pytest.raises(BuildBusy):  # the parent still holds it
            with exclusive(tmp_path):
                pass


def test_forking_only_on_linux_with_no_other_thread(monkeypatch):
    from pipeline.forking import fork_safe

    monkeypatch.setattr("pipeline.forking.threading.active_count", lambda: 1)
    monkeypatch.setattr("pipeline.forking.sys.platform", "linux")
    assert fork_safe() is True
    monkeypatch.setattr("pipeline.forking.sys.platform", "darwin")
    assert fork_safe() is False
    monkeypatch.setattr("pipeline.forking.sys.platform", "linux")
    monkeypatch.setattr("pipeline.forking.threading.active_count", lambda: 2)
    assert fork_safe() is False


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def test_background_runs_in_a_child_and_inline_when_fork_is_unsafe(monkeypatch):
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)  # earlier tests may leave threads
    pid, doubled = Background(_pid_and, 21).result()
    assert doubled == 42 and pid != os.getpid()
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: False)
    assert Background(_pid_and, 21).result() == (os.getpid(), 42)


def _write(path, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def _fail(_path, _text) -> None:
    raise OSError("disk full")


def test_beside_runs_in_a_child_that_inherits_its_arguments(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)
    big = "x" * 1_000_000
    assert Beside(_write, tmp_path / "a.txt", big).join() is True
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == big
    assert Beside(_fail, tmp_path / "b.txt", big).join() is False  # the caller then does it itself
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: False)
    assert Beside(_write, tmp_path / "c.txt", big).join() is False and not (tmp_path / "c.txt").exists()


def test_tables_written_beside_or_here_are_the_same_bytes(extracted, tmp_path, monkeypatch):
    from pipeline import paths
    from pipeline.build import write_tables

    monkeypatch.setattr("pipeline.build.BESIDE_MIN_ROWS", 1)
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)
    beside = write_tables(tmp_path / "beside", extracted, paths.SCHEMAS)
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: False)
    here = write_tables(tmp_path / "here", extracted, paths.SCHEMAS)
    assert beside == here
    for name in TABLES:
        assert (tmp_path / "beside" / f"{name}.csv").read_bytes() == (tmp_path / "here" / f"{name}.csv").read_bytes()


def _double(job: int) -> int:
    return job * 2


def _die(_job: object) -> None:
    os._exit(3)


def _raise(_job: object) -> None:
    raise RuntimeError("cannot")


def _no_models() -> None:
    raise RuntimeError("no models here")


def test_a_standby_worker_answers_in_order_and_is_stopped(monkeypatch):
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)
    worker = Standby(lambda: None, _double)
    assert worker.ready
    worker.send(2)
    worker.send(5)
    assert (worker.receive(), worker.receive()) == (4, 10)
    worker.stop()
    assert not worker.ready
    with pytest.raises(ChildLost):
        worker.send(1)


@pytest.mark.parametrize("setup, work", [(lambda: None, _die), (_no_models, _double), (lambda: None, _raise)])
def test_a_lost_standby_worker_says_so_instead_of_hanging(monkeypatch, setup, work):
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)
    worker = Standby(setup, work)
    worker.send(1)
    with pytest.raises(ChildLost):
        worker.receive()
    worker.stop()


@pytest.mark.parametrize("can_fork", [True, False])
def test_a_forked_worker_that_dies_or_cannot_start_is_taken_over_here(articles, monkeypatch, can_fork):
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: can_fork)
    monkeypatch.setattr("pipeline.executor._standby_work", _die)
    registry, flags = load_registry(), Flags(use_ner=False, parse=False)
    assert list(run_forked(list(articles), registry, flags)) == [extract_article(a, registry, flags) for a in articles]


def test_a_build_readies_one_worker_and_stops_it_when_nothing_needs_it(monkeypatch):
    """`standing_by` forks the worker before the corpus is read; a build with every
    article cached (or many to extract, for the pool) gives its core back at once."""
    monkeypatch.setattr("pipeline.forking.fork_safe", lambda: True)
    monkeypatch.setattr("pipeline.executor._get_ready", lambda: None)  # no GiNZA for this test
    settings = Settings(workers=2, progress=False)
    with standing_by(settings):
        worker = current_standby()
        assert worker is not None and worker.ready
        assert list(make_runner(settings)([], load_registry(), Flags())) == []
        assert not worker.ready
    with standing_by(Settings(executor="local", workers=2)):
        assert current_standby() is None


# Last in this file: Dask may leave threads behind, and the tests above fork.
def test_unreachable_scheduler_is_a_message_not_a_traceback(tmp_path):
    args = ["extract", "--out", str(tmp_path), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--no-cache"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_dask_local_cluster_output_is_byte_identical(articles, extracted):
    pytest.importorskip("distributed")
    runner = make_runner(Settings(executor="dask", workers=1, progress=False, cache_dir=None))
    assert csvs(extract_tables(articles, apply_corrections=False, runner=runner)) == csvs(extracted)
