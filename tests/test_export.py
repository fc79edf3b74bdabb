"""Export: brief.html (escaping, evidence data, strict HTML5), brief.docx (reopened), `run --format`, `export`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import html5lib
import pytest
from docx import Document
from llm_server import LLMServer

from briefing.config import load_settings
from briefing.export import document, export_run
from briefing.export.evidence import build_passages, locate, passage_bounds
from briefing.pipeline import Reporter, RunResult, run
from briefing.templates import search_path

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
OTHER = Path(__file__).parent / "fixtures" / "articles"
NS = "{http://www.w3.org/1999/xhtml}"

# Text a source or a model could carry, meant to become markup or script in the page.
HOSTILE = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(2)</script>",
    '<a href="javascript:alert(3)">click me</a>',
    "[click](javascript:alert(4)) ![px](http://evil.example/p.png)",
    "</script><script>alert(5)</script><!--",
    '"><svg onload=alert(6)>',
    "{{ 7*7 }} {% raw %}",
    "\x00\x07 control \ufffe chars",
]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    return subprocess.run([sys.executable, "-m", "briefing", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=300)


def do_run(out: Path, sources: list[Path], **over: object) -> RunResult:
    settings = load_settings(None, {"run.sources": [str(s) for s in sources], "run.out": str(out),
                                    "run.engine": "extractive", **over}, environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    return result


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return do_run(tmp_path_factory.mktemp("seeds") / "out", [SEEDS], **{"run.formats": ["md", "html", "docx"]})


def hostile_run_dir(base: Path) -> Path:
    """A run whose sources and brief.json (as a compromised model would write it) are full of markup and script."""
    folder = Path(shutil.copytree(OTHER, base / "in"))
    (folder / "hostile.txt").write_text(
        "North Korea shipped shells to Russia, officials in Seoul said on Monday, and the cooperation deepened.\n\n"
        + "\n\n".join(f"Officials said the shipments continued {h} across the border near Kursk this year."
                      for h in HOSTILE) + "\n", encoding="utf-8")
    result = do_run(base / "out", [folder])
    run_dir = result.run_dir
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    for i, c in enumerate(data["claims"]):
        h = HOSTILE[i % len(HOSTILE)]
        c["text"] = f"{h} {c['text']}"
        if c["section"] == "key_judgments":
            c["confidence"], c["reason"] = f"high{h}", f"reason {h}"
        if c["section"] == "timeline":
            c["date"] = f"2024{h}"
        if i % 3 == 0:
            c["verified"], c["problems"] = False, [f"quote not found {h}"]
    data["title"] = "Brief " + " ".join(HOSTILE)
    data["model"] = HOSTILE[0]
    data["audience"] = HOSTILE[1]
    data["themes"] = [{"key": t["key"], "title": t["title"] + HOSTILE[2], "question": ""} for t in data["themes"]]
    for j, s in enumerate(data["sources"]):
        s["title"] = f"Title {HOSTILE[j % len(HOSTILE)]}"
        s["authors"] = [HOSTILE[(j + 1) % len(HOSTILE)]]
        s["publisher"] = HOSTILE[(j + 2) % len(HOSTILE)]
        s["url"] = "javascript:alert(7)" if j % 2 == 0 else 'https://example.org/a"><script>alert(8)</script>'
        s["language"] = 'en" onmouseover="alert(9)'
    data["skipped"] = [HOSTILE[0]]
    data["changes"] = {"previous": HOSTILE[1], "added": [HOSTILE[2]], "removed": [], "updated": [],
                       "judgments_added": [HOSTILE[3]], "judgments_removed": []}
    (run_dir / "brief.json").write_text(json.dumps(data), encoding="utf-8")
    return run_dir


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = hostile_run_dir(tmp_path_factory.mktemp("hostile"))
    [path] = export_run(run_dir, ["html"], search_path(None))
    return run_dir, path.read_text(encoding="utf-8")


def strict_parse(html: str) -> object:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(html)  # raises ParseError on the first parse error


# --------------------------------------------------------------------------- evidence passages


def test_passage_is_the_paragraph_with_the_span_marked() -> None:
    filler = "More context follows it, and then more, enough words to make this paragraph stand alone. "
    text = ("First paragraph is about something else entirely and runs on for a while, well past one line. " * 4
            + "\n\nSecond paragraph. The cited sentence is here. " + filler * 4 + "\n\nThird paragraph.")
    s = text.index("The cited sentence is here.")
    e = s + len("The cited sentence is here.")
    lo, hi, _, _ = passage_bounds(text, s, e)
    assert text[lo:hi].startswith("Second paragraph.") and "Third" not in text[lo:hi] and "First" not in text[lo:hi]
    [p] = build_passages(text, [(s, e)])
    marked = [t for t, hl in p.segments if hl]
    assert marked == ["The cited sentence is here."]
    assert "".join(t for t, _ in p.segments) == text[p.start:p.end]


def test_short_paragraph_takes_neighbours_and_long_one_is_windowed() -> None:
    text = "Before it came this. \n\nShort one.\n\nAfter it came that."
    s = text.index("Short one.")
    lo, hi, _, _ = passage_bounds(text, s, s + 10)
    assert text[lo:hi] == text.strip()
    long = " ".join(f"Sentence number {i} says something." for i in range(400))
    s = long.index("Sentence number 200 ")
    e = long.index(" ", long.index("something.", s))
    lo, hi, cut_before, cut_after = passage_bounds(long, s, e)
    assert cut_before and cut_after and hi - lo < 1200
    assert long[lo:].startswith("Sentence number") and long[:hi].endswith(".")


def test_two_spans_close_together_share_a_passage() -> None:
    text = "Alpha one. Beta two. Gamma three. Delta four."
    ps = build_passages(text, [(0, 10), (21, 33)])
    assert len(ps) == 1 and [t for t, hl in ps[0].segments if hl] == ["Alpha one.", "Gamma three."]


def test_locate_finds_a_quote_despite_whitespace_and_case() -> None:
    text = "The  Minister\nsaid the talks were productive."
    assert locate(text, "the minister said") == (0, 18)
    assert locate(text, "absent words") is None


# --------------------------------------------------------------------------- HTML


def test_seeds_html_is_written_by_default_and_parses_strictly(seeds_run: RunResult) -> None:
    html = (seeds_run.run_dir / "brief.html").read_text(encoding="utf-8")
    tree = strict_parse(html)
    heads = [h.text for h in tree.iter(f"{NS}h2")]  # type: ignore[attr-defined]
    for want in ("Bottom line up front", "Key judgments", "Analysis by theme", "Timeline",
                 "Implications for Canada and South Korea", "Indicators to watch", "Source summaries", "Sources",
                 "Method note"):
        assert want in heads
    data = json.loads(seeds_run.brief_json.read_text(encoding="utf-8"))
    cites = [a for a in tree.iter(f"{NS}a") if "cite" in (a.get("class") or "")]  # type: ignore[attr-defined]
    per_claim = {int(a.get("data-claim")) for a in cites}
    assert per_claim == set(range(len(data["claims"])))  # every claim in brief.json has its citations on the page
    for a in cites:
        k, sid = int(a.get("data-claim")), int(a.get("data-source"))
        assert sid in data["claims"][k]["source_ids"] and a.text == f"[{sid}]"
    # no network: no src/href pointing anywhere but inside the page, and a CSP that forbids it
    for el in tree.iter():  # type: ignore[attr-defined]
        if isinstance(el.tag, str):
            assert "src" not in el.attrib and el.get("href", "#").startswith("#"), el.attrib
    assert "default-src 'none'" in html


def test_embedded_evidence_marks_the_cited_span_inside_its_paragraph(seeds_run: RunResult) -> None:
    html = (seeds_run.run_dir / "brief.html").read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="brief-data">(.*?)</script>', html, re.S)
    assert blob
    payload = json.loads(blob.group(1))
    data = json.loads(seeds_run.brief_json.read_text(encoding="utf-8"))
    texts = {s["id"]: (seeds_run.run_dir / "sources" / f"{s['id']}.txt").read_text(encoding="utf-8")
             for s in data["sources"]}
    checked = 0
    for k, c in enumerate(data["claims"]):
        for ev in c["evidence"]:
            s, e = ev["span"]
            [p] = payload["claims"][str(k)]["evidence"][str(ev["source_id"])]["passages"]
            marked = "".join(t for t, hl in p["segments"] if hl)
            whole = "".join(t for t, _ in p["segments"])
            assert marked == texts[ev["source_id"]][s:e]
            assert whole in texts[ev["source_id"]] and len(whole) >= len(marked)  # a one-sentence paragraph: equal
            checked += 1
    # every evidence entry (a corroborated claim has one per agreeing source) of every claim
    assert checked == sum(len(c["evidence"]) for c in data["claims"]) >= len(data["claims"])


def test_hostile_sources_and_model_output_stay_text(hostile_html: tuple[Path, str]) -> None:
    _, html = hostile_html
    tree = strict_parse(html)
    tags = [el.tag.replace(NS, "") for el in tree.iter() if isinstance(el.tag, str)]  # type: ignore[attr-defined]
    assert not {"img", "svg", "iframe", "object", "embed", "form", "base"} & set(tags)
    assert tags.count("script") == 2  # the JSON data and the page's own script
    for el in tree.iter():  # type: ignore[attr-defined]
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (el.tag, value)
    [data_el] = [el for el in tree.iter(f"{NS}script") if el.get("type") == "application/json"]  # type: ignore
    raw = data_el.text or ""
    assert "</" not in raw and "<!--" not in raw
    payload = json.loads(raw)
    assert any("<script>alert(2)</script>" in c["text"] for c in payload["claims"].values())  # kept, as text
    assert "alert(1)" in html and "&lt;img" in html  # shown escaped
    assert "{{ 7*7 }}" in html or "{{ 7*7 }}".replace("{", "&#123;") in html  # not evaluated as a template
    assert ">49<" not in html


def test_unverified_claim_shows_the_verifiers_reason(hostile_html: tuple[Path, str]) -> None:
    run_dir, html = hostile_html
    data = json.loads((run_dir / "brief.json").read_text(encoding="utf-8"))
    bad = next(c for c in data["claims"] if c["verified"] is False and c["section"] == "bluf")
    tree = strict_parse(html)
    bluf = next(s for s in tree.iter(f"{NS}section") if s.get("id") == "bluf")  # type: ignore[attr-defined]
    notes = ["".join(n.itertext()) for n in bluf.iter(f"{NS}span") if n.get("class") == "unverified"]
    assert any(bad["problems"][0] in n for n in notes)
    assert any(s.get("id") == "unverified" for s in tree.iter(f"{NS}section"))  # type: ignore[attr-defined]


def test_user_template_overrides_the_packaged_one(tmp_path: Path, seeds_run: RunResult) -> None:
    mine = tmp_path / "prompts"
    mine.mkdir()
    (mine / "brief.html.j2").write_text("<!DOCTYPE html><title>{{ title }}</title><p>mine {{ sources | length }}",
                                        encoding="utf-8")
    [out] = export_run(seeds_run.run_dir, ["html"], search_path(mine), dest=tmp_path / "x")
    assert out.read_text(encoding="utf-8").endswith("<p>mine 5")
    r = cli("prompts", "list", "--prompts", str(mine))
    assert r.returncode == 0 and re.search(r"brief\.html\.j2\s+" + re.escape(str(mine)), r.stdout)


# --------------------------------------------------------------------------- DOCX


def body_paragraphs(doc: object) -> list[str]:
    return [p.text for p in doc.paragraphs]  # type: ignore[attr-defined]


def test_docx_has_the_sections_every_claim_and_every_citation(seeds_run: RunResult) -> None:
    path = seeds_run.run_dir / "brief.docx"
    doc = Document(str(path))
    data = json.loads(seeds_run.brief_json.read_text(encoding="utf-8"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:3] == ["Bottom line up front", "Key judgments", "Analysis by theme"]
    for want in [t["title"] for t in data["themes"]] + ["Timeline", "Implications for Canada and South Korea",
                                                        "Indicators to watch", "Source summaries", "Sources",
                                                        "Evidence", "Method note"]:
        assert want in headings
    assert doc.paragraphs[0].style.name == "Title" and doc.paragraphs[0].text == data["title"]
    paras = body_paragraphs(doc)
    joined = "\n".join(paras)
    for c in data["claims"]:
        cite = "".join(f"[{i}]" for i in sorted(set(c["source_ids"])))
        assert any(c["text"] in p and cite in p for p in paras), c["text"][:60]
    judgments = [p for p in doc.paragraphs if p.style.name == "List Number"]
    assert len(judgments) == sum(c["section"] == "key_judgments" for c in data["claims"])
    assert all("Confidence:" in p.text for p in judgments)
    [table] = doc.tables
    rows = table.rows[1:]
    assert len(rows) == len(data["claims"])  # one evidence row per claim shown
    notes = re.findall(r"e(\d+)", " ".join(re.findall(r"\]e\d+", joined)))
    assert sorted(map(int, notes)) == list(range(1, len(rows) + 1))
    quotes = {ev["quote"] for c in data["claims"] for ev in c["evidence"]}
    cells = "\n".join(r.cells[3].text for r in rows)
    assert all(q in cells for q in quotes)
    for s in data["sources"]:
        assert any(p.startswith(f"[{s['id']}] ") for p in paras)


def test_docx_survives_hostile_text(hostile_html: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, _ = hostile_html
    [path] = export_run(run_dir, ["docx"], search_path(None), dest=tmp_path)
    doc = Document(str(path))
    assert "<script>alert(2)</script>" in "\n".join(p.text for p in doc.paragraphs)


@pytest.mark.skipif(not (shutil.which("libreoffice") or shutil.which("soffice")), reason="LibreOffice not installed")
def test_docx_converts_in_libreoffice(seeds_run: RunResult, tmp_path: Path) -> None:
    exe = shutil.which("libreoffice") or shutil.which("soffice")
    assert exe
    r = subprocess.run([exe, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to",
                        "pdf", "--outdir", str(tmp_path), str(seeds_run.run_dir / "brief.docx")],
                       capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "brief.pdf"
    assert r.returncode == 0 and pdf.is_file(), r.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


# --------------------------------------------------------------------------- run --format and export


def test_format_option_and_setting(tmp_path: Path) -> None:
    r = cli("run", str(OTHER), "--out", str(tmp_path / "a"), "--format", "md,docx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run_dir = Path(r.stdout.strip().splitlines()[-1]).parent
    assert sorted(p.name for p in run_dir.iterdir()) == ["brief.docx", "brief.json", "brief.md", "sources"]
    r = cli("run", str(OTHER), "--out", str(tmp_path / "b"), "--format", "md,xml", cwd=tmp_path)
    assert r.returncode == 2 and "'xml'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b" / "latest").exists()
    (tmp_path / "briefing.toml").write_text('[run]\nformats = ["html", "docx"]\n', encoding="utf-8")
    r = cli("run", str(OTHER), "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = {p.name for p in (tmp_path / "c" / "latest").iterdir()}
    assert {"brief.md", "brief.json", "brief.html", "brief.docx"} <= names
    (tmp_path / "briefing.toml").write_text('[run]\nformats = ["odt"]\n', encoding="utf-8")
    r = cli("run", str(OTHER), "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert r.returncode == 2 and "run.formats" in r.stderr and "'odt'" in r.stderr


def test_export_works_on_a_run_made_before_this_change(seeds_run: RunResult, tmp_path: Path) -> None:
    old = Path(shutil.copytree(seeds_run.run_dir, tmp_path / "20240101T000000Z"))
    data = json.loads((old / "brief.json").read_text(encoding="utf-8"))
    for key in ("audience", "themes", "method_notes"):
        data.pop(key)
    (old / "brief.json").write_text(json.dumps(data), encoding="utf-8")
    for name in ("brief.html", "brief.docx"):
        (old / name).unlink()
    (tmp_path / "latest").symlink_to(old.name)
    r = cli("export", str(tmp_path / "latest"), "--to", "docx", "--to", "html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [Path(p).name for p in r.stdout.split()] == ["brief.html", "brief.docx"]
    doc = Document(str(old / "brief.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "North Korea–Russia military cooperation" in headings  # theme titles from the profile
    strict_parse((old / "brief.html").read_text(encoding="utf-8"))


def test_export_errors_are_one_line(tmp_path: Path, seeds_run: RunResult) -> None:
    r = cli("export", str(seeds_run.run_dir), "--to", "epub", cwd=tmp_path)
    assert r.returncode == 2 and "'epub'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("export", str(tmp_path / "nope"), "--to", "html", cwd=tmp_path)
    assert r.returncode == 1 and "nope" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "brief.json").write_text("[" * 100_000, encoding="utf-8")
    r = cli("export", str(bad), "--to", "html", cwd=tmp_path)
    assert r.returncode == 1 and "brief.json" in r.stderr and "Traceback" not in r.stderr
    (bad / "brief.json").write_text(json.dumps({"claims": [{"text": "x", "source_ids": ["9" * 50]}],
                                                "sources": []}), encoding="utf-8")
    r = cli("export", str(bad), "--to", "docx", cwd=tmp_path)
    assert r.returncode == 1 and "integer id" in r.stderr and "Traceback" not in r.stderr


def test_export_reads_only_source_texts_inside_the_run(tmp_path: Path, seeds_run: RunResult) -> None:
    run_dir = Path(shutil.copytree(seeds_run.run_dir, tmp_path / "run"))
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT", encoding="utf-8")
    (run_dir / "sources" / "1.txt").unlink()
    (run_dir / "sources" / "1.txt").symlink_to(secret)
    data = json.loads((run_dir / "brief.json").read_text(encoding="utf-8"))
    data["sources"][1]["text_path"] = str(secret)
    (run_dir / "brief.json").write_text(json.dumps(data), encoding="utf-8")
    doc = document.load(run_dir, search_path(None))
    assert doc.sources[0].text is None and "TOP SECRET" not in (doc.sources[1].text or "")
    [out] = export_run(run_dir, ["html"], search_path(None))
    assert "TOP SECRET" not in out.read_text(encoding="utf-8")


def test_pdf_without_the_extra_is_a_clear_message(tmp_path: Path, seeds_run: RunResult) -> None:
    script = ("import sys, builtins\n"
              "real = builtins.__import__\n"
              "def fake(name, *a, **k):\n"
              "    if name.startswith('playwright'):\n"
              "        raise ImportError(name)\n"
              "    return real(name, *a, **k)\n"
              "builtins.__import__ = fake\n"
              "sys.argv = ['briefing', 'export', sys.argv[1], '--to', 'pdf']\n"
              "from briefing.cli import main\n"
              "main()\n")
    r = subprocess.run([sys.executable, "-c", script, str(seeds_run.run_dir)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 2 and "briefing[pdf]" in r.stderr and "Traceback" not in r.stderr
    assert not (seeds_run.run_dir / "brief.pdf").exists()


def test_html_and_docx_headings_follow_the_brief_language(tmp_path: Path) -> None:
    from briefing.messages import load as load_messages

    result = do_run(tmp_path / "out", [OTHER], **{"profile.language": "fr", "run.formats": ["html", "docx"]})
    t = load_messages(search_path(None), "fr")
    assert t.bluf != "Bottom line up front"
    tree = strict_parse((result.run_dir / "brief.html").read_text(encoding="utf-8"))
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    html_el = next(el for el in root.iter(f"{NS}html"))  # type: ignore[attr-defined]
    assert html_el.get("lang") == "fr"
    heads = [h.text for h in root.iter(f"{NS}h2")]  # type: ignore[attr-defined]
    assert heads[:3] == [t.bluf, t.judgments, t.themes]
    doc = Document(str(result.run_dir / "brief.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == [t.bluf, t.judgments] and t.sources in headings


def test_llm_brief_with_sentence_evidence_exports(tmp_path: Path) -> None:
    """LLM claims rest on cited sentences (sentence_ids, spans filled by the engine): each is marked on the page."""
    with LLMServer() as srv:
        settings = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "out"),
                                        "run.engine": "llm", "llm.model": "test-model",
                                        "llm.base_url": srv.base_url, "llm.api_key": "test-key",
                                        "run.formats": ["html", "docx"]}, environ={}, dotenv_path=None)
        result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    html = (result.run_dir / "brief.html").read_text(encoding="utf-8")
    strict_parse(html)
    blob = re.search(r'<script type="application/json" id="brief-data">(.*?)</script>', html, re.S)
    assert blob
    payload = json.loads(blob.group(1))
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    texts = {s["id"]: (result.run_dir / "sources" / f"{s['id']}.txt").read_text(encoding="utf-8")
             for s in data["sources"]}
    checked = 0
    for k, c in enumerate(data["claims"]):
        by_src: dict[int, list[str]] = {}
        for ev in c["evidence"]:
            if ev.get("span"):
                by_src.setdefault(ev["source_id"], []).append(texts[ev["source_id"]][ev["span"][0]:ev["span"][1]])
        for sid, cited in by_src.items():
            passages = payload["claims"][str(k)]["evidence"][str(sid)]["passages"]
            marked = " ".join(t for p in passages for t, hl in p["segments"] if hl)
            assert all(q in marked for q in cited)
            checked += len(cited)
    assert checked >= len(data["claims"]) // 2
    Document(str(result.run_dir / "brief.docx"))
