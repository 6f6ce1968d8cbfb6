"""Headless Chromium from the system's packages, driven by Playwright: the one place that
knows how to start it on a closed network (for the screenshot and the browser test).

Playwright's own browser download is never used: it needs the internet, and the
distribution's Chromium (``make browser``) is what CI installs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = Path(os.environ.get("CX_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps trying to reach Google's
# services; on a closed network every attempt is a refused connection.
CHROMIUM_ARGS = (
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1366, "height": 900}


class BrowserMissingError(RuntimeError):
    """Chromium or Playwright is not installed."""


def chromium_path() -> Path:
    """The Chromium executable, or an error that says how to install it."""
    if not CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is None:
        raise BrowserMissingError(
            f"{CHROMIUM} not found: run `make browser` (installs Debian's chromium)")
    return CHROMIUM


def launch(playwright):  # type: ignore[no-untyped-def]
    """A headless Chromium browser of the system, started by ``playwright``."""
    return playwright.chromium.launch(executable_path=str(chromium_path()), headless=True,
                                      args=list(CHROMIUM_ARGS))


def screenshot(page_file: Path, out: Path, max_height: int | None = None) -> Path:
    """A PNG of the dashboard at ``page_file``: the whole page, or its top ``max_height``
    pixels."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - dev extra not installed
        raise BrowserMissingError("playwright is not installed: pip install -e '.[dev]'") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg')"
                                   ".length >= document.querySelectorAll("
                                   "'.plotly-graph-div').length")
            height = page.evaluate("document.documentElement.scrollHeight")
            clip_height = min(height, max_height) if max_height else height
            page.screenshot(path=str(out), full_page=True,
                            clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                                  "height": clip_height})
        finally:
            browser.close()
    return out
