"""Window geometry persistence and the window's URL rules, against a real database.

These need no display; the real window is exercised in test_window.py.
"""

from __future__ import annotations

from tftsr.desktop import GEOMETRY_KEY, MIN_SIZE, GeometrySaver, _load_geometry, is_app_url
from tftsr.settings.store import get_value, set_value


def stored(app):
    with app.db.connection() as conn:
        return get_value(conn, GEOMETRY_KEY)


def store(app, value):
    with app.db.transaction() as conn:
        set_value(conn, GEOMETRY_KEY, value, internal=True)


def test_saver_debounces_and_flush_writes_the_latest_state(app):
    saver = GeometrySaver(app, {}, delay=60)
    saver.update(width=1000, height=700)
    saver.update(x=10, y=20)
    assert stored(app) is None  # still waiting for quiet
    saver.flush()
    assert stored(app) == {"width": 1000, "height": 700, "x": 10, "y": 20}
    assert _load_geometry(app) == {"width": 1000, "height": 700, "x": 10, "y": 20}


def test_saver_keeps_the_normal_geometry_while_maximized(app):
    saver = GeometrySaver(app, {"width": 1000, "height": 700, "x": 5, "y": 5}, delay=60)
    saver.update(maximized=True)
    saver.update(width=1600, height=1000)
    saver.update(x=0, y=0)
    saver.flush()
    assert stored(app) == {"width": 1000, "height": 700, "x": 5, "y": 5, "maximized": True}
    assert _load_geometry(app)["maximized"] is True


def test_load_geometry_drops_what_it_cannot_trust(app):
    assert _load_geometry(app) == {}
    store(app, {"width": MIN_SIZE[0] - 1, "height": 900, "x": 40, "y": 30})
    assert _load_geometry(app) == {"x": 40, "y": 30}
    store(app, {"width": "1200", "height": True, "x": 99999, "y": 12})
    assert _load_geometry(app) == {}
    store(app, ["not", "a", "dict"])
    assert _load_geometry(app) == {}


def test_app_url_means_same_scheme_host_and_port():
    base = "http://127.0.0.1:5123"
    assert is_app_url("http://127.0.0.1:5123/?token=x&mode=desktop", base)
    assert is_app_url("http://127.0.0.1:5123/screens/issue.js", base)
    assert not is_app_url("http://127.0.0.1:5124/", base)
    assert not is_app_url("https://127.0.0.1:5123/", base)
    assert not is_app_url("http://localhost:5123/", base)
    assert not is_app_url("http://127.0.0.1:5123@evil.example/", base)
    assert not is_app_url("file:///etc/passwd", base)
    assert not is_app_url("about:blank", base)
