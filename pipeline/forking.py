"""Work in a forked child process, for the short jobs of one build.

A forked child starts at once with everything this process has imported, where a
spawned one imports it all again (~1-2 s with spaCy); so a build forks for the small
jobs that can run beside its main work: a few articles to extract while the cache is
read (`forked_pool`), frictionless's layer while pandera checks the rows (`Background`,
which returns a result), the largest table written while the others are (`Beside`,
which inherits a large argument instead of pickling it), a worker made ready before
it is needed (`Standby`: GiNZA loads while this process reads the corpus and the
cache). Only where it is safe: a
fork copies just the calling thread, so not while other Python threads run, and only
on Linux (on macOS a forked child of a process that used system frameworks may crash;
Python spawns there by default); elsewhere the job runs in this process instead.

A forked child dies with its parent, and closes the build lock it inherited,
so a child outliving a killed build neither waits forever nor keeps the checkout locked.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def fork_safe() -> bool:
    """Whether this process may fork: on Linux (elsewhere, macOS's system libraries for
    one, a forked child of a process that used them may crash), with no other Python
    thread running."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _init_child(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    from pipeline.build import forget_build_lock

    _die_with_parent()
    forget_build_lock()
    if initializer is not None:
        initializer(*initargs)


def quiet_on_interrupt() -> None:
    """In a worker process: exit at once, and quietly, on Ctrl-C. A terminal signals
    every process of the build, and the build process itself reports "Aborted!"; an
    idle worker would otherwise print the traceback of the queue it waits on. (Not in
    a process that owns a pool: its queues' semaphores must be released as it unwinds.)"""
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(128 + signum))


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def forked_pool(workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes (call only when `fork_safe()`)."""
    return ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_init_child, initargs=(initializer, initargs))


class Background:
    """`fn(*args)` in a forked child, started now; `result()` waits for it. Where a
    fork is not safe, or the child dies, or `worth_it` is false (a fork and a pool
    cost ~0.1 s, and the child imports what this process has not), the job runs in
    this process instead, when its result is asked for."""

    def __init__(self, fn: Callable[..., T], *args: Any, worth_it: bool = True):
        self._call = (fn, args)
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future | None = None
        if worth_it and fork_safe():
            self._pool = forked_pool(1)
            self._future = self._pool.submit(fn, *args)

    @property
    def forked(self) -> bool:
        """Whether the job runs in a child."""
        return self._future is not None

    def done(self) -> bool:
        """Whether `result()` would return without waiting for the child (True where
        there is none: the job then runs when its result is asked for)."""
        return self._future is None or self._future.done()

    def result(self) -> Any:
        fn, args = self._call
        if self._future is None:
            return fn(*args)
        try:
            return self._future.result()
        except BrokenProcessPool:
            return fn(*args)
        finally:
            assert self._pool is not None
            self._pool.shutdown()


class Beside:
    """`fn(*args)` for its side effects (writing a file) in a forked child that
    inherits the arguments as they are in memory: nothing is pickled, so a large
    table costs nothing to hand over. `join()` waits and says whether it finished;
    where a fork is not safe, `join()` says False at once and the caller does the
    work itself."""

    def __init__(self, fn: Callable[..., None], *args: Any):
        self._process = None
        if fork_safe():
            self._process = get_context("fork").Process(target=_quietly, args=(fn, args), daemon=True)
            self._process.start()

    def join(self) -> bool:
        if self._process is None:
            return False
        self._process.join()
        return self._process.exitcode == 0


def _quietly(fn: Callable[..., None], args: tuple) -> None:
    """The child's whole life: a failure is an exit code (the parent then does the
    work itself and reports any error), not a traceback printed twice."""
    _init_child(None, ())
    try:
        fn(*args)
    except BaseException:
        os._exit(1)


class ChildLost(Exception):
    """A forked child died (or could not be started) before giving its answer."""


class Standby:
    """A forked child that runs `setup()` at once, then `fn(job)` for each job sent to
    it, in order: a worker that gets ready while this process does other work. `stop()`
    ends it whether or not it was used (killed: it may still be in `setup`). Where a
    fork is not safe, no child is started and `ready` is False."""

    def __init__(self, setup: Callable[[], None], fn: Callable[[Any], Any]):
        self._process = None
        if fork_safe():
            context = get_context("fork")
            self._conn, theirs = context.Pipe()
            self._process = context.Process(target=_stand_by, args=(theirs, setup, fn), daemon=True)
            self._process.start()
            theirs.close()

    @property
    def ready(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _pipe(self) -> Any:
        if self._process is None:
            raise ChildLost("no child: forking was not safe here, or it was stopped")
        return self._conn

    def send(self, job: Any) -> None:
        try:
            self._pipe().send(job)
        except OSError as err:  # the pipe of a child that died
            raise ChildLost(str(err)) from None

    def receive(self) -> Any:
        """The answer to the oldest job not yet answered; ChildLost if the child died."""
        try:
            ok, value = self._pipe().recv()
        except (EOFError, OSError) as err:
            raise ChildLost(str(err) or "the child exited") from None
        if not ok:
            raise ChildLost(value)
        return value

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._conn.close()
            self._process = None


def _stand_by(conn: Any, setup: Callable[[], None], fn: Callable[[Any], Any]) -> None:
    import traceback

    quiet_on_interrupt()  # it waits for jobs most of its life
    try:
        _init_child(setup, ())
    except BaseException:  # the parent finds the pipe closed and does the work itself
        os._exit(1)
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent closed its end: nothing more to do
            return
        try:
            answer = (True, fn(job))
        except BaseException:
            answer = (False, traceback.format_exc())
        conn.send(answer)
