"""The local server bounds what a client can hold, and grants nothing without the token.

An in-process :class:`tftsr.server.LocalServer` on a real loopback socket over a real
SQLCipher database, configured through its public constructor arguments (short timeouts
here, so that waiting for them takes seconds). What is checked is behaviour: idle sockets
are closed by the server, the app answers while they are open, event streams survive the
idle timeout and are capped, large bodies without the token are refused unread, signed
image addresses open exactly one resource and grant no command.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import selectors
import socket
import threading
import time

import httpx
import pytest
from PIL import Image
from tftsr.server import LocalServer

from tests.conftest import CI

IDLE_TIMEOUT = 2
HEADER_TIMEOUT = 2
CLEANUP_INTERVAL = 1
WAIT_LIMIT = 60  # seconds the test waits for the server to close everything, at most
IDLE_SOCKETS = 4000  # as many as the review left open, each holding a thread


def want_descriptors(n: int) -> int:
    """Raise this process's open-file limit towards ``n``; return how many sockets fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@pytest.fixture
def make_server(app):
    servers = []

    def make(**kw) -> LocalServer:
        server = LocalServer(app, **kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()


def client(server: LocalServer, **kw) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {server.token}"}, **kw)


def open_idle_sockets(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that never finish a request header: half send the start of
    one, half send nothing at all."""
    socks = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if i % 2:
            s.sendall(b"GET /api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    return socks


def wait_until_closed(socks: list[socket.socket], limit: float) -> tuple[int, float]:
    """Wait (at most ``limit`` seconds) until the server has closed every socket; return
    how many it closed and when the last one went."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    started, closed, last = time.monotonic(), 0, 0.0
    while closed < len(socks) and time.monotonic() - started < limit:
        for key, _ in sel.select(timeout=1):
            try:
                data = key.fileobj.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:  # EOF: the server closed it
                sel.unregister(key.fileobj)
                closed += 1
                last = time.monotonic() - started
    sel.close()
    return closed, last


def test_idle_sockets_are_closed_and_the_app_stays_responsive(make_server):
    fits = want_descriptors(2 * IDLE_SOCKETS + 200) >= 2 * IDLE_SOCKETS + 200
    if not fits and CI:  # CI must measure what was reported: 4,000 idle sockets
        pytest.fail(f"CI=true: the open-file limit is too low for {IDLE_SOCKETS} idle sockets "
                    f"and their server ends (raise the hard limit to {2 * IDLE_SOCKETS + 200})")
    count = IDLE_SOCKETS if fits else 1000
    server = make_server(idle_timeout=IDLE_TIMEOUT, header_timeout=HEADER_TIMEOUT,
                         cleanup_interval=CLEANUP_INTERVAL, connection_limit=count + 100)
    threads_before = threading.active_count()
    socks = open_idle_sockets(server.port, count)
    try:
        with client(server) as c:  # a real command while every idle socket is open
            assert c.post("/api/ping", json={"echo": "busy"}).json()["echo"] == "busy"
        assert threading.active_count() - threads_before < 10  # no thread per socket
        closed, last = wait_until_closed(socks, WAIT_LIMIT)
        print(f"\n{count} idle sockets closed by the server; the last {last:.1f} s after they "
              f"were all open (idle timeout {IDLE_TIMEOUT} s, header deadline "
              f"{HEADER_TIMEOUT} s, checked every {CLEANUP_INTERVAL} s)")
        assert closed == count
        with client(server) as c:
            assert c.post("/api/ping", json={"echo": "after"}).json()["echo"] == "after"
    finally:
        for s in socks:
            s.close()


def test_at_the_connection_limit_the_longest_idle_go_first(make_server):
    server = make_server(connection_limit=60, idle_timeout=300, header_timeout=300)
    socks = open_idle_sockets(server.port, 300)
    try:
        with client(server) as c:  # without the limit's eviction this would wait 300 s
            assert c.post("/api/ping", json={"echo": "in"}).json()["echo"] == "in"
        closed, _ = wait_until_closed(socks[:200], WAIT_LIMIT)
        assert closed == 200  # the oldest were closed to make room for the newer ones
    finally:
        for s in socks:
            s.close()


def test_a_header_trickled_byte_by_byte_is_cut_off(make_server):
    server = make_server(idle_timeout=300, header_timeout=HEADER_TIMEOUT,
                         cleanup_interval=CLEANUP_INTERVAL)
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        header = b"GET /api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
        cut_off = False
        for i in range(len(header)):
            try:
                s.sendall(header[i:i + 1])
                s.setblocking(False)
                try:
                    cut_off = s.recv(1) == b""
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
            if cut_off or i > 400:
                break
            time.sleep(0.1)
        assert cut_off, "the server kept a connection whose header never ended"
    finally:
        s.close()


def test_event_stream_outlives_the_idle_timeout(make_server, app):
    server = make_server(idle_timeout=1, cleanup_interval=1)
    with client(server) as c, c.stream("GET", "/api/events") as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith(":")
        time.sleep(3.5)  # several idle timeouts and clean-ups go by
        app.events.emit("issue_changed", {"issue_id": "still-here"})
        for line in lines:
            if line.startswith("data: "):
                assert json.loads(line[6:]) == {"issue_id": "still-here"}
                break


def test_event_streams_are_capped_and_cannot_take_every_thread(make_server):
    server = make_server(threads=4)  # at most 2 streams
    with contextlib.ExitStack() as stack:
        streams = []
        for _ in range(4):
            c = stack.enter_context(client(server))
            streams.append(stack.enter_context(c.stream("GET", "/api/events")))
        assert all(s.status_code == 200 for s in streams)
        # The two oldest streams were ended to make room: their responses finish.
        for s in streams[:2]:
            assert [line for line in s.iter_lines() if line] == [": connected"]
        with client(server) as c:
            assert c.post("/api/ping", json={"echo": "free"}).json()["echo"] == "free"


def test_a_large_body_without_the_token_is_refused_before_it_is_read(make_server):
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"POST /upload/log?issue_id=x HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                  "Content-Length: 1000000000\r\n\r\n".encode())
        answer = s.recv(4096)  # no body was sent: the answer cannot wait for one
    assert answer.startswith(b"HTTP/1.1 401 ")


def test_bodies_are_never_spooled_to_disk(make_server, make_issue, tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    opened = []
    real = tempfile.TemporaryFile

    def watching(*a, **kw):
        opened.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(tempfile, "TemporaryFile", watching)
    server = make_server()
    issue = make_issue()
    log = b"2026-03-01 12:00:00 INFO a line of an ordinary log\n" * 200_000  # 10 MB
    with client(server) as c:
        r = c.post("/upload/log", params={"issue_id": issue["id"], "filename": "big.log"},
                   content=log)
        assert r.status_code == 200, r.text
    assert opened == [] and list(spool.iterdir()) == []


# --- signed addresses ----------------------------------------------------------------------

def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def two_images(make_server, make_issue):
    server = make_server()
    issue = make_issue()
    with client(server) as c:
        found = []
        for color in ("red", "blue"):
            r = c.post("/upload/image", content=png(color), params={
                "issue_id": issue["id"], "filename": f"{color}.png", "is_paste": "0",
                "pii_warning_acknowledged": "1"})
            assert r.status_code == 200, r.text
            found.append(r.json()["image"])
    return server, found


def sign(server, *paths) -> dict:
    with client(server) as c:
        r = c.post("/api/sign_image_urls", json={"paths": list(paths)})
        assert r.status_code == 200, r.text
        return r.json()["urls"]


def test_a_signed_address_opens_its_resource_and_nothing_else(two_images):
    server, (a, b) = two_images
    urls = sign(server, a["thumbnail_url"], a["full_url"])
    bare = httpx.Client(base_url=server.base_url, timeout=30)  # no token, no cookie
    with bare:
        thumb = bare.get(urls[a["thumbnail_url"]])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        full = bare.get(urls[a["full_url"]])
        assert full.status_code == 200 and full.content == png("red")
        assert "set-cookie" not in thumb.headers and "set-cookie" not in full.headers

        signed = urls[a["full_url"]]
        query = signed.split("?", 1)[1]
        for other in (f"/images/{b['id']}?{query}",  # another image, same signature
                      f"/thumbnails/{a['id']}?{query}",  # another resource kind
                      signed.replace("exp=", "exp=9"),  # a later expiry
                      urls[a["thumbnail_url"]].replace("s=256", "s=512"),  # another size
                      a["full_url"], f"/api/events?{query}", f"/downloads/x?{query}"):
            assert bare.get(other).status_code == 401, other
        # No API power: the signature does not authorise a command or a POST.
        for path in (f"/api/ping?{query}", f"{signed}"):
            r = bare.post(path, json={})
            assert r.status_code in (401, 405), (path, r.status_code)
            assert r.status_code != 200


def test_a_signed_address_expires(two_images):
    server, (a, _b) = two_images
    server.signer.ttl = -1  # signed already expired
    url = sign(server, a["full_url"])[a["full_url"]]
    assert httpx.get(server.base_url + url, timeout=30).status_code == 401


def test_only_image_addresses_can_be_signed(two_images):
    server, (a, _b) = two_images
    with client(server) as c:
        for path in ("/api/get_settings", "/downloads/abc", "/index.html",
                     f"/images/{a['id']}/../../api/ping", f"/thumbnails/{a['id']}?s=99",
                     "https://example.com/x.png", f"/images/{a['id']}?x=1"):
            r = c.post("/api/sign_image_urls", json={"paths": [path]})
            assert r.status_code == 400, path
            assert r.json()["error"]["code"] == "invalid_argument"


def test_the_page_is_public_but_never_carries_the_token(make_server):
    server = make_server()
    with httpx.Client(base_url=server.base_url, timeout=30) as bare:
        for path in (f"/?token={server.token}", "/", "/app.js", "/lib/commands.js"):
            r = bare.get(path)
            assert r.status_code == 200, path
            assert "set-cookie" not in r.headers
            assert server.token not in r.text
        assert bare.post("/api/ping", json={}).status_code == 401
        assert bare.get("/api/events").status_code == 401
        # A rebound name never gets the page at all.
        assert bare.get("/", headers={"Host": "attacker.example"}).status_code == 421


def test_html_export_names_its_charset_once(make_server, make_issue):
    server = make_server()
    issue = make_issue()
    with client(server) as c:
        doc = c.post("/api/generate_rca", json={"issue_id": issue["id"]}).json()
        result = c.post("/api/export_document", json={"document_id": doc["id"],
                                                      "format": "html"}).json()
        assert "sig=" in result["url"]
        r = httpx.get(server.base_url + result["url"], timeout=30)  # the signature suffices
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert os.path.splitext(result["filename"])[1] == ".html"
