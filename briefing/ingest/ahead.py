"""Cleaning ahead in a second process: a forked child cleans the batch (and counts its tokens) while the run imports
its model client and sends requests, so a second core does the cleaning off the way to the first request."""

from __future__ import annotations

import os
import pickle
import queue
import signal
import sys
import threading
import weakref
from collections.abc import Iterator

from briefing.ingest.clean import iter_clean_documents
from briefing.models import CleanedDoc, RawDoc
from briefing.tokens import count_tokens


def can_fork(n: int) -> bool:
    """Worth it and safe: a batch of several documents, Linux (fork without exec is safe there), a second core, and
    no other thread in this process (a thread holding a lock at fork time could leave the child stuck on it)."""
    return (n >= 2 and sys.platform == "linux" and threading.active_count() == 1
            and len(os.sched_getaffinity(0)) >= 2)


class CleanAhead:
    """iter_clean_documents(raws) with each text's token count, as (doc, tokens), in input order.

    The child starts when this is made; iterating reads what it has cleaned. Whatever the child did not deliver
    (it failed, or was killed) is cleaned here, in this process, so the result is the same either way; without
    fork (see can_fork) everything is cleaned here as it is iterated."""

    def __init__(self, raws: list[RawDoc], fork: bool = True) -> None:
        self.raws = raws
        self.pid: int | None = None
        self.forked = False
        if not fork or not can_fork(len(raws)):
            return
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: clean, send, and leave without running the parent's exit handlers
            os.close(r)
            _child(raws, w)
        os.close(w)
        self.pid, self.forked = pid, True
        self._in = os.fdopen(r, "rb")
        self._finalizer = weakref.finalize(self, _reap, pid, self._in)

    def __iter__(self) -> Iterator[tuple[CleanedDoc, int]]:
        done = 0
        if self.pid is not None:
            try:
                while done < len(self.raws):
                    try:
                        doc = pickle.load(self._in)
                    except Exception:  # noqa: BLE001 - end of the stream, or a child cut off mid-write
                        break
                    done += 1
                    yield doc, count_tokens(doc.text)
            finally:
                self.close()
        for doc in iter_clean_documents(self.raws, start=done):
            yield doc, count_tokens(doc.text)

    def close(self) -> None:
        """Stop the child (if still running) and reap it."""
        if self.pid is not None:
            self._finalizer()
            self.pid = None


def _reap(pid: int, pipe: object) -> None:
    try:
        pipe.close()  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
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
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C or a kill stops the child at once, quietly
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ready: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        writer = threading.Thread(target=_send, args=(ready, fd), daemon=True)
        writer.start()
        for doc in iter_clean_documents(raws):
            ready.put(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
        ready.put(None)
        writer.join()
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent cleans what was not delivered
        pass
    finally:
        os._exit(code)


def _send(ready: queue.SimpleQueue[bytes | None], fd: int) -> None:
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            while (data := ready.get()) is not None:
                out.write(data)
    except BaseException:  # noqa: BLE001 - the parent is gone or stopped reading: nothing left to do
        os._exit(1)
