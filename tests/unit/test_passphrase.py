"""Passphrase mode on real SQLCipher files: the key derived with scrypt from a passphrase
and the salt file beside the database, wrong passphrases refused without touching a
byte, re-keying through a verified copy (switch on, change, switch off), and starts after
a switch that was interrupted.

The salt file of each test database is written first with a small scrypt cost so the
tests stay fast; the production cost (N = 2**16) is what a new salt file gets otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from tftsr import config
from tftsr import passphrase as pp
from tftsr.app import open_app
from tftsr.commands import dispatch, load_all
from tftsr.config import Unlock
from tftsr.errors import InvalidArgument, InvalidState
from tftsr.secrets import decrypt_secret, encrypt_secret

from tests.conftest import TEST_KEY

load_all()

FAST_N = 2**10
FIRST = "correct horse battery"
SECOND = "staple tangerine 88"


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in the folder with its SHA-256 (the logs aside, which record the refusal)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "logs" not in p.parts}


def fast_salt(data_dir: Path) -> pp.KdfParams:
    params = pp.KdfParams.new(n=FAST_N)
    pp.write_params(data_dir / config.DB_FILENAME, params)
    return params


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No key source but what each test sets: no keyring, and a TFTSR_DB_KEY that a
    passphrase-mode folder must ignore."""
    monkeypatch.setenv("TFTSR_NO_KEYRING", "1")
    monkeypatch.setenv("TFTSR_DB_KEY", TEST_KEY)
    monkeypatch.delenv("TFTSR_DATA_DIR", raising=False)
    return tmp_path


def portable_app(data_dir: Path, passphrase: str = FIRST, **unlock):
    return open_app(data_dir, unlock=Unlock(portable=True, passphrase=passphrase, **unlock))


# --- the key ------------------------------------------------------------------------------

def test_the_key_is_scrypt_of_passphrase_and_salt_as_a_raw_sqlcipher_key():
    params = pp.KdfParams(salt=bytes(range(16)), n=FAST_N)
    key = pp.derive_key(FIRST, params)
    assert key.startswith("x'") and key.endswith("'") and len(key) == 67
    int(key[2:-1], 16)
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    expected = Scrypt(salt=params.salt, length=32, n=FAST_N, r=8, p=1).derive(FIRST.encode())
    assert key == "x'" + expected.hex() + "'"
    assert pp.derive_key(FIRST, params) == key
    assert pp.derive_key(SECOND, params) != key
    assert pp.derive_key(FIRST, pp.KdfParams(salt=bytes(16), n=FAST_N)) != key


def test_new_salt_files_use_the_production_cost_and_are_not_secret_but_private(tmp_path):
    params = pp.KdfParams.new()
    assert (params.n, params.r, params.p) == (2**16, 8, 1) and len(params.salt) == 16
    path = pp.write_params(tmp_path / "tftsr.db", params)
    assert path.name == "tftsr.db.salt"
    data = json.loads(path.read_text())
    assert data == {"format": "tftsr-passphrase-v1", "kdf": "scrypt", "n": 2**16, "r": 8,
                    "p": 1, "salt": params.salt.hex()}
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0
    assert pp.read_params(tmp_path / "tftsr.db") == params


@pytest.mark.parametrize("text", ["{", "[]", '{"format": "other"}',
                                  '{"format": "tftsr-passphrase-v1", "kdf": "scrypt", "n": 3, '
                                  '"r": 8, "p": 1, "salt": "00112233445566778899aabbccddeeff"}'])
def test_a_damaged_salt_file_is_explained(tmp_path, text):
    (tmp_path / "tftsr.db.salt").write_text(text)
    with pytest.raises(pp.PassphraseError) as caught:
        pp.read_params(tmp_path / "tftsr.db")
    assert "salt file" in caught.value.message and "nothing was changed" in caught.value.message


# --- portable mode: always a passphrase -----------------------------------------------------

def test_portable_first_start_creates_the_database_with_a_passphrase_and_no_key_file(env):
    data_dir = env / "stick" / "data"
    app = portable_app(data_dir)
    try:
        assert app.key.source == "passphrase" and app.extras["portable"] is True
        assert "never stored" in app.key.detail
        dispatch(app, "create_issue", {"title": "Disk full", "severity": "high",
                                       "category": "linux"})
    finally:
        app.close()
    names = sorted(p.name for p in data_dir.iterdir())
    assert "tftsr.db.salt" in names and "db.key" not in names
    db_path = data_dir / "tftsr.db"
    params = pp.read_params(db_path)
    assert pp.key_opens(db_path, pp.derive_key(FIRST, params))
    assert not pp.key_opens(db_path, TEST_KEY), "TFTSR_DB_KEY from the host must be ignored"
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"correct horse" not in path.read_bytes(), f"the passphrase is in {path}"


def test_a_wrong_passphrase_changes_no_byte_and_says_it_was_the_passphrase(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    portable_app(data_dir).close()
    before = fingerprint(data_dir)
    with pytest.raises(pp.WrongPassphrase) as caught:
        portable_app(data_dir, passphrase="not the passphrase")
    assert caught.value.message.startswith("The passphrase is wrong")
    assert "Nothing was changed" in caught.value.message
    assert fingerprint(data_dir) == before


def test_the_window_or_terminal_is_asked_again_after_a_wrong_passphrase(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    portable_app(data_dir).close()
    asked = []

    def ask(new, error):
        asked.append((new, error))
        return "wrong guess!" if len(asked) == 1 else FIRST

    app = open_app(data_dir, unlock=Unlock(portable=True, ask=ask))
    app.close()
    assert asked[0] == (False, None)
    assert asked[1][0] is False and "wrong" in asked[1][1].lower()


def test_giving_up_or_no_way_to_ask_refuses_without_changes(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    portable_app(data_dir).close()
    before = fingerprint(data_dir)
    with pytest.raises(pp.PassphraseError, match="No passphrase was given"):
        open_app(data_dir, unlock=Unlock(portable=True, ask=lambda new, error: None))
    with pytest.raises(pp.PassphraseError, match="TFTSR_PASSPHRASE"):
        open_app(data_dir, unlock=Unlock(portable=True))
    with pytest.raises(pp.WrongPassphrase):
        open_app(data_dir, unlock=Unlock(portable=True, ask=lambda new, error: "always wrong"))
    assert fingerprint(data_dir) == before


def test_a_new_passphrase_must_be_long_enough(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    with pytest.raises(pp.PassphraseError, match="at least 8 characters"):
        portable_app(data_dir, passphrase="short")
    assert not (data_dir / "tftsr.db").exists()
    answers = iter(["short", FIRST])
    errors = []

    def ask(new, error):
        errors.append(error)
        return next(answers)

    open_app(data_dir, unlock=Unlock(portable=True, ask=ask)).close()
    assert errors[0] is None and "at least 8" in errors[1]


def test_a_database_without_its_salt_file_is_refused(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    portable_app(data_dir).close()
    (data_dir / "tftsr.db.salt").unlink()
    before = fingerprint(data_dir)
    with pytest.raises(pp.PassphraseError, match="no passphrase salt file"):
        portable_app(data_dir)
    assert fingerprint(data_dir) == before


# --- the installed app: switching on, changing, switching off ------------------------------

@pytest.fixture
def installed(env, monkeypatch):
    """An installed app in key mode (a key file), with a secret and a pseudonym stored."""
    monkeypatch.delenv("TFTSR_DB_KEY")
    monkeypatch.setattr(pp.KdfParams.new.__func__, "__defaults__", (FAST_N,))
    data_dir = env / "data"
    app = open_app(data_dir)
    assert app.key.source == "file"
    issue = dispatch(app, "create_issue", {"title": "Checkout 502", "severity": "high",
                                           "category": "application"})["issue"]
    sealed = encrypt_secret(app, "sk-live-secret-value-1234")
    yield app, data_dir, sealed, issue["id"]
    app.close()  # tests that close it themselves leave nothing open: closing twice is fine


def assert_opens_with_the_stored_key(data_dir: Path, sealed: str) -> None:
    again = open_app(data_dir)
    try:
        assert again.key.source == "file"
        assert decrypt_secret(again, sealed) == "sk-live-secret-value-1234"
    finally:
        again.close()


def _pseudonym_key(app) -> bytes:
    from tftsr.egress import pseudonyms

    app.extras.pop("pseudonym_mac_key", None)
    return pseudonyms._mac_key(app)


def test_switching_on_rekeys_keeps_secrets_and_removes_the_key_file(installed):
    app, data_dir, sealed, issue_id = installed
    mac_before, root = _pseudonym_key(app), app.key.value
    status = dispatch(app, "enable_passphrase", {"passphrase": FIRST})
    assert status["enabled"] is True and status["key_source"] == "passphrase"
    assert not (data_dir / "db.key").exists()
    db_path = data_dir / "tftsr.db"
    assert not pp.key_opens(db_path, root)
    assert pp.key_opens(db_path, pp.derive_key(FIRST, pp.read_params(db_path)))
    # Secrets and pseudonyms were derived from the first key: still readable, still stable.
    assert decrypt_secret(app, sealed) == "sk-live-secret-value-1234"
    assert _pseudonym_key(app) == mac_before
    assert dispatch(app, "get_issue", {"issue_id": issue_id})["issue"]["title"] == "Checkout 502"
    actions = [e["action"] for e in dispatch(app, "get_audit_log", {})["items"]]
    assert "passphrase_enabled" in actions
    app.close()

    # A new start needs the passphrase, and finds the same derived keys.
    with pytest.raises(pp.PassphraseError):
        open_app(data_dir)
    again = open_app(data_dir, unlock=Unlock(passphrase=FIRST))
    try:
        assert again.key.value == root and again.key.sqlcipher != root
        assert decrypt_secret(again, sealed) == "sk-live-secret-value-1234"
        assert _pseudonym_key(again) == mac_before
    finally:
        again.close()


def test_changing_the_passphrase_round_trip(installed):
    app, data_dir, sealed, issue_id = installed
    dispatch(app, "enable_passphrase", {"passphrase": FIRST})
    db_path = data_dir / "tftsr.db"
    salt_before = (data_dir / "tftsr.db.salt").read_bytes()

    before = fingerprint(data_dir)
    with pytest.raises(InvalidArgument, match="current passphrase is wrong"):
        dispatch(app, "change_passphrase", {"current": "not it at all", "new": SECOND})
    with pytest.raises(InvalidArgument, match="at least 8"):
        dispatch(app, "change_passphrase", {"current": FIRST, "new": "short"})
    assert fingerprint(data_dir) == before

    dispatch(app, "change_passphrase", {"current": FIRST, "new": SECOND})
    params = pp.read_params(db_path)
    assert (data_dir / "tftsr.db.salt").read_bytes() == salt_before
    assert pp.key_opens(db_path, pp.derive_key(SECOND, params))
    assert not pp.key_opens(db_path, pp.derive_key(FIRST, params))
    dispatch(app, "create_issue", {"title": "After the change", "severity": "low",
                                   "category": "linux"})

    dispatch(app, "change_passphrase", {"current": SECOND, "new": FIRST})
    app.close()
    with pytest.raises(pp.WrongPassphrase):
        open_app(data_dir, unlock=Unlock(passphrase=SECOND))
    again = open_app(data_dir, unlock=Unlock(passphrase=FIRST))
    try:
        titles = {i["title"] for i in dispatch(again, "list_issues", {})["items"]}
        assert {"Checkout 502", "After the change"} <= titles
        assert decrypt_secret(again, sealed) == "sk-live-secret-value-1234"
        result = dispatch(again, "verify_audit", {})
        assert result["ok"], result
    finally:
        again.close()


def test_switching_off_goes_back_to_a_stored_key(installed):
    app, data_dir, sealed, _ = installed
    dispatch(app, "enable_passphrase", {"passphrase": FIRST})
    with pytest.raises(InvalidArgument):
        dispatch(app, "disable_passphrase", {"current": SECOND})
    status = dispatch(app, "disable_passphrase", {"current": FIRST})
    assert status["enabled"] is False and status["key_source"] == "file"
    assert not (data_dir / "tftsr.db.salt").exists() and (data_dir / "db.key").exists()
    app.close()
    assert_opens_with_the_stored_key(data_dir, sealed)


def test_portable_mode_cannot_be_switched_off_and_enabling_twice_is_refused(env):
    data_dir = env / "data"
    fast_salt(data_dir)
    app = portable_app(data_dir)
    try:
        assert dispatch(app, "get_passphrase_status", {})["can_switch_off"] is False
        with pytest.raises(InvalidState, match="portable"):
            dispatch(app, "disable_passphrase", {"current": FIRST})
        with pytest.raises(InvalidState, match="already on"):
            dispatch(app, "enable_passphrase", {"passphrase": SECOND})
    finally:
        app.close()


@pytest.fixture
def recording_keyring(monkeypatch):
    """A working OS keyring (TFTSR_NO_KEYRING unset) that records every call made to it."""
    import keyring
    from keyring.backend import KeyringBackend

    class Recording(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.calls, self.stored = [], {}

        def get_password(self, service, username):
            self.calls.append(("get", service))
            return self.stored.get((service, username))

        def set_password(self, service, username, password):
            self.calls.append(("set", service))
            self.stored[(service, username)] = password

        def delete_password(self, service, username):
            self.calls.append(("delete", service))
            self.stored.pop((service, username), None)

    monkeypatch.delenv("TFTSR_NO_KEYRING", raising=False)
    previous = keyring.get_keyring()
    ring = Recording()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def test_a_portable_folder_never_asks_the_os_keyring(env, recording_keyring, monkeypatch):
    """First start, a later start and a passphrase change in portable mode make no call to
    a working OS keyring; an installed app next to it does use that keyring."""
    data_dir = env / "stick" / "data"
    fast_salt(data_dir)
    portable_app(data_dir).close()
    app = portable_app(data_dir)
    try:
        dispatch(app, "change_passphrase", {"current": FIRST, "new": SECOND})
    finally:
        app.close()
    portable_app(data_dir, SECOND).close()
    assert recording_keyring.calls == []
    monkeypatch.delenv("TFTSR_DB_KEY")
    open_app(env / "installed").close()
    assert ("set", config.KEYRING_SERVICE) in recording_keyring.calls, recording_keyring.calls


def test_a_failed_rekey_leaves_the_database_unchanged_and_usable(installed):
    app, data_dir, sealed, issue_id = installed
    before_key = app.key

    def crash():
        raise OSError(28, "No space left on device")

    with app.db.exclusive() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = fingerprint(data_dir)
    new_key = config.DbKey(app.key.value, "passphrase", "test", cipher="x'" + "ab" * 32 + "'")
    with pytest.raises(pp.PassphraseError, match="database was not changed|not changed"):
        pp.rekey_app(app, new_key, before_commit=crash)
    assert fingerprint(data_dir) == before
    assert not list(data_dir.glob("*.rekey*"))
    assert app.key is before_key
    assert dispatch(app, "get_issue", {"issue_id": issue_id})["issue"]["id"] == issue_id


# --- a switch interrupted by a crash -------------------------------------------------------

def test_salt_file_of_an_unfinished_switch_on_is_dropped_when_the_old_key_still_opens(installed):
    """The salt file is written just before the re-keyed copy replaces the database: a
    crash between the two leaves the old key file, which still opens the database."""
    app, data_dir, sealed, _ = installed
    app.close()
    fast_salt(data_dir)
    assert_opens_with_the_stored_key(data_dir, sealed)
    assert not (data_dir / "tftsr.db.salt").exists()


def test_an_unfinished_switch_off_is_finished_at_the_next_start(installed):
    """Switching off replaces the database, then removes the salt file: a crash between the
    two leaves a salt file beside a database the stored key opens."""
    app, data_dir, sealed, _ = installed
    dispatch(app, "enable_passphrase", {"passphrase": FIRST})
    salt = (data_dir / "tftsr.db.salt").read_bytes()
    dispatch(app, "disable_passphrase", {"current": FIRST})
    app.close()
    (data_dir / "tftsr.db.salt").write_bytes(salt)  # as if the crash came before its removal
    assert_opens_with_the_stored_key(data_dir, sealed)
    assert not (data_dir / "tftsr.db.salt").exists()


def test_passphrases_never_reach_the_log(installed):
    app, data_dir, _, _ = installed
    from tftsr import logs

    logs.configure(data_dir, debug=True)
    dispatch(app, "enable_passphrase", {"passphrase": FIRST})
    dispatch(app, "change_passphrase", {"current": FIRST, "new": SECOND})
    with pytest.raises(InvalidArgument):
        dispatch(app, "change_passphrase", {"current": "wrong guess here", "new": FIRST})
    text = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*.log*"))
    for secret in (FIRST, SECOND, "wrong guess here", app.key.sqlcipher[2:-1]):
        assert secret not in text
    audit = json.dumps(dispatch(app, "get_audit_log", {}))
    assert FIRST not in audit and SECOND not in audit
