"""Cleaning ahead in a forked child process: the same documents and token counts as cleaning in process, whatever
happens to the child."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from briefing.ingest import ahead, clean
from briefing.ingest.ahead import CleanAhead
from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.models import CleanedDoc, RawDoc
from briefing.sentences import split_sentences
from briefing.tokens import count_tokens

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="fork: Linux only")


@pytest.fixture
def raws() -> list[RawDoc]:
    docs, _ = load_raw([str(SEEDS)])
    assert len(docs) >= 3
    return docs


def _expected(raws: list[RawDoc]) -> list[tuple[CleanedDoc, int]]:
    return [(d, count_tokens(d.text)) for d in clean_documents(raws)]


def _read(cleaned: Iterable[tuple[CleanedDoc, int, list[tuple[int, int]] | None]]) -> list[tuple[CleanedDoc, int]]:
    """The documents and token counts; the sentence spans a child sends are split_sentences' own."""
    out = []
    for doc, tokens, spans in cleaned:
        assert spans is None or spans == [(s.start, s.end) for s in split_sentences(doc.text)]
        out.append((doc, tokens))
    return out


def test_forked_cleaning_gives_what_cleaning_here_gives(raws: list[RawDoc], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    cleaned = CleanAhead(raws)
    assert cleaned.forked and cleaned.pid is not None and cleaned.pid != os.getpid()
    got = list(cleaned)
    assert all(spans is not None for _, _, spans in got)  # all from the child
    assert _read(got) == _expected(raws)  # dataclass equality: text, flags, dropped lines, metadata
    assert cleaned.pid is None  # reaped once read


def test_documents_the_child_did_not_deliver_are_cleaned_here(raws: list[RawDoc],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    parent, real = os.getpid(), clean.iter_clean_documents

    def dies_after_two(batch: list[RawDoc], start: int = 0) -> Iterator[CleanedDoc]:
        for i, doc in enumerate(real(batch, start)):
            if os.getpid() != parent and i == 2:
                os._exit(3)  # the child is killed mid-batch
            yield doc

    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    monkeypatch.setattr(clean, "iter_clean_documents", dies_after_two)
    cleaned = CleanAhead(raws)
    assert cleaned.forked
    got = list(cleaned)
    from_child = [spans is not None for _, _, spans in got]  # the child died after sending one or two
    assert from_child[0] and not from_child[2] and from_child == sorted(from_child, reverse=True)
    assert _read(got) == _expected(raws)


def test_a_run_cleaned_in_a_child_writes_the_brief_a_run_cleaned_here_writes(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from briefing.config import load_settings
    from briefing.pipeline import Reporter, RunResult, run

    briefs = []
    for fork in (True, False):
        monkeypatch.setattr(ahead, "can_fork", lambda n, fork=fork: fork)
        out = tmp_path / f"out-{fork}"
        settings = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(out), "run.engine": "extractive"},
                                 environ={}, dotenv_path=None)
        result = run(settings, Reporter())
        assert isinstance(result, RunResult)
        data = dict(result.data)
        for volatile in ("generated_at", "timings"):
            data.pop(volatile, None)
        briefs.append((data, result.brief_md.read_text(encoding="utf-8").split("\n", 3)[3]))
    assert briefs[0] == briefs[1]


def test_a_child_that_sends_garbage_is_ignored(raws: list[RawDoc], monkeypatch: pytest.MonkeyPatch) -> None:
    def garbage(batch: list[RawDoc], fd: int) -> None:
        os.write(fd, b"\x80\x05not a pickle")
        os._exit(0)

    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    monkeypatch.setattr(ahead, "_child", garbage)
    assert _read(CleanAhead(raws)) == _expected(raws)


def test_closing_before_reading_stops_and_reaps_the_child(raws: list[RawDoc], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    cleaned = CleanAhead(raws * 20)  # more than a pipe holds: the child would block on a reader that never comes
    pid = cleaned.pid
    assert pid is not None
    cleaned.close()
    with pytest.raises(ChildProcessError):  # already reaped: no zombie, no stray process
        os.waitpid(pid, os.WNOHANG)


def test_no_fork_for_one_document_or_with_other_threads(raws: list[RawDoc], monkeypatch: pytest.MonkeyPatch) -> None:
    assert not ahead.can_fork(1)
    monkeypatch.setattr(ahead.threading, "active_count", lambda: 2)
    assert not ahead.can_fork(len(raws))
    cleaned = CleanAhead(raws)
    assert not cleaned.forked
    assert _read(cleaned) == _expected(raws)


def test_a_failed_fork_cleans_here(raws: list[RawDoc], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    monkeypatch.setattr(ahead.os, "fork", no_fork)
    cleaned = CleanAhead(raws)
    assert not cleaned.forked
    assert _read(cleaned) == _expected(raws)


def test_a_stop_signal_at_the_fork_does_not_run_the_parents_code_in_the_child(raws: list[RawDoc], tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C landing in the child right after fork, before it has its own handlers, must not unwind the caller's
    code there (a run's lock released, its log written, by the child): the child just stops."""
    real_fork, marker = os.fork, tmp_path / "escaped"

    def fork_then_interrupt() -> int:
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGINT)  # the worst moment: straight after fork returns in the child
        return pid

    monkeypatch.setattr(ahead, "can_fork", lambda n: True)
    monkeypatch.setattr(ahead.os, "fork", fork_then_interrupt)
    parent = os.getpid()
    try:
        cleaned = CleanAhead(raws)
    except KeyboardInterrupt:  # pragma: no cover - only a child could get here, and must not
        if os.getpid() != parent:
            marker.write_text("child ran the caller's code")
            os._exit(0)
        raise
    assert _read(cleaned) == _expected(raws)  # the child died at once: everything cleaned here
    assert not marker.exists()
