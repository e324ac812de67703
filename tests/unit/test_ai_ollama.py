"""Ollama management against a loopback Ollama, and hardware detection with a real
``nvidia-smi`` stand-in on PATH."""

from __future__ import annotations

import os
import socket
import stat

import pytest
from tftsr.ai import ollama_admin
from tftsr.errors import TftsrError

from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.helpers import EventLog, make_fast


@pytest.fixture
def ollama(app):
    make_fast(app)
    fake = FakeOllama(models=("llama3.1:8b", "qwen2.5:7b")).start()
    yield fake
    fake.stop()


def test_status_and_models(call, ollama):
    status = call("ollama_status", base_url=ollama.base_url)
    assert status["reachable"] is True and status["version"] == "0.6.2"
    models = call("ollama_list_models", base_url=ollama.base_url)["models"]
    assert [m["name"] for m in models] == ["llama3.1:8b", "qwen2.5:7b"]
    assert models[0]["quantization"] == "Q4_K_M" and models[0]["size_bytes"] == 4_920_000_000


def test_status_uses_the_configured_ollama_provider(call, ollama):
    call("add_ai_provider", name="Local", kind="ollama", base_url=ollama.base_url, model="llama3.1:8b")
    assert call("ollama_status")["base_url"] == ollama.base_url


def test_not_running_is_said_plainly(call, app):
    make_fast(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = call("ollama_status", base_url=f"http://127.0.0.1:{port}")
    assert status["reachable"] is False
    assert status["message"].startswith(f"Ollama is not running at http://127.0.0.1:{port}")
    listed = call("ollama_list_models", base_url=f"http://127.0.0.1:{port}")
    assert (listed["reachable"], listed["models"]) == (False, [])
    assert listed["message"].startswith("Ollama is not running")


def test_pull_reports_progress_from_the_stream(app, call, ollama):
    events = EventLog(app)
    pull = call("ollama_pull_model", model="mistral:7b", base_url=ollama.base_url)
    done = events.wait("ollama_pull_progress", pull_id=pull["pull_id"], done=True)
    assert done["status"] == "success" and done["error"] is None
    progress = events.named("ollama_pull_progress", pull_id=pull["pull_id"])
    assert [p["percent"] for p in progress if p["percent"] is not None] == [25.0, 50.0, 75.0, 100.0]
    assert progress[0]["status"] == "pulling manifest"
    assert "mistral:7b" in [m["name"] for m in call("ollama_list_models", base_url=ollama.base_url)["models"]]
    events.close()


def test_a_failed_pull_says_why(app, call, ollama):
    events = EventLog(app)
    pull = call("ollama_pull_model", model="no-such-model", base_url=ollama.base_url)
    done = events.wait("ollama_pull_progress", pull_id=pull["pull_id"], done=True)
    assert done["error"]["code"] == "ai_server_error"
    assert "file does not exist" in done["error"]["message"]
    events.close()


def test_a_pull_can_be_cancelled(app, call, ollama):
    events = EventLog(app)
    ollama.push_failure("stall")
    pull = call("ollama_pull_model", model="qwen2.5:14b", base_url=ollama.base_url)
    events.wait("ollama_pull_progress", pull_id=pull["pull_id"], status="pulling abc123")
    assert call("ollama_cancel_pull", pull_id=pull["pull_id"]) == {"cancelled": True}
    done = events.wait("ollama_pull_progress", pull_id=pull["pull_id"], done=True, timeout=10)
    assert done["status"] == "cancelled"
    events.close()


def test_delete_model(call, ollama):
    assert call("ollama_delete_model", model="qwen2.5:7b", base_url=ollama.base_url) == {"deleted": True}
    assert [m["name"] for m in call("ollama_list_models", base_url=ollama.base_url)["models"]] == ["llama3.1:8b"]
    with pytest.raises(TftsrError) as err:
        call("ollama_delete_model", model="qwen2.5:7b", base_url=ollama.base_url)
    assert err.value.code == "not_found"


def test_model_names_are_validated(call):
    with pytest.raises(TftsrError) as err:
        call("ollama_pull_model", model="../../etc; rm -rf")
    assert err.value.code == "invalid_argument"


def test_hardware_detection_reads_this_machine(call):
    hw = call("detect_hardware")
    assert hw["cpu_cores"] == os.cpu_count()
    assert hw["ram_total_gb"] and hw["ram_total_gb"] > 0


def test_gpu_comes_from_nvidia_smi_when_installed(call, tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\n"
                      "case \"$*\" in *--query-gpu=name,memory.total,memory.free*) "
                      "echo 'NVIDIA RTX A4000, 16376, 15800';; *) exit 2;; esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    hw = call("detect_hardware")
    assert hw["gpus"] == [{"name": "NVIDIA RTX A4000", "memory_total_mb": 16376, "memory_free_mb": 15800}]
    assert hw["gpu_vram_gb"] == 16.0


def test_recommendations_fit_the_hardware():
    small = ollama_admin.recommend({"ram_total_gb": 8, "gpu_vram_gb": None})
    fits = {m["name"]: m["runs_on"] for m in small}
    assert fits["llama3.2:3b"] == "cpu" and fits["llama3.1:8b"] is None and fits["llama3.3:70b"] is None
    gpu = ollama_admin.recommend({"ram_total_gb": 32, "gpu_vram_gb": 16.0}, installed={"qwen2.5:14b"})
    by_name = {m["name"]: m for m in gpu}
    assert by_name["qwen2.5:14b"]["runs_on"] == "gpu" and by_name["qwen2.5:14b"]["installed"] is True
    assert by_name["qwen2.5:32b"]["runs_on"] == "cpu"  # too big for 16 GB VRAM, just fits 32 GB RAM
    assert by_name["llama3.3:70b"]["fits"] is False


def test_recommend_models_command_marks_installed(call, ollama):
    result = call("recommend_models", base_url=ollama.base_url)
    installed = {m["name"] for m in result["recommendations"] if m["installed"]}
    assert installed == {"llama3.1:8b", "qwen2.5:7b"}
