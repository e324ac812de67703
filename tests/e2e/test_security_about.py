"""Settings → Security and Settings → About in the browser, against a real ``tftsr serve``:
switch passphrase mode on (the database is re-keyed), change the passphrase (a wrong
current one is refused in words), and add and remove the app-menu launcher (written into a
temporary XDG_DATA_HOME); Help explains all three. Afterwards the database opens with the new
passphrase only."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import expect

from tests.conftest import start_served_app, tftsr_env

FIRST = "purple elephant 42"
SECOND = "orange giraffe 17"


def test_passphrase_mode_and_launcher_from_settings(browser, tmp_path, artifacts_dir):
    data_dir, data_home = tmp_path / "data", tmp_path / "xdg-data"
    served = start_served_app(data_dir, env=tftsr_env(data_dir, XDG_DATA_HOME=str(data_home)))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(served.url)
        page.goto(f"{served.base_url}/#/settings")
        security = page.get_by_test_id("settings-security")
        expect(security).to_be_attached(timeout=60_000)
        security.scroll_into_view_if_needed()
        switch = security.get_by_test_id("passphrase-mode")
        expect(switch).to_have_attribute("aria-checked", "false")

        switch.click()
        dialog = page.get_by_test_id("passphrase-dialog")
        dialog.get_by_test_id("passphrase-new").fill("short")
        dialog.get_by_test_id("passphrase-again").fill("short")
        dialog.get_by_test_id("passphrase-submit").click()
        expect(dialog.get_by_test_id("passphrase-error")).to_contain_text("at least 8")
        dialog.get_by_test_id("passphrase-new").fill(FIRST)
        dialog.get_by_test_id("passphrase-again").fill(FIRST)
        dialog.get_by_test_id("passphrase-submit").click()
        expect(dialog).to_have_count(0)
        expect(switch).to_have_attribute("aria-checked", "true")
        expect(security.get_by_test_id("passphrase-state")).to_contain_text("derived from your passphrase")
        expect(page.get_by_test_id("info-key-source")).to_contain_text("Your passphrase")

        security.get_by_test_id("passphrase-change").click()
        dialog.get_by_test_id("passphrase-current").fill("not the passphrase")
        dialog.get_by_test_id("passphrase-new").fill(SECOND)
        dialog.get_by_test_id("passphrase-again").fill(SECOND)
        dialog.get_by_test_id("passphrase-submit").click()
        expect(dialog.get_by_test_id("passphrase-error")).to_contain_text("current passphrase is wrong")
        dialog.get_by_test_id("passphrase-current").fill(FIRST)
        dialog.get_by_test_id("passphrase-submit").click()
        expect(dialog).to_have_count(0)

        about = page.get_by_test_id("settings-about")
        about.scroll_into_view_if_needed()
        expect(about.get_by_test_id("about-launcher")).to_contain_text("Not in the app menu yet")
        about.get_by_test_id("install-launcher").click()
        entry = data_home / "applications" / "org.tftsr.TFTSR.desktop"
        expect(about.get_by_test_id("about-launcher")).to_contain_text(str(entry))
        assert entry.is_file()
        page.screenshot(path=str(artifacts_dir / "settings-security-about.png"), full_page=True)
        about.get_by_test_id("uninstall-launcher").click()
        expect(about.get_by_test_id("about-launcher")).to_contain_text("Not in the app menu yet")
        assert not entry.exists()

        # Help explains the same, and names this installation's key source.
        page.goto(f"{served.base_url}/#/help/portable")
        expect(page.get_by_test_id("help-portable")).to_contain_text("tftsr-portable.marker")
        expect(page.get_by_test_id("help-passphrase")).to_contain_text("tftsr.db.salt")
        expect(page.get_by_test_id("help-launcher")).to_contain_text("install-launcher")
        expect(page.get_by_test_id("help-key-advice")).to_have_attribute("data-source", "passphrase")
        assert problems == []
    except Exception:
        print("page at the failure:", page.url, page.evaluate("() => document.body.innerText")[:2000])
        raise
    finally:
        context.close()
        served.stop()

    def verify(passphrase: str) -> subprocess.CompletedProcess:
        env = tftsr_env(data_dir, TFTSR_PASSPHRASE=passphrase)
        env.pop("TFTSR_DB_KEY")
        return subprocess.run([sys.executable, "-m", "tftsr", "db", "verify-audit"], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60, check=False)

    assert verify(FIRST).returncode == 2
    result = verify(SECOND)
    assert result.returncode == 0 and "intact" in result.stdout, result.stdout + result.stderr
