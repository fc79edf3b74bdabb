"""The LLM engine across languages, through the loopback server: a Korean brief from English and Korean sources,
renderings of cited sentences in the brief's language (brief.json `translation`), and planted wrong figures in them.

Flag rates per kind: `pytest -q -s tests/test_language_llm.py -k planted`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from llm_server import RENDERING_PLANT, LLMServer

from briefing.config import load_settings
from briefing.engines.llm import parse
from briefing.models import Source
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
KOREAN = Path(__file__).parent / "fixtures" / "korean" / "hanbit_2plus2.txt"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def corpus(tmp_path: Path) -> Path:
    """The seeds plus the Korean report of the Canada–South Korea 2+2 meeting."""
    folder = tmp_path / "in"
    folder.mkdir()
    for p in [*sorted((ROOT / "seeds").glob("*.txt")), KOREAN]:
        shutil.copy(p, folder / p.name)
    return folder


def llm_run(folder: Path, out: Path, srv: LLMServer, language: str) -> RunResult:
    s = load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "llm",
                             "profile.language": language, "llm.base_url": srv.base_url, "llm.api_key": "k",
                             "llm.model": "test-model"}, environ={}, dotenv_path=None)
    result = run(s, Reporter())
    assert isinstance(result, RunResult)
    return result


def korean_id(data: dict[str, Any]) -> int:
    return next(s["id"] for s in data["sources"] if s["path"].endswith(KOREAN.name))


def test_korean_brief_through_the_cli(tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    with LLMServer() as srv:
        env.update({"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "k", "BRIEFING_MODEL": "test-model"})
        r = subprocess.run([sys.executable, "-m", "briefing", "run", str(folder), "--out", str(tmp_path / "out"),
                            "--language", "ko"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)
        assert r.returncode == 0, r.stderr
        systems = [m["content"] for rec in srv.completions() for m in rec.body["messages"] if m["role"] == "system"]
        users = [m["content"] for rec in srv.completions() for m in rec.body["messages"] if m["role"] == "user"]
    assert systems and all("Korean" in s for s in systems)  # every prompt says which language to write in
    asks = [u for u in users if '"renderings"' in u]
    assert len(asks) == 5  # renderings are asked for the five English articles, not for the Korean one
    brief = Path(r.stdout.strip().splitlines()[-1])
    md = brief.read_text(encoding="utf-8").splitlines()
    for heading in ("## 핵심 요약", "## 주요 판단", "## 주제별 분석", "## 출처", "## 작성 방법"):
        assert heading in md
    data = json.loads((brief.parent / "brief.json").read_text(encoding="utf-8"))
    assert data["language"] == "ko"
    ko = korean_id(data)
    claims = data["claims"]
    assert claims and all(HANGUL.search(c["text"]) for c in claims)  # Korean claims
    english_evidence = [e for c in claims for e in c["evidence"] if e["source_id"] != ko]
    korean_evidence = [e for c in claims for e in c["evidence"] if e["source_id"] == ko]
    assert english_evidence and all(e["translation"] and HANGUL.search(e["translation"]) for e in english_evidence)
    assert korean_evidence and all(e["translation"] is None for e in korean_evidence)
    assert data["verification"]["verified"] == data["verification"]["total"]  # cross-lingual evidence verifies
    again = subprocess.run([sys.executable, "-m", "briefing", "verify", str(brief.parent)], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr


def test_english_brief_checks_korean_source_on_its_renderings(tmp_path: Path) -> None:
    with LLMServer() as srv:
        result = llm_run(corpus(tmp_path), tmp_path / "out", srv, "en")
    data = result.data
    ko = korean_id(data)
    cites_ko = [c for c in data["claims"] if ko in c["source_ids"]]
    assert cites_ko and all(c["verified"] for c in cites_ko)
    ev = [e for c in cites_ko for e in c["evidence"] if e["source_id"] == ko]
    assert ev and all(e["translation"] and not HANGUL.search(e["translation"]) for e in ev)
    assert all(e["translation"] is None for c in data["claims"] for e in c["evidence"] if e["source_id"] != ko)


def test_edited_rendering_fails_briefing_verify(tmp_path: Path) -> None:
    with LLMServer() as srv:
        result = llm_run(corpus(tmp_path), tmp_path / "out", srv, "ko")
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    target = next(c for c in data["claims"] if any(e["translation"] and re.search(r"\d{4}", e["translation"])
                                                   for e in c["evidence"]))
    ev = next(e for e in target["evidence"] if e["translation"] and re.search(r"\d{4}", e["translation"]))
    ev["translation"] = re.sub(r"\d{4}", "1999", ev["translation"], count=1)
    result.brief_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    r = subprocess.run([sys.executable, "-m", "briefing", "verify", str(result.run_dir)], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=180)
    assert r.returncode == 1
    assert "rendering has '1999'" in r.stdout + r.stderr


def test_planted_wrong_figures_in_renderings_are_flagged(tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    flagged: Counter[str] = Counter()
    planted_n: Counter[str] = Counter()
    sound = sound_flagged = 0
    for language in ("ko", "en"):
        for seed in range(3):
            with LLMServer(faults={"planted": 1.0}, plant_share=0.35, seed=seed) as srv:
                result = llm_run(folder, tmp_path / f"{language}-{seed}", srv, language)
                planted = {(p["text"], tuple(p["source_ids"]), tuple(sorted(map(tuple, p["sentences"])))): p["kind"]
                           for p in srv.planted}
            for c in result.data["claims"]:
                pairs = tuple(sorted((e["source_id"], i) for e in c["evidence"] for i in e["sentence_ids"]))
                kind = planted.get((c["text"], tuple(c["source_ids"]), pairs))
                if kind is None:
                    sound += 1
                    sound_flagged += not c["verified"]
                    continue
                planted_n[kind] += 1
                flagged[kind] += not c["verified"]
                if kind == RENDERING_PLANT:
                    assert any("rendering" in p for p in c["problems"]), c["problems"]
    print("\nplanted claims flagged per kind:", {k: f"{flagged[k]}/{n}" for k, n in sorted(planted_n.items())},
          f"sound claims flagged: {sound_flagged}/{sound}")
    assert planted_n[RENDERING_PLANT] >= 5
    assert flagged[RENDERING_PLANT] == planted_n[RENDERING_PLANT]
    assert sound_flagged <= 0.02 * sound


def test_renderings_attach_to_evidence_only_when_translating() -> None:
    text = "양국은 2+2 회의를 2026년에 연다. 캐나다는 병력 규모를 1만2천 명으로 추산했다."
    src = Source(id=3, path="k.txt", text=text, sha256="", tokens=0, language="ko")
    data = {"summary": [{"text": "Canada estimated 12,000 troops.", "sentences": [2]}], "key_points": [1],
            "events": [], "actors": [], "stance": "news report",
            "renderings": [{"sentence": 2, "text": "Canada estimated the troops at 12,000."},
                           {"sentence": "1", "text": "The two countries hold the 2+2 meeting in 2026."},
                           {"sentence": 2, "text": "a second rendering is ignored"}]}
    summary = parse.to_summary(data, src, translate=True)
    assert summary.claims[0].evidence[0].translation == "Canada estimated the troops at 12,000."
    assert summary.key_points[0].evidence[0].translation == "The two countries hold the 2+2 meeting in 2026."
    plain = parse.to_summary(data, src, translate=False)
    assert plain.claims[0].evidence[0].translation is None
