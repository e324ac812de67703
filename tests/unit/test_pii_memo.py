"""What the finders remember during a scan is forgotten when the scan ends."""

import importlib
import pkgutil

import pytest
import tftsr.pii
from tftsr.pii import assignments, detect_pii, engine, memo, validators

TEXT = ("2026-03-01 login user=alice@corp-mail.example.com from db-07.prod.internal "
        "password=Hunter2Secret! token=s3cr3tV4lu3xyz fe80::1ff:fe23:4567:890a\n") * 3


def remembered_strings() -> list[str]:
    """Every string held in a memo table, keys and answers alike."""
    out = []

    def walk(item):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, tuple):
            for part in item:
                walk(part)

    for table in memo._tables:
        for key, value in table.items():
            walk(key)
            walk(value)
    return out


def test_the_finders_remember_values_while_they_read():
    memo.forget()
    out: list = []
    assignments.find_assignments(TEXT, TEXT.lower(), out)
    validators.valid_hostname("db-07.prod.internal")
    assert memo.remembered() > 0
    assert any("Hunter2Secret!" in s for s in remembered_strings())
    memo.forget()


def test_nothing_read_from_a_text_stays_after_its_scan():
    found = {(s.pii_type, s.original) for s in detect_pii(TEXT)}
    assert ("Password", "Hunter2Secret!") in found and ("Hostname", "db-07.prod.internal") in found
    assert memo.remembered() == 0
    assert not [s for s in remembered_strings() if "Hunter2" in s or "prod.internal" in s]


def test_a_scan_that_fails_forgets_too(monkeypatch):
    def fail(*args):
        raise RuntimeError("a finder failed")

    monkeypatch.setattr(engine, "FINDERS", (*engine.FINDERS, fail))
    with pytest.raises(RuntimeError):
        detect_pii(TEXT)
    assert memo.remembered() == 0


def test_no_table_of_the_detector_holds_a_value_after_a_scan():
    """Not only the memo tables: every dictionary a module of ``tftsr.pii`` keeps
    (a table added without ``memo.table()`` would outlive the scan)."""
    detect_pii(TEXT)
    modules = [importlib.import_module(f"tftsr.pii.{info.name}") for info in pkgutil.iter_modules(tftsr.pii.__path__)]
    assert len(modules) >= 10
    held = []
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, dict):
                strings = []
                for key, item in value.items():
                    strings += [s for s in (key, item) if isinstance(s, str)]
                    strings += [s for part in (key, item) if isinstance(part, tuple) for s in part
                                if isinstance(s, str)]
                held += [f"{module.__name__}.{name}" for s in strings if "Hunter2" in s or "prod.internal" in s
                         or "corp-mail" in s or "fe80::" in s]
    assert held == []
