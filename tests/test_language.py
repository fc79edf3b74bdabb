"""Brief language: the setting (flag, env, briefing.toml), its validation, and the localised message catalogue."""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from briefing.config import Settings, load_settings
from briefing.errors import ConfigError, TemplateError
from briefing.ingest.dedup import cross_language_pairs, mark_duplicates
from briefing.messages import languages, load
from briefing.models import CleanedDoc
from briefing.pipeline import Reporter, RunResult, run
from briefing.render import make_attribution, reference
from briefing.templates import packaged_dir

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
PACKAGED = [packaged_dir()]


def settings(tmp_path: Path, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    base = {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "out"), "run.engine": "extractive"}
    return load_settings(None, {**base, **overrides}, environ=environ or {}, dotenv_path=None)


def test_language_default_flag_env_and_config(tmp_path: Path) -> None:
    assert settings(tmp_path).profile.language == "en"
    assert settings(tmp_path, environ={"BRIEFING_LANGUAGE": "fr"}).profile.language == "fr"
    assert settings(tmp_path, environ={"BRIEFING_LANGUAGE": "fr"}, **{"profile.language": "ko"}).profile.language \
        == "ko"
    cfg = tmp_path / "b.toml"
    cfg.write_text('[profile]\nlanguage = "ko"\n', encoding="utf-8")
    s = load_settings(cfg, environ={}, dotenv_path=None)
    assert s.profile.language == "ko" and s.to_profile().language == "ko"


@pytest.mark.parametrize("how", ["flag", "env", "config"])
def test_unknown_language_is_a_config_error_naming_the_setting(tmp_path: Path, how: str) -> None:
    cfg = tmp_path / "b.toml"
    cfg.write_text('[profile]\nlanguage = "xx"\n' if how == "config" else "", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, {"profile.language": "xx"} if how == "flag" else {},
                      environ={"BRIEFING_LANGUAGE": "xx"} if how == "env" else {}, dotenv_path=None)
    msg = str(err.value)
    assert err.value.exit_code == 2
    assert "profile.language" in msg and "'xx'" in msg and "en, fr, ko" in msg
    assert {"flag": "--language", "env": "BRIEFING_LANGUAGE", "config": str(cfg)}[how] in msg


def test_malformed_language_refused_by_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile\.language"):
        settings(tmp_path, **{"profile.language": "Korean!"})


def test_cli_unknown_language_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    r = subprocess.run([sys.executable, "-m", "briefing", "run", str(SEEDS), "--out", str(tmp_path / "out"),
                        "--language", "xx"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--language" in lines[0] and "profile.language" in lines[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "latest").exists()


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_packaged_catalogues_are_complete_and_consistent() -> None:
    langs = languages(PACKAGED)
    assert {"en", "fr", "ko"} <= set(langs)
    en = load(PACKAGED, "en")._table
    for lang in langs:
        table = load(PACKAGED, lang)._table
        raw = tomllib.loads((packaged_dir() / "messages.toml").read_text(encoding="utf-8"))[lang]
        assert set(raw) == set(en), f"{lang}: missing {set(en) - set(raw)}, extra {set(raw) - set(en)}"
        for key, value in en.items():
            if isinstance(value, str):
                assert _placeholders(table[key]) == _placeholders(value), (lang, key)
            else:
                assert set(table[key]) == set(value), (lang, key)
        if lang != "en":  # really translated: headings differ from English
            assert table["bluf"] != en["bluf"] and table["judgments"] != en["judgments"]


@pytest.mark.parametrize("lang, headings", [
    ("fr", ["## L'essentiel", "## Principaux jugements", "## Analyse par thème", "## Chronologie",
            "## Sources", "## Note méthodologique", "### Le rôle de la Chine"]),
    ("ko", ["## 핵심 요약", "## 주요 판단", "## 주제별 분석", "## 주요 일지", "## 출처", "## 작성 방법",
            "### 중국의 역할", "# 북한·러시아·중국: 동향과 캐나다·한국의 대응"]),
])
def test_localised_headings_offline(tmp_path: Path, lang: str, headings: list[str]) -> None:
    result = run(settings(tmp_path, **{"profile.language": lang}), Reporter())
    assert isinstance(result, RunResult)
    md = result.brief_md.read_text(encoding="utf-8")
    lines = md.splitlines()
    for h in headings:
        assert h in lines, h
    english = ["## Bottom line up front", "## Key judgments", "## Timeline", "## Method note", "## Sources"]
    assert not [h for h in english if h in lines and h not in headings]
    assert "Confidence:" not in md and "Generated " not in md
    assert result.data["language"] == lang
    en = run(settings(tmp_path / "en"), Reporter())
    assert isinstance(en, RunResult)
    # The offline engine quotes the same sentences whatever the brief language (no translation at run time),
    # marked with their language when it is not the brief's: "... (anglais) [4]".
    first = re.findall(r"^- .*$", md, re.M)[0].split(" [")[0]
    mark = {"fr": " (anglais)", "ko": " (영어)"}[lang]
    assert first.endswith(mark)
    assert first[: -len(mark)] == re.findall(r"^- .*$", en.brief_md.read_text(encoding="utf-8"), re.M)[0].split(" [")[0]


def test_configured_titles_win_and_custom_titles_are_not_replaced(tmp_path: Path) -> None:
    cfg = tmp_path / "b.toml"
    cfg.write_text('[profile]\nlanguage = "ko"\ntitle = "My topic"\naudience = "Analysts"\n'
                   'titles = {fr = "Mon sujet"}\n'
                   '[[profile.focus_questions]]\nkey = "a"\ntitle = "China\'s role"\nquestion = "Q?"\n'
                   '[[profile.focus_questions]]\nkey = "b"\ntitle = "Trade"\nquestion = "Q?"\n'
                   'titles = {ko = "무역"}\n', encoding="utf-8")
    s = load_settings(cfg, environ={}, dotenv_path=None)
    assert s.headings() == ("My topic", "Analysts", {"a": "중국의 역할", "b": "무역"})
    assert s.to_profile().focus_questions[0].title == "China's role"  # engines see the configured text
    s = load_settings(cfg, {"profile.language": "fr"}, environ={}, dotenv_path=None)
    assert s.headings()[0] == "Mon sujet"


def test_user_catalogue_adds_a_language_and_overrides_keys(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "messages.toml").write_text('[de]\nname = "German"\nbluf = "Das Wichtigste"\n'
                                           '[en]\nbluf = "BLUF"\n', encoding="utf-8")
    s = settings(tmp_path, **{"profile.language": "de", "run.prompts": str(prompts)})
    result = run(s, Reporter())
    assert isinstance(result, RunResult)
    lines = result.brief_md.read_text(encoding="utf-8").splitlines()
    assert "## Das Wichtigste" in lines and "## Key judgments" in lines  # missing keys fall back to English
    de_less = settings(tmp_path, **{"run.prompts": str(prompts)})
    en = run(de_less, Reporter())
    assert isinstance(en, RunResult)
    assert "## BLUF" in en.brief_md.read_text(encoding="utf-8").splitlines()


def test_broken_user_catalogue_is_one_clear_error(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "messages.toml").write_text("[ko\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="messages.toml"):
        settings(tmp_path, **{"run.prompts": str(prompts)})
    (prompts / "messages.toml").write_text('[en]\nbluf = "Bottom {line"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match="bluf"):
        load([prompts, *PACKAGED], "en")("bluf")


def test_reference_and_attribution_in_the_brief_language() -> None:
    ko = load(PACKAGED, "ko")
    src = {"id": 1, "authors": [], "title": None, "publisher": None, "original_publisher": None,
           "published": None, "path": "a.txt"}
    assert reference(src, ko) == '필자 미상. "제목 없음." 매체 미상, 날짜 미상. `a.txt`'
    fr = load(PACKAGED, "fr")
    src2 = {**src, "authors": ["Jean Dupont", "Kim Min-su"], "publisher": "MLI", "original_publisher": "Le Devoir"}
    assert reference(src2, fr).startswith('Jean Dupont, Kim Min-su. "Sans titre." MLI (paru d\'abord dans Le Devoir)')

    class C:
        source_ids = [1]

    attribution = make_attribution([{**src2, "id": 1}], {1: "opinion / analysis"}, True, fr)
    assert attribution(C()) == "Selon Dupont et Min-su : "
    assert ko.language_name("ru") == "러시아어" and fr.lookup("stances", "opinion") == "opinion"
    assert ko.lookup("confidence_levels", "high") == "높음" and ko.lookup("stances", "unknown kind") == "unknown kind"


def _doc(text: str, language: str) -> CleanedDoc:
    return CleanedDoc(path=f"{language}-{len(text)}.txt", text=text, sha256="", language=language)


def test_same_event_reports_in_two_languages_are_grouped_by_figures_and_names() -> None:
    en = _doc("Canada and South Korea condemned the deployment of up to 12,000 North Korean troops to Russia and "
              "the ICBM launch of October 31; Canada will work with Seoul during its G7 presidency.", "en")
    ko = _doc("양국은 최대 1만2천 명의 북한군 러시아 파병과 지난달 31일 대륙간탄도미사일(ICBM) 발사를 규탄했다. "
              "캐나다는 주요 7개국(G7) 의장국으로서 한국과 협력하기로 했다.", "ko")
    other = _doc("한국은행은 기준금리를 연 3.25%로 동결했다. "
                 "주요 7개국(G7) 중앙은행 총재들도 31일 회의를 열었다.", "ko")
    fr = _doc("Le Canada et la Corée du Sud dénoncent l'envoi de 12 000 soldats nord-coréens en Russie et le tir "
              "d'un ICBM le 31 octobre.", "fr")
    docs = [en, ko, other, fr]
    mark_duplicates(docs)
    assert en.duplicates == [1, 3] and ko.duplicates == [0, 3] and fr.duplicates == [0, 1]
    assert other.duplicates == [] and "near_duplicate" in ko.flags and "near_duplicate" not in other.flags
    single = [_doc(en.text, "en"), _doc(en.text.replace("12,000", "9,000"), "en")]
    assert cross_language_pairs([d.text for d in single], [d.language for d in single]) == []
