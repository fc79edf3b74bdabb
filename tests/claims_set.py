"""The hand-labelled claim set (tests/fixtures/claims/claims.jsonl): loading, resolving cites to sentence ids, scoring.

Shared by tests/test_claims_set.py and bench/verify_eval.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.models import Claim, Evidence, Source
from briefing.verify.claims import verify_claim

ROOT = Path(__file__).resolve().parent.parent
SET = Path(__file__).parent / "fixtures" / "claims" / "claims.jsonl"
FRESH = Path(__file__).parent / "fixtures" / "claims" / "fresh.jsonl"  # written after tuning; never tuned on
FIXTURES = Path(__file__).parent / "fixtures"
FILES = {
    **{f"s{i}": p for i, p in enumerate(sorted((ROOT / "seeds").glob("*.txt")))},
    **{p.stem.split("_")[0]: p for p in sorted((FIXTURES / "articles").glob("*.txt"))},
    **{p.stem: p for p in sorted((FIXTURES / "dumps").glob("*.txt")) if "." not in p.stem},
}
MODES = ("ids", "quote", "lower")  # cite sentence ids; cite a quote only (old brief.json); lower-cased claim text


@dataclass
class Item:
    """One labelled claim: kind, sound or not, tuning or held-out half, the claim and its cites."""

    n: int
    kind: str
    split: str
    text: str
    cites: list[tuple[str, str]]

    @property
    def sound(self) -> bool:
        """True for the claims the verifier should pass."""
        return self.kind.startswith("sound")


@lru_cache(maxsize=1)
def sources() -> dict[str, Source]:
    """The cleaned articles by key, with ids 1..n in key order."""
    keys = sorted(FILES)
    docs, _ = load_raw([str(FILES[k]) for k in keys])
    cleaned = clean_documents(docs)
    assert len(cleaned) == len(keys)
    return {k: Source.from_doc(i, d, 0) for i, (k, d) in enumerate(zip(keys, cleaned, strict=True), 1)}


def load(path: Path = SET) -> list[Item]:
    """The labelled claims; within each kind, even positions are the tuning half and odd ones the held-out half
    (fresh.jsonl, written after the checks were set, is all 'fresh')."""
    seen: dict[str, int] = defaultdict(int)
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        kind = d["kind"]
        split = "fresh" if path.name == FRESH.name else "tune" if seen[kind] % 2 == 0 else "holdout"
        seen[kind] += 1
        items.append(Item(n, kind, split, d["claim"], [(k, q) for k, q in d["cites"]]))
    return items


def sentence_ids(src: Source, piece: str) -> list[int]:
    """Ids of the sentences a verbatim piece of the article lies in."""
    at = src.text.find(piece)
    if at < 0:
        raise ValueError(f"{src.path}: text not found: {piece!r}")
    end = at + len(piece)
    return [s.id for s in src.sentences if s.start < end and at < s.end]


def build(item: Item, mode: str) -> tuple[Claim, dict[int, Source]]:
    """The claim as an engine (ids), an old brief.json (quote only) or a lower-cased summary would give it."""
    srcs = sources()
    by_id = {s.id: s for s in srcs.values()}
    evidence: list[Evidence] = []
    for key, piece in item.cites:
        src = srcs[key]
        ids = sentence_ids(src, piece)
        if mode == "ids":
            same = next((e for e in evidence if e.source_id == src.id), None)
            if same is None:
                evidence.append(Evidence(src.id, "", sentence_ids=ids))
            else:
                same.sentence_ids = sorted(set(same.sentence_ids) | set(ids))
        else:  # one quote per cited passage: the sentence(s) it lies in, verbatim
            evidence.append(Evidence(src.id, " ".join(src.sentences[i - 1].text for i in ids)))
    cited = list(dict.fromkeys(e.source_id for e in evidence))
    text = item.text.lower() if mode == "lower" else item.text
    return Claim(text, cited, evidence), by_id


def flagged(item: Item, mode: str) -> tuple[bool, Claim]:
    """Whether the verifier flags the claim in this mode, and the checked claim."""
    claim, by_id = build(item, mode)
    verify_claim(claim, by_id)
    return not claim.verified, claim


def table(items: list[Item], modes: tuple[str, ...] = MODES) -> dict[str, dict[str, tuple[int, int]]]:
    """Per kind and mode: (flagged, total)."""
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for mode in modes:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for it in items:
            f, _ = flagged(it, mode)
            counts[it.kind][0] += f
            counts[it.kind][1] += 1
        for kind, (f, n) in counts.items():
            out[kind][mode] = (f, n)
    return dict(out)


def rates(items: list[Item], mode: str) -> tuple[float, float, float]:
    """(share of faulty claims flagged, share of sound claims flagged, balanced accuracy) in one mode."""
    faulty = [flagged(it, mode)[0] for it in items if not it.sound]
    sound = [flagged(it, mode)[0] for it in items if it.sound]
    tpr = sum(faulty) / max(1, len(faulty))
    fpr = sum(sound) / max(1, len(sound))
    return tpr, fpr, (tpr + 1 - fpr) / 2
