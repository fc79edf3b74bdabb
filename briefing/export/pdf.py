"""brief.pdf (optional extra `briefing[pdf]`): the HTML page printed by a headless Chromium through Playwright."""

from __future__ import annotations

import concurrent.futures
import os
import shutil

from briefing.errors import BriefingError, ConfigError

MISSING = ("PDF output needs the optional extra: pip install 'briefing[pdf]' (Playwright), plus a Chromium "
           "(e.g. apt-get install chromium, or set BRIEFING_CHROMIUM to its path)")
BROWSER_ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync"]


def chromium_path() -> str | None:
    """The Chromium to drive: $BRIEFING_CHROMIUM, else one on PATH (None lets Playwright use its own download)."""
    env = os.environ.get("BRIEFING_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def check_pdf_support() -> None:
    """A ConfigError with the install hint when Playwright is not installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ConfigError(MISSING) from None


def html_to_pdf(html: str) -> bytes:
    """Print the page with its print stylesheet to A4 PDF; every network request is refused.

    Runs in its own thread: Playwright's sync API refuses a thread that already runs an asyncio loop.
    """
    check_pdf_support()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="briefing-pdf") as pool:
        return pool.submit(_print, html).result()


def _print(html: str) -> bytes:
    from playwright.sync_api import Error, sync_playwright

    args = BROWSER_ARGS + (["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=args)
            try:
                page = browser.new_page(java_script_enabled=False)
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load")
                page.emulate_media(media="print")
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BriefingError(f"PDF rendering failed: {first}. {MISSING}") from None
