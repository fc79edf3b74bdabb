"""Claims planted wrong by an OpenAI-compatible server are flagged, sound ones are not; `briefing verify` on a brief.

The loopback server answers with sentence numbers and plants faults in summary statements (unknown sentence ids, ids
of unrelated sentences, altered numbers, names swapped for others of the article, added or dropped negation) and in
synthesis claims (a wrong source, an unknown note); synthesis claims resting on a planted statement are faulty too.
Flag rates per kind: `pytest -q -s tests/test_verify_e2e.py -k planted`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from llm_server import PLANT_KINDS, LLMServer

from briefing.config import load_settings
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
CORPORA = {"seeds": ROOT / "seeds", "articles": Path(__file__).parent / "fixtures" / "articles"}


Key = tuple[str, tuple[int, ...], tuple[tuple[int, int], ...]]


def key(text: str, ids: list[int], pairs: list[tuple[int, int]] | list[list[int]]) -> Key:
    """A claim as text, cited source ids and (source id, sentence id) evidence pairs."""
    return text, tuple(ids), tuple(sorted((int(a), int(b)) for a, b in pairs))


def pairs(claim: dict[str, Any]) -> list[tuple[int, int]]:
    return [(e["source_id"], i) for e in claim["evidence"] for i in e.get("sentence_ids") or []]


def llm_brief(folder: Path, out: Path, srv: LLMServer) -> RunResult:
    s = load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "llm",
                             "llm.base_url": srv.base_url, "llm.api_key": "k", "llm.model": "test-model"},
                      environ={}, dotenv_path=None)
    result = run(s, Reporter())
    assert isinstance(result, RunResult)
    return result


def rates(tmp_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """Faulty and sound claims of LLM briefs over both corpora, with several planting seeds."""
    faulty: list[dict[str, Any]] = []
    sound: list[dict[str, Any]] = []
    kinds = dict.fromkeys(PLANT_KINDS, 0)
    for name, folder in CORPORA.items():
        for seed in range(6):
            with LLMServer(faults={"planted": 1.0}, plant_share=0.35, seed=seed) as srv:
                result = llm_brief(folder, tmp_path / f"{name}-{seed}", srv)
                planted = {key(p["text"], p["source_ids"], p["sentences"]): p["kind"] for p in srv.planted}
            for p in srv.planted:
                kinds[p["kind"]] += 1
            matched = set()
            for c in result.data["claims"]:
                k = key(c["text"], c["source_ids"], pairs(c))
                if k in planted:
                    faulty.append({**c, "kind": planted[k]})
                    matched.add(k)
                else:
                    sound.append(c)
            assert matched == set(planted), set(planted) - matched  # every planted claim reached brief.json
    return faulty, sound, kinds


# Kinds the verify stage does not catch reliably yet: none since support is checked against the cited sentences only.
PENDING: set[str] = set()


def test_planted_faults_are_flagged_and_sound_claims_are_not(tmp_path: Path) -> None:
    faulty, sound, kinds = rates(tmp_path)
    per_kind = {k: f"{sum(not c['verified'] for c in faulty if c['kind'] == k)}/"
                   f"{sum(c['kind'] == k for c in faulty)}" for k in PLANT_KINDS}
    checked = [c for c in faulty if c["kind"] not in PENDING]
    missed = [c for c in checked if c["verified"]]
    false_flags = [c for c in sound if not c["verified"]]
    detection = 1 - len(missed) / len(checked)
    false_rate = len(false_flags) / len(sound)
    print(f"\nfaulty claims: {len(faulty)}, flagged per kind {per_kind}; flagged {detection:.1%} of the "
          f"{len(checked)} not pending; sound claims: {len(sound)}, flagged {false_rate:.1%}")
    assert all(n >= 10 for n in kinds.values()), kinds  # each kind planted often enough to measure
    assert detection >= 0.95, [(c["kind"], c["text"]) for c in missed]
    assert false_rate <= 0.02, [(c["text"], c["problems"]) for c in false_flags]
    for kind in set(PLANT_KINDS) - PENDING:  # and no kind hides behind the others
        of_kind = [c for c in faulty if c["kind"] == kind]
        assert sum(not c["verified"] for c in of_kind) >= 0.9 * len(of_kind), kind


def test_briefing_verify_names_the_claim_with_an_altered_number(tmp_path: Path) -> None:
    with LLMServer() as srv:
        result = llm_brief(CORPORA["seeds"], tmp_path / "out", srv)
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    clean = subprocess.run([sys.executable, "-m", "briefing", "verify", str(result.run_dir)], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    target = next(c for c in data["claims"] if c["verified"] and re.search(r"\b\d{2,}\b", c["text"]))
    number = re.search(r"\b\d{2,}\b", target["text"])
    assert number is not None
    altered = target["text"].replace(number.group(0), str(int(number.group(0)) + 7), 1)
    target["text"] = altered
    result.brief_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "briefing", "verify", str(result.brief_json)], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    failing = [ln for ln in r.stdout.splitlines() if altered[:40] in ln]
    assert failing, r.stdout
    others_failing = [c for c in data["claims"] if c is not target and c["text"][:40] in r.stdout
                      and c["text"][:40] not in altered]
    assert len(r.stdout.splitlines()) > 1 and not [c for c in others_failing if not c["verified"]]


@pytest.mark.parametrize("corpus", list(CORPORA))
def test_unplanted_llm_briefs_verify(tmp_path: Path, corpus: str) -> None:
    with LLMServer() as srv:
        result = llm_brief(CORPORA[corpus], tmp_path / "out", srv)
    v = result.data["verification"]
    assert v["total"] > 0 and v["verified"] >= 0.98 * v["total"]
