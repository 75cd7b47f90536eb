"""Executors: results come back in order through a bounded window, and a process pool
or a Dask cluster gives byte-identical tables to the one-process build (`extracted`,
the session's local extraction with GiNZA). The two parallel runs start worker
processes that load GiNZA once each: ~10-30 s on a 2-core machine."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.executor import Settings, make_runner, ordered_window, progress_on
from pipeline.extract import extract_tables
from pipeline.paths import TABLES
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


def test_unreachable_scheduler_is_a_message_not_a_traceback(tmp_path):
    args = ["extract", "--out", str(tmp_path), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--no-cache"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_process_pool_output_is_byte_identical(articles, extracted):
    runner = make_runner(Settings(executor="process", workers=2, progress=False, cache_dir=None))
    assert csvs(extract_tables(articles, apply_corrections=False, runner=runner)) == csvs(extracted)


def test_dask_local_cluster_output_is_byte_identical(articles, extracted):
    pytest.importorskip("distributed")
    runner = make_runner(Settings(executor="dask", workers=1, progress=False, cache_dir=None))
    assert csvs(extract_tables(articles, apply_corrections=False, runner=runner)) == csvs(extracted)
