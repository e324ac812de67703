"""A CI run cannot pass by skipping.

Each case runs pytest itself, in a subprocess, the way CI runs it (``CI=true``) and the way
a developer does (no ``CI``), with a part the tests need taken away: the browser for the
browser tests, Xvfb for the desktop-window tests. Under CI the run must fail and say what
is missing; without CI the same tests skip loudly. The rule itself (tests/conftest.py
turns every skip into a failure under CI unless its reason is on the reviewed list of
"does not apply" reasons) is checked on a small generated test file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import NOT_APPLICABLE_SKIPS, ROOT

BROWSER_TEST = ("tests/e2e/test_session_token.py::"
                "test_the_token_leaves_the_address_bar_and_a_reload_keeps_working")
DESKTOP_TEST = ("tests/desktop/test_bridge_window.py::"
                "test_page_javascript_cannot_walk_or_steer_the_bridge")


def run_pytest(args: list[str], *, ci: bool, **env_changes: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
                        "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST")}
    if ci:
        env["CI"] = "true"
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)


def outcome(result: subprocess.CompletedProcess) -> str:
    return result.stdout[-3000:] + result.stderr[-2000:]


def test_a_ci_run_without_a_browser_fails(tmp_path):
    missing = str(tmp_path / "no-such-chromium")
    ci = run_pytest([BROWSER_TEST], ci=True, TFTSR_CHROMIUM=missing)
    assert ci.returncode == 1, outcome(ci)
    assert "CI=true and a required part is missing: no Chromium" in ci.stdout, outcome(ci)
    assert " passed" not in ci.stdout.splitlines()[-1], outcome(ci)

    local = run_pytest([BROWSER_TEST], ci=False, TFTSR_CHROMIUM=missing)
    assert local.returncode == 0, outcome(local)
    assert "SKIPPED, NOT PASSED: no Chromium" in local.stdout, outcome(local)


def test_a_ci_run_without_a_display_server_fails(tmp_path):
    empty_path = tmp_path / "bin"  # PATH with no Xvfb (nor anything else) on it
    empty_path.mkdir()
    ci = run_pytest([DESKTOP_TEST], ci=True, PATH=str(empty_path))
    assert ci.returncode == 1, outcome(ci)
    assert "CI=true and a required part is missing: `Xvfb` is not installed" in ci.stdout, \
        outcome(ci)

    local = run_pytest([DESKTOP_TEST], ci=False, PATH=str(empty_path))
    assert local.returncode == 0, outcome(local)
    assert "SKIPPED, NOT PASSED: `Xvfb` is not installed" in local.stdout, outcome(local)


def test_under_ci_only_reviewed_not_applicable_skips_stay_skips(tmp_path: Path):
    allowed = NOT_APPLICABLE_SKIPS[0]
    tests = tmp_path / "test_generated.py"
    tests.write_text(textwrap.dedent(f"""
        import pytest

        def test_skips_in_the_body_for_a_missing_tool():
            pytest.skip("pdftotext is not installed")

        @pytest.mark.skipif(True, reason="no display here")
        def test_skipped_by_a_marker():
            pass

        def test_skips_because_the_case_does_not_apply():
            pytest.skip({allowed!r})

        def test_passes():
            pass
    """), encoding="utf-8")
    # tests/conftest.py is loaded as a plugin: it holds the rule under test.
    args = ["-p", "tests.conftest", "-c", os.devnull, "--rootdir", str(tmp_path), str(tests)]

    ci = run_pytest(args, ci=True)
    assert ci.returncode == 1, outcome(ci)
    summary = ci.stdout.splitlines()[-1]
    assert summary.startswith("1 failed, 1 passed, 1 skipped, 1 error"), outcome(ci)
    # A skip in the body fails the test; a skipif marker fails its set-up (an error).
    converted = [line for line in ci.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert len(converted) == 2, outcome(ci)
    for line, name in zip(converted, ("test_skips_in_the_body_for_a_missing_tool",
                                      "test_skipped_by_a_marker")):
        assert f"::{name} - CI=true: this test would have been skipped" in line, outcome(ci)
    skipped = [line for line in ci.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and skipped[0].endswith(f": {allowed}"), outcome(ci)

    local = run_pytest(args, ci=False)
    assert local.returncode == 0, outcome(local)
    assert "1 passed, 3 skipped" in local.stdout.splitlines()[-1], outcome(local)
