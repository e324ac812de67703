"""The Help screen in the browser UI, against the real server: F1 (even from a text field),
the sidebar and the command palette open it; it shows this installation's real paths, key
source, version and AI provider state as the running app reports them; its Settings link
lands on Settings → AI providers."""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import start_served_app, tftsr_env


def shoot_both_themes(page, artifacts_dir, name):
    """Screenshot the whole page in the current theme, switch with the real toggle, shoot again."""
    first = page.evaluate("() => document.documentElement.dataset.theme")
    other = "dark" if first == "light" else "light"
    page.screenshot(path=str(artifacts_dir / f"help-{name}-{first}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", other)
    page.screenshot(path=str(artifacts_dir / f"help-{name}-{other}.png"), animations="disabled")


def test_f1_opens_help_with_this_installations_real_facts(page, served_app, artifacts_dir):
    info = served_app.call("get_app_info")
    expect(page.get_by_test_id("nav-dashboard")).to_be_visible()

    # F1 works even while typing in a field.
    page.get_by_test_id("topbar-search").click()
    page.keyboard.press("F1")
    expect(page.get_by_test_id("help")).to_be_visible()
    assert page.evaluate("() => location.hash") == "#/help"
    expect(page.get_by_test_id("nav-help")).to_have_attribute("aria-current", "page")
    expect(page).to_have_title("Help — TFTSR")

    # The paths are the served app's own, not examples.
    expect(page.get_by_test_id("help-data-dir")).to_have_text(info["data_dir"])
    expect(page.get_by_test_id("help-db-path")).to_have_text(info["db_path"])
    expect(page.get_by_test_id("help-log-path")).to_have_text(info["log_path"])
    assert Path(info["db_path"]).is_file()
    expect(page.get_by_test_id("help-key-source")).to_have_attribute("data-source", info["key_source"])
    expect(page.get_by_test_id("help-key-advice")).to_contain_text("TFTSR_DB_KEY")
    expect(page.get_by_test_id("help-version")).to_contain_text(f"TFTSR {info['version']}")
    expect(page.get_by_test_id("help-cli-example")).to_have_text(
        f"tftsr db verify-audit --data-dir {info['data_dir']}")

    # The shortcut list is the one the "?" dialog shows.
    shortcuts = page.get_by_test_id("help-shortcuts").locator("tr")
    expect(shortcuts.first).to_contain_text("Open Help")
    page.get_by_test_id("help-toc-cli").click()
    expect(page.get_by_test_id("help-toc-cli")).to_have_attribute("aria-current", "true")
    page.get_by_test_id("nav-shortcuts").click()
    dialog_rows = page.get_by_test_id("shortcut-help").locator("tr")
    expect(dialog_rows).to_have_count(shortcuts.count())
    expect(dialog_rows.first).to_contain_text("Open Help")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("shortcut-help")).to_have_count(0)

    page.get_by_test_id("help-toc-start").click()
    shoot_both_themes(page, artifacts_dir, "page")
    assert page.problems == []


def test_help_reports_the_ai_provider_and_links_to_its_settings(page, served_app):
    kinds = served_app.call("list_ai_providers")["kinds"]
    expect(page.get_by_test_id("nav-help")).to_be_visible()
    page.get_by_test_id("nav-help").click()

    # No provider yet: said plainly; the table lists every kind the backend offers.
    expect(page.get_by_test_id("help-ai-status")).to_have_attribute("data-state", "none")
    table = page.get_by_test_id("help-provider-kinds")
    expect(table.locator("tbody tr")).to_have_count(len(kinds))
    azure = next(k for k in kinds if k["kind"] == "azure_openai")
    row = page.get_by_test_id("help-kind-azure_openai")
    expect(row).to_contain_text(azure["label"])
    expect(row).to_contain_text(azure["default_base_url"])
    expect(row).to_contain_text("Deployment name")
    expect(page.get_by_test_id("help-kind-ollama")).to_contain_text("Optional")

    page.get_by_test_id("help-open-ai-settings").click()
    expect(page.get_by_test_id("ai-providers")).to_be_visible()
    assert page.evaluate("() => location.hash") == "#/settings"

    # A provider added behind the page's back shows up when Help is opened from the palette.
    r = served_app.client.post("/api/add_ai_provider", json={  # ServedApp.call takes `name` itself
        "name": "Night shift Ollama", "kind": "ollama", "base_url": "http://127.0.0.1:9",
        "model": "llama3.2:3b", "make_active": True})
    assert r.status_code == 200, r.text
    page.get_by_test_id("palette-open").click()
    page.get_by_test_id("palette-input").fill("Help")
    expect(page.get_by_test_id("palette-item").first.locator(".palette-label")).to_have_text("Help")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("help")).to_be_visible()
    expect(page.get_by_test_id("help-ai-status")).to_have_attribute("data-state", "active")
    expect(page.get_by_test_id("help-ai-active")).to_have_text("Night shift Ollama")
    expect(page.get_by_test_id("help-ai-status")).to_contain_text("llama3.2:3b")
    assert page.problems == []


def test_help_for_a_key_file_installation(browser, tmp_path):
    """Without TFTSR_DB_KEY (and no keyring) the key is db.key in the data folder, and the
    backup advice says so; the keyring entry name the page computes matches the backend's."""
    from tftsr.config import _keyring_username

    data_dir = tmp_path / "key file data"
    env = tftsr_env(data_dir)
    env.pop("TFTSR_DB_KEY")
    app = start_served_app(data_dir, env=env)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        info = app.call("get_app_info")
        assert info["key_source"] == "file"
        assert (Path(info["data_dir"]) / "db.key").is_file()
        page = context.new_page()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(app.url + "#/help/data")
        expect(page.get_by_test_id("help-data-dir")).to_have_text(info["data_dir"])
        expect(page.get_by_test_id("help-key-source")).to_have_attribute("data-source", "file")
        expect(page.get_by_test_id("help-key-source")).to_contain_text(str(Path(info["data_dir"]) / "db.key"))
        expect(page.get_by_test_id("help-key-advice")).to_contain_text("db.key")
        expect(page.get_by_test_id("help-toc-data")).to_have_attribute("aria-current", "true")
        # A path with a space is quoted for the shell.
        expect(page.get_by_test_id("help-cli-example")).to_have_text(
            f"tftsr db verify-audit --data-dir '{info['data_dir']}'")

        for path in (info["data_dir"], "/home/sre/.local/share/tftsr", "/srv/dönnées/tftsr"):
            got = page.evaluate("(p) => import('/screens/help.js').then((m) => m.keyringEntryName(p))", path)
            assert got == _keyring_username(Path(path)), path
            assert got == "db-key-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]
        assert problems == []
    finally:
        context.close()
        app.stop()
