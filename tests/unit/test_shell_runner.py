"""The shell runner with real subprocesses: exact command string, process-group kills on
timeout and cancel (grandchildren included), head/tail output cap, clean environment."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest
from tftsr.shell.runner import clean_environment, human_size, run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX process groups")


def marker() -> str:
    """A sleep duration no other process on the machine uses, to find stragglers."""
    return f"{random.randint(300, 399)}.{random.randint(100000, 999999)}"


def survivors(mark: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if mark in cmdline and state != b"Z":
            found.append(f"{entry}: {cmdline}")
    return found


def group_gone(pgid: int) -> bool:
    """No running (non-zombie) process left in the group; killed orphans may linger as
    zombies until PID 1 reaps them."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return False
    return True


def test_runs_exactly_the_string_given():
    r = run("""printf '%s|' "a b" 'c;d' $((1+2)); echo; echo err >&2; exit 3""")
    assert r.stdout == "a b|c;d|3|\n"
    assert r.stderr == "err\n"
    assert r.exit_code == 3
    assert not r.timed_out and not r.cancelled and r.message is None
    assert r.output_bytes == len(b"a b|c;d|3|\n") + len(b"err\n")
    assert r.duration_ms >= 0
    assert r.to_dict()["exit_code"] == 3


def test_output_hash_covers_every_byte():
    r = run("printf 'hello\\n'")
    assert r.output_sha256 == hashlib.sha256(b"hello\n").hexdigest()


def test_stdin_is_empty_and_bytes_are_decoded_with_replacement():
    r = run("cat; printf 'ok\\377\\376\\n'", timeout=10)
    assert r.exit_code == 0
    assert r.stdout.startswith("ok") and "\ufffd" in r.stdout


def test_missing_command_gets_a_clear_message():
    r = run("definitely-not-a-command-9f3 --flag")
    assert r.exit_code == 127
    assert r.message == ("The program `definitely-not-a-command-9f3` is not installed on this "
                         "machine (or not on the PATH).")
    r = run("kubectl get pods", env_extra={"PATH": "/nonexistent"})
    assert r.exit_code == 127
    assert "kubectl is not installed" in r.message


def test_timeout_kills_the_whole_process_group_grandchildren_included():
    mark = marker()
    started = time.monotonic()
    r = run(f"echo $$; sleep {mark} & sleep {mark}; wait", timeout=1)
    assert time.monotonic() - started < 10
    assert r.timed_out and r.exit_code is None
    assert r.message == "The command was stopped after 1 seconds (time limit)."
    pgid = int(r.stdout.split()[0])
    time.sleep(0.2)
    assert group_gone(pgid)
    assert survivors(mark) == []


def test_a_grandchild_that_ignores_sigterm_is_killed_too():
    mark = marker()
    r = run(f"echo $$; bash -c 'trap \"\" TERM; sleep {mark}' & wait", timeout=1)
    assert r.timed_out
    pgid = int(r.stdout.split()[0])
    time.sleep(0.2)
    assert group_gone(pgid)
    assert survivors(mark) == []


def test_background_leftovers_do_not_outlive_a_finished_command():
    mark = marker()
    started = time.monotonic()
    r = run(f"sleep {mark} & echo done", timeout=20)
    assert time.monotonic() - started < 10
    assert r.exit_code == 0 and r.stdout == "done\n" and not r.timed_out
    time.sleep(0.2)
    assert survivors(mark) == []


@pytest.mark.parametrize("kind", ["event", "attribute"])
def test_cancel_stops_the_group(kind):
    mark = marker()

    class Flag:
        cancelled = False

    token = threading.Event() if kind == "event" else Flag()

    def stop():
        time.sleep(0.5)
        if kind == "event":
            token.set()
        else:
            token.cancelled = True

    threading.Thread(target=stop, daemon=True).start()
    started = time.monotonic()
    r = run(f"echo $$; sleep {mark} & sleep {mark}; wait", timeout=60, cancel=token)
    assert time.monotonic() - started < 15
    assert r.cancelled and not r.timed_out and r.exit_code is None
    assert r.message == "The command was stopped on request."
    time.sleep(0.2)
    assert group_gone(int(r.stdout.split()[0]))
    assert survivors(mark) == []


def test_output_cap_keeps_head_and_tail_and_says_what_was_cut():
    r = run("seq 1 300000", max_output=64 * 1024)
    full = "".join(f"{i}\n" for i in range(1, 300001)).encode()
    assert r.stdout_truncated and not r.stderr_truncated
    assert r.stdout.startswith("1\n2\n3\n")
    assert r.stdout.endswith("299999\n300000\n")
    cut = len(full) - 64 * 1024
    assert f"\n… {human_size(cut)} cut from the middle …\n" in r.stdout
    assert human_size(cut).endswith("MB")
    assert len(r.stdout.encode()) < 64 * 1024 + 200
    assert r.output_bytes == len(full)
    assert r.output_sha256 == hashlib.sha256(full).hexdigest()


def test_both_pipes_full_at_once_do_not_deadlock():
    r = run("seq 1 200000 >&2; seq 1 200000; seq 1 100000 >&2", timeout=30,
            max_output=16 * 1024)
    assert r.exit_code == 0 and not r.timed_out
    assert r.stdout_truncated and r.stderr_truncated
    assert r.stderr.endswith("100000\n")


def test_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("TFTSR_DB_KEY", "db-key-should-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak-123456")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-nope")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    monkeypatch.setenv("PYTHONPATH", "/tmp/evil")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/tmp/evil")
    monkeypatch.setenv("BASH_ENV", "/tmp/evil.sh")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    r = run("env", env_extra={"KUBECONFIG": "/tmp/kc/config"})
    names = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    for secret in ("TFTSR_DB_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                   "AWS_SECRET_ACCESS_KEY", "PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD",
                   "BASH_ENV"):
        assert secret not in names, secret
    assert "should-not-leak" not in r.stdout and "sk-ant" not in r.stdout
    assert names["TERM"] == "dumb"
    assert names["KUBECONFIG"] == "/tmp/kc/config"
    assert names["LANG"] == "C.UTF-8" and names["LC_ALL"] == "C.UTF-8"
    assert "PATH" in names


def test_ld_preload_in_the_parent_does_not_reach_the_command(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/preload.so")
    r = run("echo ${LD_PRELOAD:-unset}")
    assert r.stdout == "unset\n"
    assert "preload" not in r.stderr


def test_kubeconfig_only_when_given(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/home/someone/.kube/config")
    assert "KUBECONFIG" not in clean_environment()
    assert run("echo ${KUBECONFIG:-none}").stdout == "none\n"


@pytest.mark.parametrize("name", ["LD_PRELOAD", "TFTSR_DB_KEY", "PYTHONPATH", "BASH_ENV",
                                  "BASH_FUNC_x%%", "PROMPT_COMMAND"])
def test_dangerous_extra_variables_are_refused(name):
    with pytest.raises(ValueError):
        run("true", env_extra={name: "x"})


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b"])
def test_bad_commands_are_refused(bad):
    with pytest.raises(ValueError):
        run(bad)
