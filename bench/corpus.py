"""Benchmark corpora: the seeds, their cleaned text, and deterministic article variants for larger N."""

from __future__ import annotations

import random
import re
from pathlib import Path

from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.models import RawDoc

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

_NAMES = [("Kim Jong Un", "the North Korean leader"), ("Putin", "the Russian president"),
          ("Pyongyang", "the North Korean capital"), ("Moscow", "the Russian capital"),
          ("Joly", "the foreign minister"), ("Seoul", "the South Korean capital"), ("Ottawa", "the Canadian capital")]
_NUM = re.compile(r"\b\d{1,3}(?:,\d{3})*\b")


def raw_seeds(seeds: Path = SEEDS) -> list[RawDoc]:
    """The seed files as loaded by the pipeline (decoded, not cleaned)."""
    raws, _ = load_raw([str(seeds)])
    return raws


def cleaned_seed_texts(seeds: Path = SEEDS) -> list[str]:
    """Article bodies of the seeds after the cleaner (what the chunker sees in a run)."""
    return [d.text for d in clean_documents(raw_seeds(seeds)) if d.text.strip()]


def repeat_to(texts: list[str], target_bytes: int) -> list[str]:
    """Cycle through texts until their UTF-8 size reaches target_bytes (at least one of each)."""
    out: list[str] = []
    size = 0
    while size < target_bytes or len(out) < len(texts):
        t = texts[len(out) % len(texts)]
        out.append(t)
        size += len(t.encode("utf-8"))
    return out


_WORD = re.compile(r"[A-Za-z]{3,}")


def distinct_copies(texts: list[str], target_bytes: int, rate: float = 0.15) -> list[str]:
    """Like repeat_to, but every copy after the first swaps ~15% of words for other corpus words (seeded).

    Almost every sentence and paragraph of a copy is then a new string, so chunkers that memoize token counts of
    repeated pieces (semchunk, chonkie) get no help from the repetition; the text stays English-like.
    """
    vocab = sorted({w for t in texts for w in _WORD.findall(t)})
    out: list[str] = []
    size = 0
    while size < target_bytes or len(out) < len(texts):
        k, i = divmod(len(out), len(texts))
        t = texts[i]
        if k:
            rng = random.Random(k * 1000 + i)
            t = _WORD.sub(lambda m, r=rng: r.choice(vocab) if r.random() < rate else m.group(0), t)
        out.append(t)
        size += len(t.encode("utf-8"))
    return out


def _variant(text: str, k: int) -> str:
    """A deterministic variant of a raw dump: body paragraphs shuffled, names swapped, numbers changed."""
    rng = random.Random(k)
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if len(line) > 200]  # long prose lines; chrome and headers stay put
    moved = [lines[i] for i in body]
    rng.shuffle(moved)
    for i, line in zip(body, moved, strict=True):
        lines[i] = line
    out = "\n".join(lines)
    for name, alt in rng.sample(_NAMES, 3):
        out = out.replace(name, alt)
    return _NUM.sub(lambda m: str(int(m.group(0).replace(",", "")) + k % 7 + 1), out)


def write_articles(n: int, dest: Path, seeds: Path = SEEDS) -> Path:
    """Write n raw articles (the seeds first, then variants) into dest; returns dest."""
    raws = raw_seeds(seeds)
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        raw = raws[i % len(raws)]
        text = raw.text if i < len(raws) else _variant(raw.text, i)
        (dest / f"{i:04d}_{Path(raw.path).stem}.txt").write_text(text, encoding="utf-8")
    return dest
