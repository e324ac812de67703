"""Browser end-to-end fixtures: Playwright driving Debian's Chromium against a real
``tftsr serve`` process."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import start_served_app

# The machine running the suite may be busy (2 cores, a Qt window, a PyInstaller build):
# give the UI time to settle before an expectation counts as failed.
expect.set_options(timeout=20_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def served_app(tmp_path):
    app = start_served_app(tmp_path / "e2e-data")
    yield app
    app.stop()


@pytest.fixture
def page(browser, served_app, artifacts_dir, request):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.problems = problems
    pg.goto(served_app.url)
    yield pg
    try:
        pg.screenshot(path=str(artifacts_dir / f"e2e-{request.node.name}.png"), full_page=True)
    finally:
        context.close()
