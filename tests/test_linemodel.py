"""Tests for the cleaner's learned line model: the shipped file, what it may overrule, the script that rebuilds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from briefing.ingest import clean, linemodel
from briefing.models import RawDoc

PARA = [
    "The ministers said the new agreement would be signed before the end of the year, after two rounds of talks.",
    "Under the plan, both navies will share information about ships suspected of evading the sanctions.",
    "Officials said the arrangement would be reviewed after twelve months and extended if it proved useful.",
    "The opposition welcomed the deal but said that parliament should have been consulted before it was signed.",
]
# Paragraphs long enough to read as article prose on their own (the rules' "good" class).
LONG = [f"{p} {q}" for p, q in zip(PARA, PARA[1:] + PARA[:1], strict=True)]
OTHER = [p.replace("ministers", "mayors").replace("navies", "cities").replace("opposition", "press") for p in LONG]


def test_shipped_model_matches_the_cleaner_features() -> None:
    model = linemodel.load()
    assert model is not None, "cleaner_model.json is missing (rebuild: python -m bench.train_cleaner --write)"
    assert model.features == clean.FEATURE_NAMES
    assert 0.0 < model.drop_below <= model.keep_above < 1.0
    assert linemodel.MODEL_PATH.stat().st_size < 200_000  # a small file, not a blob
    row = [0.0] * len(clean.FEATURE_NAMES)
    assert 0.0 < model.predict([row])[0] < 1.0


def test_model_round_trips_through_json() -> None:
    m = linemodel.LineModel("gbt", ("a", "b"), 0.4, 0.6, -0.5,
                            trees=(((0.0, 0.5, 1.0, 2.0), (-1.0,), (2.0,)),), learning_rate=0.5)
    back = linemodel.from_json(json.loads(json.dumps(m.to_json())))
    assert back == m
    assert back.score([0.2, 9.0]) == pytest.approx(-1.0) and back.score([0.9, 0.0]) == pytest.approx(0.5)
    lr = linemodel.LineModel("logistic", ("a", "b"), 0.5, 0.5, 1.0, weights=(2.0, -1.0))
    assert lr.score([1.0, 3.0]) == pytest.approx(0.0) and lr.predict([[1.0, 3.0]]) == [pytest.approx(0.5)]


def _blocks(lines: list[str]) -> tuple[list[clean._Block], int, bool]:
    text = "\n".join(lines)
    blocks, cut, _, _, appended, _ = clean._rule_pass(text, None, None, None)
    return blocks, cut, appended


def test_model_cannot_revive_hard_rule_drops() -> None:
    blocks, cut, appended = _blocks([*PARA, "We use cookies to improve your experience and analyse our traffic."])
    cookie = next(i for i, b in enumerate(blocks) if "cookies" in b.text)
    assert blocks[cookie].reason == "boilerplate phrase"
    keep = clean.model_verdicts(blocks, [0.99] * len(blocks), 0.5, 0.5, cut, appended)
    assert not keep[cookie] and all(keep[i] for i in range(len(PARA)))


def test_nothing_returns_after_a_sign_off() -> None:
    blocks, cut, appended = _blocks([*LONG, "(Reporting by Jane Doe; Editing by John Roe)", *OTHER])
    assert appended and cut == len(LONG)
    keep = clean.model_verdicts(blocks, [0.99] * len(blocks), 0.5, 0.5, cut, appended)
    assert keep == [True] * cut + [False] * (len(blocks) - cut)


def test_after_an_end_marker_only_text_continuing_the_body_returns() -> None:
    lines = [*LONG, "Comments", "Jonas K", "2 hours ago", "This is long overdue, everybody on the coast knew it well."]
    blocks, cut, appended = _blocks(lines)
    assert not appended and blocks[cut].text == "Comments"
    probs = [0.9] * cut + [0.1, 0.1, 0.1, 0.9]  # two dropped lines, then a comment the model likes: stays out
    assert clean.model_verdicts(blocks, probs, 0.5, 0.5, cut, appended)[cut:] == [False] * 4
    probs = [0.9] * cut + [0.1, 0.9, 0.1, 0.9]  # each revived line follows at most one dropped one
    assert clean.model_verdicts(blocks, probs, 0.5, 0.5, cut, appended)[cut:] == [False, True, False, True]


def test_model_keeps_the_rules_verdict_unless_confident() -> None:
    blocks, cut, appended = _blocks(["Home", "News", "World", "Sport", "", *PARA])
    rule = [b.keep for b in blocks]
    keep = clean.model_verdicts(blocks, [0.5] * len(blocks), 0.4, 0.6, cut, appended)
    assert keep == rule


def test_credit_and_copyright_lines_inside_the_article_do_not_end_it() -> None:
    text = "\n".join(["Home", "World", "Politics", "Business", "", "Allies agree to share naval data", "",
                      PARA[0], PARA[1], "© Reuters / Jane Doe", "Photo: The port of Busan in 2023.", PARA[2], PARA[3],
                      "", "© 2024 Example News. All rights reserved.", "About us", "Contact", "Privacy policy"])
    doc = clean.clean_document(RawDoc("x.txt", text, "h"))
    assert all(p in doc.text for p in PARA)
    assert "© Reuters" not in doc.text and "Photo:" not in doc.text and "All rights reserved" not in doc.text
    assert "About us" not in doc.text


def test_lines_the_model_drops_say_why() -> None:
    raws = [RawDoc(p.name, p.read_text(encoding="utf-8"), p.name)
            for p in sorted((Path(__file__).parent / "fixtures" / "dumps").glob("*.txt"))
            if not p.name.endswith((".body.txt", ".optional.txt"))]
    for doc in clean.clean_documents(raws):
        assert all(d.reason.strip() and "None" not in d.reason for d in doc.dropped)


def test_train_script_rebuilds_a_model_from_a_dev_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bench/train_cleaner.py on a tiny dev set of the score_cleaning.py layout: cross-validates and writes a model."""
    from bench import train_cleaner

    (tmp_path / "dumps").mkdir()
    gold = {}
    for n in range(6):
        body = [f"{p[:-1]} in region {n}." for p in LONG]
        chrome = [f"Menu item {n}", "World", "Politics", "Sport", "Most read", f"Storm warning {n} for the coast"]
        (tmp_path / "dumps" / f"{n:04d}.txt").write_text("\n".join(chrome[:4] + body + chrome[4:]), encoding="utf-8")
        gold[f"{n:04d}"] = {"url": f"https://site{n}.example/a", "lang": "en", "with": body[:3],
                            "without": [chrome[0], chrome[-1]]}
    (tmp_path / "snippets.json").write_text(json.dumps(gold), encoding="utf-8")
    out = tmp_path / "model.json"
    train_cleaner.main(["--set", str(tmp_path), "--folds", "3", "--write", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "rules only:" in printed and "cv logistic best drop_below/keep_above" in printed
    model = linemodel.from_json(json.loads(out.read_text(encoding="utf-8")))
    assert model.features == clean.FEATURE_NAMES and model.kind == "logistic"


def test_inline_teaser_links_go_and_the_subheading_after_them_stays() -> None:
    """"Read more: <headline>" inside an article is a link; the subheading right after it is article."""
    text = "\n".join([
        "Home", "World", "Politics", "Business", "", "Allies agree to share naval data", "",
        LONG[0], LONG[1], "Read more: Sanctions tighten on shipping firms", "Patrols in the north",
        LONG[2], "Lea también: Impiden ingreso a Nicaragua a reportero", LONG[3], "",
        "© 2024 Example News. All rights reserved.",
    ])
    doc = clean.clean_document(RawDoc("x.txt", text, "h"))
    assert all(p in doc.text for p in LONG)
    assert "Patrols in the north" in doc.text
    assert "Read more:" not in doc.text and "Lea también" not in doc.text
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons["Read more: Sanctions tighten on shipping firms"].startswith("teaser link")


def test_related_box_inside_the_article_does_not_end_it() -> None:
    text = "\n".join([
        "Home", "World", "Politics", "Business", "", "Allies agree to share naval data", "",
        LONG[0], LONG[1], "RELATED STORIES", "* Five things to know about the sanctions",
        "* Who runs the monitoring team", "* Ports on alert", "* Navy budget rises", LONG[2], LONG[3], "",
        "Most read", "* Storm warning issued", "* Rates on hold", "* Weekend guide", "* Markets slide",
    ])
    doc = clean.clean_document(RawDoc("x.txt", text, "h"))
    assert all(p in doc.text for p in LONG)
    assert "Five things to know" not in doc.text and "Storm warning" not in doc.text


def test_email_sign_up_prompts_are_boilerplate() -> None:
    for line in ("Enter your email address to follow this blog and receive notifications of new posts by email.",
                 "Um neue Beiträge per E-Mail zu erhalten, hier die E-Mail-Adresse eingeben.",
                 "Get the latest news straight to your phone with our app."):
        assert clean._is_boilerplate(line.lower()), line
    assert not clean._is_boilerplate("the ministry said it had received 300 emails from citizens in a week.")


def test_headline_and_byline_stay_in_the_text() -> None:
    text = "\n".join(["Skip to main content", "Home | World | Politics", "Subscribe", "",
                      "Coast guard ships sail together near Alaska", "By Dana Whitfield", "", *LONG, "",
                      "Share this article", "Facebook | X | Email"])
    doc = clean.clean_document(RawDoc("x.txt", text, "h"))
    assert doc.text.startswith("Coast guard ships sail together near Alaska\n\nBy Dana Whitfield\n\n")
    assert doc.title == "Coast guard ships sail together near Alaska" and doc.authors == ["Dana Whitfield"]


def test_a_social_network_named_in_running_prose_is_not_chrome() -> None:
    prose = ("I am glad that the media noticed my brief Twitter take on the situation in France, my adopted country, "
             "which has been experiencing a series of mass protests against the reform of the pension system.")
    assert clean._is_boilerplate(prose.lower())  # the phrase rule alone would drop it
    assert not clean._is_boilerplate(prose.lower(), prose=True)
    doc = clean.clean_document(RawDoc("x.txt", "\n".join(["Home", "World", "Sport", "News", "", *LONG[:2], prose,
                                                         *LONG[2:], "", "Share on Twitter", "Follow us on Facebook"]),
                                      "h"))
    assert prose in doc.text and "Share on Twitter" not in doc.text and "Facebook" not in doc.text
