"""ROUGE of the offline brief's cross-source part on multi-document news clusters, against classic baselines.

DUC-style protocol: each cluster (a folder of articles on one event or topic, with ~100-word reference summaries
written by hand) goes through `briefing run --engine extractive`; the first 100 words of BLUF + themes (in the
order brief.json lists them) are scored with rouge-score (Porter stemming, F1 x 100), averaged over the
references of the cluster, then over clusters. Rows:

- ours, project profile (./briefing.toml or the packaged defaults) and ours, generic profile (profiles/generic.toml)
- per-source summaries of the same run, round-robin (first sentence of each source, then the second, ...)
- lead: the first sentence of each cleaned source, round-robin
- sumy LexRank and TextRank over all cleaned sources (sumy + rouge-score are in the `bench` extra)

Clusters live in bench/data/clusters/NAME/{docs,refs}; a cluster without docs/ uses the repository's seeds/ and
tests/fixtures/articles/. Usage: python bench/rouge_eval.py [--clusters DIR] [--words 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # python bench/rouge_eval.py
    sys.path.insert(0, str(ROOT))

from briefing.text import paragraphs, sentences, words  # noqa: E402

CLUSTERS = ROOT / "bench" / "data" / "clusters"
GENERIC = ROOT / "profiles" / "generic.toml"
SYSTEMS = ["ours, project profile", "ours, generic profile", "per-source summaries, round-robin", "lead, round-robin",
           "sumy LexRank", "sumy TextRank"]


def first_words(texts: list[str], n: int) -> str:
    """The first n whitespace-separated words of the texts joined in order."""
    out: list[str] = []
    for t in texts:
        out.extend(t.split())
        if len(out) >= n:
            break
    return " ".join(out[:n])


def round_robin(lists: list[list[str]]) -> list[str]:
    """Items of each list in turn: the first of every list, then the second, ..."""
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def cluster_docs(cluster: Path) -> list[str]:
    """Paths of a cluster's articles (the seeds cluster points at the repository's own articles)."""
    docs = cluster / "docs"
    if docs.is_dir():
        return [str(docs)]
    return [str(ROOT / "seeds"), str(ROOT / "tests" / "fixtures" / "articles")]


def single_line_copy(paths: list[str], dest: Path) -> list[str]:
    """The articles with every line break turned into a space (as some exports deliver them)."""
    dest.mkdir(parents=True, exist_ok=True)
    for p in paths:
        for f in sorted(Path(p).glob("*.txt")):
            text = f.read_text(encoding="utf-8")
            (dest / f"{Path(p).name}_{f.name}").write_text(" ".join(text.split()) + "\n", encoding="utf-8")
    return [str(dest)]


def run_brief(paths: list[str], out: Path, config: Path | None) -> dict[str, Any]:
    """brief.json of an offline run over the paths."""
    cmd = [sys.executable, "-m", "briefing", "run", *paths, "--engine", "extractive", "--out", str(out), "--quiet"]
    if config is not None:
        cmd += ["--config", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"briefing run failed on {paths}: {proc.stderr.strip()}")
    data: dict[str, Any] = json.loads((out / "latest" / "brief.json").read_text(encoding="utf-8"))
    data["_texts"] = {s["id"]: (out / "latest" / s["text_path"]).read_text(encoding="utf-8")
                      for s in data["sources"]}
    return data


def cross_source(data: dict[str, Any]) -> list[str]:
    """BLUF then theme sentences, as the brief lists them."""
    claims = data["claims"]
    return ([c["text"] for c in claims if c["section"] == "bluf"]
            + [c["text"] for c in claims if c["section"].startswith("theme:")])


def per_source(data: dict[str, Any]) -> list[str]:
    """Per-source summary sentences, round-robin over sources."""
    by_src: dict[str, list[str]] = {}
    for c in data["claims"]:
        if c["section"].startswith("source_summary:"):
            by_src.setdefault(c["section"], []).append(c["text"])
    return round_robin(list(by_src.values()))


def body_sentences(data: dict[str, Any]) -> list[list[str]]:
    """Sentences of each cleaned source, without its title line and short heading-like lines."""
    out = []
    for s in data["sources"]:
        text = data["_texts"][s["id"]]
        title = (s.get("title") or "").strip()
        sents = []
        for ps, pe in paragraphs(text):
            para = text[ps:pe]
            if para.strip() == title or len(words(para)) < 8:
                continue
            sents += [text[a:b] for a, b in sentences(text) if ps <= a < pe]
        out.append(sents)
    return out


class _Tokenizer:
    """sumy tokenizer backed by briefing's own sentence splitter (sumy's default needs NLTK data downloads)."""

    language = "english"

    def to_sentences(self, paragraph: str) -> list[str]:
        return [paragraph[a:b] for a, b in sentences(paragraph)]

    def to_words(self, sentence: str) -> list[str]:
        return words(sentence)


def sumy_summary(docs: list[list[str]], algorithm: str, n_words: int) -> list[str] | None:
    """LexRank / TextRank sentences (document order, as sumy returns them), enough to fill n_words."""
    try:
        from sumy.nlp.stemmers import Stemmer
        from sumy.parsers.plaintext import PlaintextParser
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.text_rank import TextRankSummarizer
        from sumy.utils import get_stop_words
    except ImportError:
        return None
    text = "\n\n".join("\n".join(d) for d in docs)
    parser = PlaintextParser.from_string(text, _Tokenizer())
    summarizer = (LexRankSummarizer if algorithm == "lexrank" else TextRankSummarizer)(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    # sumy returns the top-k in document order; grow k until the summary has n_words.
    k = 1
    while True:
        picked = [str(s) for s in summarizer(parser.document, k)]
        if sum(len(s.split()) for s in picked) >= n_words or k > 40:
            return picked
        k += 1


def score(summary: str, refs: list[str]) -> dict[str, float]:
    """ROUGE-1/2/L F1 x 100 (stemmed), averaged over the references."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    totals = {"R-1": 0.0, "R-2": 0.0, "R-L": 0.0}
    for ref in refs:
        s = scorer.score(ref, summary)
        totals["R-1"] += s["rouge1"].fmeasure
        totals["R-2"] += s["rouge2"].fmeasure
        totals["R-L"] += s["rougeL"].fmeasure
    return {k: round(100 * v / len(refs), 2) for k, v in totals.items()}


def evaluate(clusters_dir: Path, n_words: int, show: bool = False, single_line: bool = False) -> dict[str, Any]:
    """Scores per cluster and system, and the means."""
    per_cluster: dict[str, dict[str, dict[str, float]]] = {}
    texts: dict[str, dict[str, str]] = {}
    for cluster in sorted(p for p in clusters_dir.iterdir() if (p / "refs").is_dir()):
        refs = [p.read_text(encoding="utf-8").strip() for p in sorted((cluster / "refs").glob("*.txt"))]
        paths = cluster_docs(cluster)
        with tempfile.TemporaryDirectory() as tmp:
            if single_line:
                paths = single_line_copy(paths, Path(tmp) / "docs")
            project = run_brief(paths, Path(tmp) / "project", None)
            generic = run_brief(paths, Path(tmp) / "generic", GENERIC)
        docs = body_sentences(project)
        outputs = {
            SYSTEMS[0]: first_words(cross_source(project), n_words),
            SYSTEMS[1]: first_words(cross_source(generic), n_words),
            SYSTEMS[2]: first_words(per_source(project), n_words),
            SYSTEMS[3]: first_words(round_robin(docs), n_words),
        }
        for name, algo in ((SYSTEMS[4], "lexrank"), (SYSTEMS[5], "textrank")):
            picked = sumy_summary(docs, algo, n_words)
            if picked is not None:
                outputs[name] = first_words(picked, n_words)
        per_cluster[cluster.name] = {name: score(text, refs) for name, text in outputs.items()}
        texts[cluster.name] = outputs
        if show:
            for name, text in outputs.items():
                print(f"--- {cluster.name} / {name}\n{text}\n", file=sys.stderr)
    means: dict[str, dict[str, float]] = {}
    for name in SYSTEMS:
        rows = [c[name] for c in per_cluster.values() if name in c]
        if rows:
            means[name] = {k: round(sum(r[k] for r in rows) / len(rows), 2) for k in ("R-1", "R-2", "R-L")}
    return {"words": n_words, "single_line": single_line, "clusters": per_cluster, "mean": means, "outputs": texts}


def table(result: dict[str, Any]) -> str:
    """Markdown table: mean R-1/R-2/R-L per system, then R-2 per cluster."""
    names = list(result["clusters"])
    lines = [f"ROUGE F1 x100 (stemmed), first {result['words']} words, mean over {len(names)} clusters"
             + (", articles on a single line" if result.get("single_line") else ""),
             "", "| system | R-1 | R-2 | R-L | " + " | ".join(f"R-2 {n}" for n in names) + " |",
             "|---|---|---|---|" + "---|" * len(names)]
    for name, m in result["mean"].items():
        cells = [f"{result['clusters'][n][name]['R-2']:.2f}" if name in result["clusters"][n] else "-"
                 for n in names]
        lines.append(f"| {name} | {m['R-1']:.2f} | {m['R-2']:.2f} | {m['R-L']:.2f} | " + " | ".join(cells) + " |")
    missing = [s for s in SYSTEMS if s not in result["mean"]]
    if missing:
        lines.append(f"\nnot run (install the bench extra): {', '.join(missing)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clusters", type=Path, default=CLUSTERS, help="folder of clusters (NAME/docs, NAME/refs)")
    ap.add_argument("--words", type=int, default=100, help="summary length in words")
    ap.add_argument("--json", type=Path, help="also write the scores and the scored texts here")
    ap.add_argument("--show", action="store_true", help="print every scored text on stderr")
    ap.add_argument("--single-line", action="store_true", help="each article on one line (no paragraph breaks)")
    args = ap.parse_args(argv)
    try:
        import rouge_score  # noqa: F401
    except ImportError:
        print("rouge-score is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    result = evaluate(args.clusters, args.words, args.show, args.single_line)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

