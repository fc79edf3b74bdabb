"""Smoke test of the benchmark entry point: quick chunking section on a tiny corpus (structure only, no timings)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench_run  # noqa: E402


def test_quick_chunking_section_writes_table_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for mod in ("langchain_text_splitters", "semchunk", "chonkie"):  # as without the bench extra
        monkeypatch.setitem(sys.modules, mod, None)
    out = tmp_path / "latest.json"
    assert bench_run.main(["--quick", "--sections", "chunking", "--chunk-mb", "0.02", "--reps", "1",
                           "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    chunk = data["chunking"]
    assert chunk["token_budget"] == 512 and chunk["documents"] >= 1
    names = [r["name"] for r in chunk["rows"]]
    assert names[:2] == ["raw tiktoken encode_ordinary (limit)", "briefing chunk_text"]
    for r in chunk["rows"][:2]:
        assert {"seconds", "median_seconds", "mb_s", "ratio_to_raw"} <= set(r)
    assert chunk["rows"][0]["ratio_to_raw"] == 1.0
    peers = chunk["rows"][2:]
    assert len(peers) == 3 and all("not installed" in r["skipped"] for r in peers)
    assert set(chunk["targets"]) == {"chunker >= 0.5x raw tiktoken", "chunker faster than LangChain splitter"}
    assert chunk["targets"]["chunker faster than LangChain splitter"] is None  # no peer: no verdict
    printed = capsys.readouterr().out
    assert "## Chunking" in printed and "skipped: not installed" in printed and "## Targets" in printed
    assert data["table"] in printed
    assert "pipeline" not in data and "cleaner" not in data
