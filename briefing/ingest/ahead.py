"""Cleaning ahead in a second process: a forked child cleans the batch and counts its tokens while the run imports
its model client and sends requests, so a second core does the cleaning (and loads the tokenizer) off the way to the
first request."""

from __future__ import annotations

import os
import pickle
import queue
import signal
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import BinaryIO

from briefing.models import CleanedDoc, RawDoc
from briefing.sentences import split_sentences
from briefing.tokens import count_tokens

_STOPS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def can_fork(n: int) -> bool:
    """Worth it and safe: a batch of several documents, Linux (fork without exec is safe there), a second core, and
    no other thread in this process (a thread holding a lock at fork time could leave the child stuck on it)."""
    return (n >= 2 and sys.platform == "linux" and threading.active_count() == 1
            and len(os.sched_getaffinity(0)) >= 2)


Spans = list[tuple[int, int]]


class CleanAhead:
    """iter_clean_documents(raws) with each text's token count and sentence spans (split_sentences), as (doc, tokens,
    spans), in input order; spans is None for a document cleaned here (its Source segments it when asked).

    The child starts when this is made; iterating reads what it has cleaned. Whatever the child did not deliver
    (it failed, or was killed) is cleaned here, in this process, so the result is the same either way; without
    fork (see can_fork) everything is cleaned here as it is iterated."""

    def __init__(self, raws: list[RawDoc], fork: bool = True) -> None:
        self.raws = raws
        self.pid: int | None = None
        self.forked = False
        if not fork or not can_fork(len(raws)):
            return
        try:
            r, w = os.pipe()
        except OSError:  # out of file descriptors: clean here
            return
        # Stop signals are held over the fork: one landing in the child before it has its own handlers would run the
        # parent's (a KeyboardInterrupt unwinding the run's code, its lock released, in the child).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: clean here
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: clean, send, and leave without running the parent's exit handlers
            try:
                for sig in _STOPS:
                    signal.signal(sig, signal.SIG_DFL)  # Ctrl-C or a kill stops the child at once, quietly
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                os.close(r)
                _child(raws, w)
            finally:
                os._exit(1)
        os.close(w)
        self.pid, self.forked = pid, True
        self._in = os.fdopen(r, "rb")
        self._finalizer = weakref.finalize(self, _reap, pid, self._in)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a stop that came meanwhile is raised here: child tracked

    def __iter__(self) -> Iterator[tuple[CleanedDoc, int, Spans | None]]:
        done = 0
        if self.pid is not None:
            try:
                while done < len(self.raws):
                    try:
                        doc, tokens, spans = pickle.load(self._in)
                    except Exception:  # noqa: BLE001 - end of the stream, or a child cut off mid-write
                        break
                    done += 1
                    yield doc, tokens, spans
            finally:
                self.close()
        from briefing.ingest.clean import iter_clean_documents  # (imported after the fork: the child imports its own)

        for doc in iter_clean_documents(self.raws, start=done):
            yield doc, count_tokens(doc.text), None

    def close(self) -> None:
        """Stop the child (if still running) and reap it."""
        if self.pid is not None:
            self._finalizer()
            self.pid = None


def _reap(pid: int, pipe: BinaryIO) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        pipe.close()
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _child(raws: list[RawDoc], fd: int) -> None:
    """Clean the batch and send each document, pickled, in order; a writer thread sends, so the cleaning never waits
    on a parent still busy with its imports (a pipe holds only a few articles)."""
    code = 1
    try:
        ready: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        writer = threading.Thread(target=_send, args=(ready, fd), daemon=True)
        writer.start()
        from briefing.ingest.clean import iter_clean_documents

        for doc in iter_clean_documents(raws):
            spans = [(x.start, x.end) for x in split_sentences(doc.text)]
            ready.put(pickle.dumps((doc, count_tokens(doc.text), spans), protocol=pickle.HIGHEST_PROTOCOL))
        ready.put(None)
        writer.join()
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent cleans what was not delivered
        pass
    finally:
        os._exit(code)


def _send(ready: queue.SimpleQueue[bytes | None], fd: int) -> None:
    try:
        with os.fdopen(fd, "wb") as out:
            while (data := ready.get()) is not None:
                out.write(data)  # (a buffered write: all of it, however the pipe takes it)
                out.flush()
    except BaseException:  # noqa: BLE001 - the parent is gone or stopped reading: nothing left to do
        os._exit(1)
