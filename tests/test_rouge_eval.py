"""bench/rouge_eval.py helpers: word budget, round-robin, which claims form the scored text (no ROUGE needed)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import rouge_eval  # noqa: E402


def test_first_words_and_round_robin() -> None:
    assert rouge_eval.first_words(["a b c", "d e"], 4) == "a b c d"
    assert rouge_eval.first_words(["a"], 4) == "a"
    assert rouge_eval.round_robin([["a1", "a2"], ["b1"], ["c1", "c2", "c3"]]) == ["a1", "b1", "c1", "a2", "c2", "c3"]


def test_scored_text_is_bluf_then_themes_and_summaries_round_robin() -> None:
    claims = [{"section": "theme:x", "text": "T1"}, {"section": "bluf", "text": "B1"},
              {"section": "key_judgments", "text": "K1"}, {"section": "bluf", "text": "B2"},
              {"section": "source_summary:1", "text": "S1a"}, {"section": "source_summary:1", "text": "S1b"},
              {"section": "source_summary:2", "text": "S2a"}]
    data = {"claims": claims}
    assert rouge_eval.cross_source(data) == ["B1", "B2", "T1"]
    assert rouge_eval.per_source(data) == ["S1a", "S2a", "S1b"]


def test_clusters_have_references_and_articles() -> None:
    clusters = [p for p in rouge_eval.CLUSTERS.iterdir() if (p / "refs").is_dir()]
    assert len(clusters) >= 5
    for c in clusters:
        refs = list((c / "refs").glob("*.txt"))
        assert len(refs) >= 2 and all(80 <= len(r.read_text(encoding="utf-8").split()) <= 120 for r in refs)
        docs = rouge_eval.cluster_docs(c)
        assert sum(len(list(Path(d).glob("*.txt"))) for d in docs) >= 5


def test_single_line_copy(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("Title\n\nFirst line.\nSecond line.\n", encoding="utf-8")
    (out,) = rouge_eval.single_line_copy([str(src)], tmp_path / "out")
    (f,) = Path(out).glob("*.txt")
    assert f.read_text(encoding="utf-8") == "Title First line. Second line.\n"
