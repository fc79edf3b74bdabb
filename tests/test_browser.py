"""brief.html in a real browser: the distribution's Chromium driven by Playwright (no browser download).

Skipped when Playwright or /usr/bin/chromium is missing, except under CI (CI=true), where .ci/run installs both
and a missing browser is a failure. Screenshots go to a temp dir, and also to $BRIEFING_SCREENS_DIR when set.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_export import HOSTILE, do_run, hostile_run_dir

from briefing.export import export_run
from briefing.pipeline import RunResult
from briefing.templates import search_path

ROOT = Path(__file__).parent.parent
CHROMIUM = os.environ.get("BRIEFING_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

_missing = sync_playwright is None or not Path(CHROMIUM).exists()
if _missing and os.environ.get("CI"):
    raise RuntimeError(f"browser tests need playwright and {CHROMIUM} (.ci/run installs chromium)")
pytestmark = pytest.mark.skipif(_missing, reason=f"playwright or {CHROMIUM} not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page with every console message, page error, dialog and request outside the page recorded."""

    def __init__(self, browser: Browser, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page: Page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

        def refuse(route: Any) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                self.requests.append("BLOCKED " + route.request.url)
                route.abort()

        self.context.route("**/*", refuse)

    def open(self, path: Path) -> Page:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def assert_quiet(self, page_file: Path) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        assert not [m for m in self.console if m.startswith(("error", "warning"))], self.console
        assert all(u == page_file.as_uri() or u.startswith(page_file.as_uri() + "#") for u in self.requests), \
            self.requests

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return do_run(tmp_path_factory.mktemp("seeds") / "out", [ROOT / "seeds"])


def test_citation_opens_the_cited_sentence_inside_its_source_passage(browser: Browser, seeds_run: RunResult) -> None:
    html = seeds_run.run_dir / "brief.html"
    data = json.loads(seeds_run.brief_json.read_text(encoding="utf-8"))
    w = Watched(browser)
    page = w.open(html)
    link = page.locator("#judgments a.cite").first
    k, sid = int(link.get_attribute("data-claim") or "-1"), int(link.get_attribute("data-source") or "-1")
    claim = data["claims"][k]
    assert claim["section"] == "key_judgments"
    link.click()
    panel = page.locator("#evidence")
    assert panel.is_visible()
    assert page.locator("#evidence-title").inner_text() == f"Evidence for [{sid}]"
    text = (seeds_run.run_dir / "sources" / f"{sid}.txt").read_text(encoding="utf-8")
    ev = next(e for e in claim["evidence"] if e["source_id"] == sid)
    cited = text[ev["span"][0]:ev["span"][1]]
    mark = panel.locator("blockquote.passage mark.cited").first
    assert mark.inner_text() == cited
    passage = panel.locator("blockquote.passage").first.text_content() or ""
    assert cited in passage and len(passage) > len(cited) + 40  # the sentence sits inside surrounding text
    assert passage.strip(" …") in text
    meta = panel.locator(".ev-meta").inner_text()
    src = data["sources"][sid - 1]
    for field in (src["publisher"], src["published"], src["path"]):
        assert field is None or field in meta  # an unknown outlet or date is shown as unknown
    assert (src["title"] or "Untitled") in panel.locator(".ev-source-title").inner_text()
    # keyboard: focus went to the panel; Escape closes it and gives focus back to the citation
    assert page.evaluate("document.activeElement.id") == "evidence-title"
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('data-claim')") == str(k)
    # Enter on a focused citation opens it too
    page.keyboard.press("Enter")
    assert panel.is_visible()
    # "show in the full text" unfolds the source and lands on the marked sentence
    panel.locator("a.ev-jump").click()
    assert page.locator(f"#src-{sid} details").get_attribute("open") is not None
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == cited
    w.assert_quiet(html)
    w.close()


def test_unverified_claim_shows_its_reason_inline_and_in_the_panel(browser: Browser, seeds_run: RunResult,
                                                                   tmp_path: Path) -> None:
    run_dir = Path(shutil.copytree(seeds_run.run_dir, tmp_path / "run"))
    data = json.loads((run_dir / "brief.json").read_text(encoding="utf-8"))
    k = next(i for i, c in enumerate(data["claims"]) if c["section"] == "bluf")
    reason = f"quote not found in source [{data['claims'][k]['source_ids'][0]}]"
    data["claims"][k].update(verified=False, problems=[reason])
    (run_dir / "brief.json").write_text(json.dumps(data), encoding="utf-8")
    [html] = export_run(run_dir, ["html"], search_path(None))
    w = Watched(browser)
    page = w.open(html)
    item = page.locator("#bluf li", has=page.locator(f"#claim-{k}"))
    note = item.locator(".unverified")
    assert note.is_visible() and reason in note.inner_text() and "⚠ unverified" in note.inner_text()
    assert reason in page.locator("#unverified").inner_text()
    item.locator("a.cite").first.click()
    status = page.locator("#evidence .ev-status")
    assert status.is_visible() and reason in status.inner_text()
    w.assert_quiet(html)
    w.close()


def test_hostile_sources_and_model_output_do_nothing(browser: Browser, tmp_path: Path) -> None:
    run_dir = hostile_run_dir(tmp_path)
    [html] = export_run(run_dir, ["html"], search_path(None))
    w = Watched(browser)
    page = w.open(html)
    for i in range(page.locator("a.cite").count()):  # open every citation's evidence
        page.locator("a.cite").nth(i).click()
        page.keyboard.press("Escape")
    for d in page.locator("details").all():
        d.evaluate("el => el.open = true")
    counts = page.evaluate("""() => ({
        img: document.querySelectorAll('img, svg, iframe, object, embed, form, base, link').length,
        scripts: document.scripts.length,
        js: [...document.querySelectorAll('[href]')]
            .filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
        on: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))).length,
    })""")
    assert counts == {"img": 0, "scripts": 2, "js": 0, "on": 0}
    body = page.locator("body").inner_text()
    assert "<script>alert(2)</script>" in body and '<img src=x onerror="alert(1)">' in body  # shown as text
    page.locator("a.cite").first.click()
    assert any(h.split(" ")[0] in page.locator("#evidence").inner_text() for h in HOSTILE[:3])
    w.assert_quiet(html)
    w.close()


def _save(page: Page, name: str, tmp: Path, **kw: Any) -> Path:
    path = tmp / name
    page.screenshot(path=str(path), **kw)
    assert path.stat().st_size > 5_000
    extra = os.environ.get("BRIEFING_SCREENS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / name)
    return path


def test_screenshots_desktop_phone_and_print(browser: Browser, seeds_run: RunResult, tmp_path: Path) -> None:
    html = seeds_run.run_dir / "brief.html"
    w = Watched(browser, 1280, 900)
    page = w.open(html)
    page.locator("#judgments a.cite").first.click()
    _save(page, "brief-1280.png", tmp_path)
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    _save(page, "brief-390.png", tmp_path)
    page.locator("#judgments a.cite").first.click()
    box = page.locator("#evidence").bounding_box()
    assert box and box["width"] <= 390 and box["y"] > 0  # a bottom sheet, not a side panel
    assert page.locator("#evidence mark.cited").first.is_visible()
    _save(page, "brief-390-evidence.png", tmp_path)
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    page.evaluate("window.scrollTo(0, 0)")
    assert not page.locator("nav.toc").is_visible() and not page.locator("details").first.is_visible()
    cite = page.locator("a.cite").first
    assert cite.inner_text().startswith("[") and cite.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    _save(page, "brief-print.png", tmp_path, full_page=False)
    w.assert_quiet(html)
    w.close()


def test_translated_source_shows_original_and_rendering_side_by_side(browser: Browser, seeds_run: RunResult,
                                                                     tmp_path: Path) -> None:
    run_dir = Path(shutil.copytree(seeds_run.run_dir, tmp_path / "run"))
    data = json.loads((run_dir / "brief.json").read_text(encoding="utf-8"))
    k = next(i for i, c in enumerate(data["claims"]) if c["section"] == "implications")
    claim = data["claims"][k]
    sid = claim["source_ids"][0]
    claim["evidence"][0]["translation"] = "Rendering <b>in English</b> of the cited sentence."
    data["sources"][sid - 1]["flags"] = ["machine_translated"]
    (run_dir / "brief.json").write_text(json.dumps(data), encoding="utf-8")
    [html] = export_run(run_dir, ["html"], search_path(None))
    w = Watched(browser)
    page = w.open(html)
    page.locator(f'a.cite[data-claim="{k}"][data-source="{sid}"]').click()
    cols = page.locator("#evidence .ev-side .ev-col")
    assert cols.count() == 2
    left, right = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
    assert left and right and right["x"] > left["x"] + 100 and abs(right["y"] - left["y"]) < 5  # side by side
    assert cols.nth(0).locator("mark.cited").count() >= 1
    assert cols.nth(1).inner_text().endswith("Rendering <b>in English</b> of the cited sentence.")
    assert "Machine-translated" in page.locator("#evidence .ev-source").inner_text()
    w.assert_quiet(html)
    w.close()


def test_pdf_export_prints_the_page(seeds_run: RunResult, tmp_path: Path) -> None:
    [pdf] = export_run(seeds_run.run_dir, ["pdf"], search_path(None), dest=tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2


def test_llm_rendering_of_a_korean_source_sits_beside_the_original(browser: Browser, tmp_path: Path) -> None:
    from llm_server import LLMServer
    from test_language_llm import HANGUL, corpus, korean_id, llm_run

    with LLMServer() as srv:
        result = llm_run(corpus(tmp_path), tmp_path / "out", srv, "en")
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    kid = korean_id(data)
    k, ev = next((k, ev) for k, c in enumerate(data["claims"]) for ev in c["evidence"]
                 if ev["source_id"] == kid and ev.get("translation") and ev.get("span") and kid in c["source_ids"])
    html = result.run_dir / "brief.html"
    w = Watched(browser)
    page = w.open(html)
    link = page.locator(f'a.cite[data-claim="{k}"][data-source="{kid}"]')
    link.first.click()
    cols = page.locator("#evidence .ev-side .ev-col")
    assert cols.count() == 2
    original = cols.nth(0).locator("mark.cited").first.inner_text()
    assert HANGUL.search(original)
    assert ev["translation"] in cols.nth(1).inner_text()
    w.assert_quiet(html)
    w.close()
