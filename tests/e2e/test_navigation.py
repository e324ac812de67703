"""The router follows the address even when it changed while the app was starting."""

from __future__ import annotations

from playwright.sync_api import expect

# Once the app has drawn its first screen, move the address to Settings without a
# hashchange event (history.replaceState sends none): the router's listener is added only
# after that first paint, so it must look at the address itself when it starts listening.
MOVE_AFTER_FIRST_RENDER = """
new MutationObserver((changes, observer) => {
  const root = document.getElementById('app');
  if (root && root.querySelector('.app-shell, .boot, main, nav')) {
    observer.disconnect();
    history.replaceState(null, '', location.pathname + '#/settings');
  }
}).observe(document, { childList: true, subtree: true });
"""


def test_an_address_changed_during_start_up_is_followed(browser, served_app):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_init_script(MOVE_AFTER_FIRST_RENDER)
        page = context.new_page()
        page.goto(served_app.url)
        expect(page).to_have_url(f"{served_app.base_url}/#/settings")
        expect(page.get_by_test_id("settings-security")).to_be_attached()
        expect(page).to_have_title("Settings — TFTSR")
    finally:
        context.close()


def test_following_links_still_moves_between_screens(browser, served_app):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(served_app.url)
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Settings").click()
        expect(page.get_by_test_id("settings-security")).to_be_attached()
        nav.get_by_role("link", name="Audit log").click()
        expect(page).to_have_url(f"{served_app.base_url}/#/audit")
        expect(page.get_by_test_id("settings-security")).to_have_count(0)
    finally:
        context.close()


def test_a_screen_rewriting_its_address_never_undoes_a_move_to_another(page, served_app):
    # History writes its filters into the address after it has drawn. When the user has
    # already gone on to an incident by then, that late rewrite must not bring History back.
    issue = served_app.call("create_issue", title="Moved on", severity="low", category="linux")["issue"]
    page.goto(served_app.base_url + "/#/history")
    expect(page.get_by_test_id("history")).to_be_visible()
    after = page.evaluate(
        """async (id) => {
            const { replaceHash } = await import('/lib/state.js');
            location.hash = '#/issue/' + id;        // the user moves on ...
            replaceHash('/history?q=late');         // ... before History's effect runs
            const own = location.hash;
            replaceHash('/issue/' + id + '/timeline');  // a screen's own address still changes
            return [own, location.hash];
        }""",
        issue["id"],
    )
    assert after == [f"#/issue/{issue['id']}", f"#/issue/{issue['id']}/timeline"]
    expect(page.get_by_test_id("issue-title")).to_contain_text("Moved on")
