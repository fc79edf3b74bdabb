"""Sentence-anchored verification: sentence ids, faults planted by editing a brief.json, `briefing verify --json`."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from briefing.config import load_settings
from briefing.models import Claim, Evidence, Source
from briefing.pipeline import Reporter, RunResult, run
from briefing.verify.brief_file import verify_brief_file
from briefing.verify.claims import verify_claim
from briefing.verify.support import quantities

ROOT = Path(__file__).resolve().parent.parent
TEXT = ("Canada's foreign minister Mélanie Joly met her Korean counterpart Cho Tae-yul in Ottawa on Friday. "
        "He said the two countries would not tolerate North Korea's deployment of 12,000 troops to Russia. "
        "The ministers agreed to hold talks every two years.\n"
        "Japan was not invited to the meeting.")


@pytest.fixture
def src() -> dict[int, Source]:
    return {1: Source(1, "a.txt", TEXT, "", 0, authors=["Dana Whitfield"]),
            2: Source(2, "b.txt", "Prices of rice rose by 5 percent in Seoul last year, officials said.", "", 0)}


def check(text: str, ids: list[int], srcs: dict[int, Source], quote: str = "", sid: int = 1) -> Claim:
    return verify_claim(Claim(text, [sid], [Evidence(sid, quote, sentence_ids=ids)]), srcs)


def test_ids_resolve_to_sentences_and_set_the_span(src: dict[int, Source]) -> None:
    c = check("Joly met Korean counterpart Cho Tae-yul in Ottawa on Friday.", [1], src)
    assert c.verified, c.problems
    assert c.support is not None and c.support > 0.8
    start, end = c.evidence[0].span or (0, 0)
    assert TEXT[start:end] == src[1].sentences[0].text


def test_unknown_and_malformed_sentence_ids_are_problems(src: dict[int, Source]) -> None:
    c = check("Joly met her Korean counterpart in Ottawa.", [1, 9], src)
    assert not c.verified
    assert "[1] has no sentence 9 (it has 4): the claim cites one that does not exist" in c.problems
    c2 = verify_claim(Claim("Joly met her Korean counterpart.", [1], [Evidence(1, "", sentence_ids=["x"])]),  # type: ignore[list-item]
                      src)
    assert not c2.verified and any("malformed sentence id" in p for p in c2.problems)


def test_claim_is_checked_against_the_cited_sentences_only(src: dict[int, Source]) -> None:
    # 12,000 is in sentence 2, not in the cited sentence 3.
    c = check("The ministers agreed to hold talks on the 12,000 troops every two years.", [3], src)
    assert not c.verified and "number 12,000 not in the cited sentences" in c.problems
    assert check("The ministers agreed to hold talks every two years.", [3], src).verified


def test_quote_next_to_ids_must_be_in_those_sentences(src: dict[int, Source]) -> None:
    c = check("The ministers agreed to hold talks every two years.", [3], src, quote="Japan was not invited")
    assert not c.verified and any("quote not in the cited sentences" in p for p in c.problems)
    ok = check("The ministers agreed to hold talks every two years.", [3], src, quote="agreed to hold talks")
    assert ok.verified, ok.problems


def test_quote_only_evidence_is_matched_to_sentences(src: dict[int, Source]) -> None:
    c = verify_claim(Claim("Japan was not invited to the meeting.", [1], [Evidence(1, "Japan was not invited")]), src)
    assert c.verified, c.problems
    assert c.evidence[0].sentence_ids == [4]


def test_he_resolved_from_the_previous_sentence_passes(src: dict[int, Source]) -> None:
    c = check("Mélanie Joly said the two countries would not tolerate North Korea's deployment of 12,000 troops.",
              [2], src)
    assert c.verified, c.problems


def test_negation_added_or_dropped_is_flagged(src: dict[int, Source]) -> None:
    dropped = check("Japan was invited to the meeting.", [4], src)
    assert not dropped.verified and any("drops the negation" in p for p in dropped.problems)
    added = check("The ministers did not agree to hold talks every two years.", [3], src)
    assert not added.verified and any("negation" in p for p in added.problems)


def test_lower_cased_claim_with_a_name_from_elsewhere_is_flagged(src: dict[int, Source]) -> None:
    c = check("japan's ministers agreed to hold talks every two years.", [3], src)
    assert not c.verified and any("name 'japan'" in p for p in c.problems), c.problems


def test_citing_a_sentence_of_the_wrong_source_is_flagged(src: dict[int, Source]) -> None:
    c = verify_claim(Claim("Joly met her Korean counterpart in Ottawa on Friday.", [2],
                           [Evidence(2, "", sentence_ids=[1])]), src)
    assert not c.verified


@pytest.mark.parametrize(
    ("claim", "evidence", "ok"),
    [
        ("dozens of people were hurt", "36 people were hurt", True),
        ("hundreds of thousands fled", "more than 1.2 million fled", False),
        ("a million people fled", "1,000,000 people fled", True),
        ("three ships sailed", "four ships sailed", False),
        ("about 500 ships sailed", "498 ships sailed", True),
        ("500 ships sailed", "498 ships sailed", False),
        ("the 70th anniversary", "the 75th anniversary", False),
        ("12 people and a dozen firms", "12 people and 6 firms", False),
    ],
)
def test_number_words_and_ranges(claim: str, evidence: str, ok: bool) -> None:
    s = {1: Source(1, "x", evidence + ".", "", 0)}
    c = check(claim + ".", [1], s)
    assert (not any(p.startswith("number") for p in c.problems)) is ok, (c.problems, quantities(claim))


# --------------------------------------------------------------------------- faults planted in a brief.json

NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{3,}(?: [A-Z][a-z]{3,})?\b")  # mid-sentence capitalised words
AUX = re.compile(r"\b(is|are|was|were|will|would|can|could|has|have|had|should|must)\b")


def _alter_number(text: str, rng: random.Random) -> str | None:
    m = re.search(r"\b\d[\d,]*\b", text)
    if not m:
        return None
    n = int(m.group(0).replace(",", ""))
    return text[: m.start()] + f"{n * 3 + rng.randint(1, 9):,}" + text[m.end() :]


def _swap_name(text: str, source: str, rng: random.Random) -> str | None:
    mine = {m.group(0) for m in NAME.finditer(text)}
    if not mine:
        return None
    others = sorted({m.group(0) for m in NAME.finditer(source)} - mine
                    - {w for n in mine for w in n.split()})
    others = [o for o in others if not any(w in text for w in o.split())]
    if not others:
        return None
    return text.replace(rng.choice(sorted(mine)), rng.choice(others), 1)


def _negate(text: str) -> str | None:
    m = AUX.search(text)
    if not m or text[m.end() :].lstrip().startswith(("not", "no ")):
        return None
    return text[: m.end()] + " not" + text[m.end() :]


def _plant(data: dict[str, Any], texts: dict[int, str], seed: int) -> list[str | None]:
    """Edit claims in place (one fault kind per claim, in turn); returns the kind planted in each (None = untouched)."""
    rng = random.Random(seed)
    kinds: list[str | None] = []
    order = ["wrong_id", "altered_number", "fabricated_quote", "swapped_name", "inserted_negation", None, None]
    for i, c in enumerate(data["claims"]):
        kind = order[(i + seed) % len(order)]
        ev = c["evidence"][0]
        src = texts[ev["source_id"]]
        new: str | None = None
        if kind == "wrong_id":
            n = len(Source(0, "", src, "", 0).sentences)
            ev["sentence_ids"] = [n + 1 + rng.randint(0, 5)] if rng.random() < 0.5 else [
                rng.choice([k for k in range(1, n + 1) if k not in ev["sentence_ids"]])]
            new = c["text"]
        elif kind == "altered_number":
            new = _alter_number(c["text"], rng)
        elif kind == "fabricated_quote":
            ev["quote"] = "Officials confirmed in a closed briefing that the accord had been quietly renegotiated."
            if rng.random() < 0.5:
                ev["sentence_ids"] = []
            new = c["text"]
        elif kind == "swapped_name":
            new = _swap_name(c["text"], src, rng)
        elif kind == "inserted_negation":
            new = _negate(c["text"])
        if kind is not None and new is None:
            kinds.append(None)  # this claim cannot carry that fault: left untouched
            continue
        if new is not None:
            c["text"] = new
        kinds.append(kind)
    return kinds


def _offline_brief(tmp_path: Path, name: str, folder: Path) -> RunResult:
    s = load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp_path / name),
                             "run.engine": "extractive"}, environ={}, dotenv_path=None)
    result = run(s, Reporter())
    assert isinstance(result, RunResult)
    return result


def test_planted_faults_in_brief_json_are_flagged(tmp_path: Path) -> None:
    faulty: dict[str, list[bool]] = {}
    untouched: list[bool] = []
    for name, folder in {"seeds": ROOT / "seeds", "articles": ROOT / "tests" / "fixtures" / "articles"}.items():
        result = _offline_brief(tmp_path, name, folder)
        pristine = result.brief_json.read_text(encoding="utf-8")
        for seed in range(3):
            data = json.loads(pristine)
            texts = {s["id"]: (result.run_dir / s["text_path"]).read_text(encoding="utf-8") for s in data["sources"]}
            kinds = _plant(data, texts, seed)
            result.brief_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            report = verify_brief_file(result.run_dir)
            for kind, row in zip(kinds, report.rows, strict=True):
                if kind is None:
                    untouched.append(not row.verified)
                else:
                    faulty.setdefault(kind, []).append(not row.verified)
    print("\n" + ", ".join(f"{k}: {sum(v)}/{len(v)}" for k, v in faulty.items())
          + f"; untouched flagged {sum(untouched)}/{len(untouched)}")
    allf = [x for v in faulty.values() for x in v]
    assert all(len(v) >= 10 for v in faulty.values()), {k: len(v) for k, v in faulty.items()}
    assert sum(allf) / len(allf) >= 0.95
    assert sum(untouched) / len(untouched) <= 0.02


def test_verify_json_output(tmp_path: Path) -> None:
    result = _offline_brief(tmp_path, "out", ROOT / "tests" / "fixtures" / "articles")
    cmd = [sys.executable, "-m", "briefing", "verify", str(result.run_dir), "--json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["verified"] == out["total"] == len(out["claims"]) > 0
    for c in out["claims"]:
        assert set(c) >= {"index", "section", "text", "source_ids", "verified", "support", "problems"}
        assert c["verified"] and c["problems"] == [] and 0 <= c["support"] <= 1
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    data["claims"][0]["evidence"][0]["sentence_ids"] = [999]
    result.brief_json.write_text(json.dumps(data), encoding="utf-8")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    rep = json.loads(bad.stdout)
    assert rep["verified"] == rep["total"] - 1
    first = rep["claims"][0]
    assert not first["verified"] and first["support"] == 0
    assert any("has no sentence 999" in p for p in first["problems"])
