"""No ambient credential: what another program on 127.0.0.1 can get from the browser.

Cookies are not port-scoped, so a cookie set by TFTSR's server on 127.0.0.1 would be sent
to every other loopback port. Here real Chromium opens the app with its launch link, then
goes to a second loopback HTTP server on another port -- directly, from the app page
itself, and through a redirect from another site -- and that server records every request
it receives: it must see no cookie, no Authorization header and the token nowhere. The
address bar loses the token once the page has loaded, a reload keeps working (the token
lives in sessionStorage, scoped to this origin's port), events still arrive, images are
shown through signed addresses that open one image only and carry no command power.
"""

from __future__ import annotations

import io
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import expect


class Listener:
    """Another program on 127.0.0.1: records every request, answers a small page, and
    redirects ``/redirect?to=URL``."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server name
                listener.requests.append((self.path, {k.lower(): v for k, v in
                                                      self.headers.items()}))
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.end_headers()
                    return
                body = b"<!doctype html><title>elsewhere</title><p>another program</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    other = Listener()
    yield other
    other.stop()


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), colour).save(buf, "PNG")
    return buf.getvalue()


def upload(served_app, issue_id: str, colour: str) -> dict:
    r = served_app.client.post("/upload/image", content=png(colour), params={
        "issue_id": issue_id, "filename": f"{colour}.png", "is_paste": "0",
        "pii_warning_acknowledged": "1"})
    assert r.status_code == 200, r.text
    return r.json()["image"]


def app_loaded(page):
    """The shell appears only after the first commands (app info, settings) succeeded."""
    expect(page.get_by_test_id("nav-new")).to_be_visible()
    expect(page.get_by_test_id("boot-error")).to_have_count(0)


def test_another_loopback_port_receives_no_credential(page, served_app, listener, browser):
    app_loaded(page)
    token = served_app.token
    assert token not in page.url and "token" not in page.url
    assert page.context.cookies() == []
    assert page.evaluate("() => sessionStorage.getItem('tftsr.token')") == token

    # 1. From the app page itself (same site as the app: a cookie would go along).
    page.evaluate("(u) => { window.location.href = u; }", listener.url("/from-app"))
    page.wait_for_url(re.compile(r".*/from-app$"))
    # 2. Typed into the address bar.
    page.goto(listener.url("/direct"))
    # 3. Through a redirect from another site (localhost is another site than 127.0.0.1).
    page.goto(listener.url("/redirect?to=" + listener.url("/landed"), host="localhost"))
    page.wait_for_url(re.compile(r".*/landed$"))
    # 4. A page of the other program loading resources from itself.
    page.set_content(f'<img src="{listener.url("/pixel.png")}">')
    page.wait_for_function("() => document.images[0].complete")

    paths = [path for path, _ in listener.requests]
    for wanted in ("/from-app", "/direct", "/landed", "/pixel.png"):
        assert wanted in paths, paths
    for path, headers in listener.requests:
        assert "cookie" not in headers, (path, headers)
        assert "authorization" not in headers, (path, headers)
        assert token not in path and all(token not in v for v in headers.values()), path
    assert page.context.cookies() == []

    # Back to the app in the same tab, without the link: it still works (sessionStorage).
    page.goto(served_app.base_url + "/#/dashboard")
    app_loaded(page)
    page.reload()
    app_loaded(page)
    assert page.context.cookies() == []

    # A fresh tab without the link has no token: the app says how to get in.
    other = browser.new_context()
    try:
        fresh = other.new_page()
        fresh.goto(served_app.base_url + "/")
        expect(fresh.get_by_test_id("boot-error")).to_contain_text("needs the link")
    finally:
        other.close()


def test_the_token_leaves_the_address_bar_and_a_reload_keeps_working(page, served_app):
    app_loaded(page)
    assert page.url == served_app.base_url + "/" or page.url.startswith(
        served_app.base_url + "/#"), page.url
    assert "token" not in page.url
    page.reload()
    app_loaded(page)
    assert "token" not in page.url
    # The fragment form never reaches the server at all, and is removed as well: in a
    # new tab (which starts with an empty sessionStorage) and in a tab showing the app.
    fresh = page.context.new_page()
    fresh.goto(f"{served_app.base_url}/#token={served_app.token}")
    app_loaded(fresh)
    assert "token" not in fresh.url
    fresh.close()
    page.goto(f"{served_app.base_url}/#token={served_app.token}")
    app_loaded(page)
    page.wait_for_function("() => !window.location.href.includes('token')")


def test_events_still_arrive_without_a_cookie(page, served_app):
    app_loaded(page)
    page.goto(served_app.base_url + "/#/history")
    expect(page.get_by_test_id("history")).to_be_visible()
    served_app.call("create_issue", title="Pushed by an event", severity="low",
                    category="linux")
    expect(page.get_by_test_id("search-result")).to_contain_text("Pushed by an event")


def test_images_use_signed_addresses_for_one_resource(page, served_app, artifacts_dir):
    issue_id = served_app.call("create_issue", title="Screens from the outage", severity="high",
                               category="application")["issue"]["id"]
    red, blue = upload(served_app, issue_id, "red"), upload(served_app, issue_id, "blue")
    page.goto(f"{served_app.base_url}/#/issue/{issue_id}/evidence")
    expect(page.get_by_test_id("image-thumb-img")).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"image-thumb-img\"]')]"
        ".every((i) => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts_dir / "e2e-signed-thumbnails.png"))
    srcs = page.eval_on_selector_all('[data-testid="image-thumb-img"]',
                                     "(els) => els.map((e) => e.getAttribute('src'))")
    assert sorted(s.split("&exp=")[0] for s in srcs) == sorted(
        [red["thumbnail_url"], blue["thumbnail_url"]])
    assert all("sig=" in s and served_app.token not in s for s in srcs)
    assert page.context.cookies() == []

    # The full-size viewer too.
    page.get_by_test_id("image-thumb").first.click()
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=\"image-full\"]');"
        " return Boolean(i && i.complete && i.naturalWidth === 120); }")

    # From the page, without the token: the signed address of red opens red only, and
    # does not authorise a command.
    red_src = next(s for s in srcs if red["id"] in s)
    query = red_src.split("?", 1)[1]
    statuses = page.evaluate("""async ([ok, other, api]) => {
        const get = async (u) => (await fetch(u, {credentials: 'omit'})).status;
        const post = async (u) => (await fetch(u, {method: 'POST', credentials: 'omit',
            headers: {'Content-Type': 'application/json'}, body: '{}'})).status;
        return [await get(ok), await get(other), await post(api), await post(ok)];
    }""", [red_src, f"/thumbnails/{blue['id']}?{query}", f"/api/get_settings?{query}"])
    assert statuses[0] == 200
    assert statuses[1] == 401 and statuses[2] == 401
    assert statuses[3] in (401, 405)
