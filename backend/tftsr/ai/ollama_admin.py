"""Managing a local Ollama: reachability, installed models, pulls with progress,
deletes, and which models this machine can run.

Endpoints (https://github.com/ollama/ollama/blob/main/docs/api.md): ``GET /api/version``,
``GET /api/tags``, ``POST /api/pull`` (NDJSON progress: ``status``, ``digest``,
``total``, ``completed``; ends with ``{"status": "success"}``), ``DELETE /api/delete``.
Hardware comes from the OS (``/proc/meminfo``, ``sysconf``, Windows' memory status) and
``nvidia-smi`` when it is installed.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import threading
from typing import Any

from tftsr.ai.base import DEFAULT_TIMEOUTS, Cancellation, host_of
from tftsr.ai.providers.ollama import DEFAULT_BASE_URL
from tftsr.db.ids import uuid7
from tftsr.egress import http
from tftsr.egress.gate import Gate
from tftsr.egress.send import Sent
from tftsr.egress.send import send as egress_send
from tftsr.egress.transport import OutboundRequest
from tftsr.errors import NotFound, TftsrError

log = logging.getLogger(__name__)

GB = 1024 ** 3


class OllamaUnavailable(TftsrError):
    code = "ai_unreachable"
    http_status = 503


class OllamaError(TftsrError):
    code = "ai_server_error"
    http_status = 502


def resolve_base_url(app, base_url: str | None) -> str:
    """The given address, else the configured Ollama provider's (active first), else the default."""
    if base_url:
        from tftsr.ai.registry import clean_base_url
        return clean_base_url("ollama", base_url)
    with app.db.connection() as conn:
        row = conn.execute("SELECT base_url FROM ai_providers WHERE kind = 'ollama'"
                           " ORDER BY is_active DESC, created_at LIMIT 1").fetchone()
    return row["base_url"] if row else DEFAULT_BASE_URL


def _timeout(app) -> float:
    return (app.extras.get("ai_timeouts") or DEFAULT_TIMEOUTS).admin


def _open(app, method: str, base_url: str, path: str, body: dict | None = None, *,
          read_timeout: float | None = None) -> Sent:
    """Send one administration request through the egress gate (model names are
    checked like any text, and every request is audited before it leaves)."""
    timeouts = app.extras.get("ai_timeouts") or DEFAULT_TIMEOUTS
    content = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    prepared = OutboundRequest(method, base_url.rstrip("/") + path, headers, content)
    return egress_send(app, prepared, purpose="ollama_admin", entity_type="ollama",
                       entity_id=host_of(base_url), read_timeout=read_timeout or timeouts.admin,
                       connect_timeout=timeouts.connect, transport=app.extras.get("ai_transport"))


def _not_running(base_url: str) -> OllamaUnavailable:
    return OllamaUnavailable(f"Ollama is not running at {host_of(base_url)}. Start it (ollama serve) "
                             "or correct the address.")


def _request(app, method: str, base_url: str, path: str, body: dict | None = None) -> http.Response:
    try:
        client, response = _open(app, method, base_url, path, body)
        try:
            response.read()
        finally:
            response.close()
            client.close()
        return response
    except http.TimeoutException:
        raise OllamaUnavailable(f"Ollama at {host_of(base_url)} did not answer within "
                                f"{_timeout(app):g} seconds.") from None
    except http.TransportError:
        raise _not_running(base_url) from None


def _error_text(response: http.Response) -> str:
    """Ollama's own words, checked like any text coming back."""
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("error"):
            return Gate(None).scrub(str(data["error"])[:300])
    except ValueError:
        pass
    return Gate(None).scrub(response.text[:300])


def status(app, base_url: str | None) -> dict:
    url = resolve_base_url(app, base_url)
    try:
        response = _request(app, "GET", url, "/api/version")
    except OllamaUnavailable as exc:
        return {"reachable": False, "base_url": url, "version": None, "message": exc.message}
    if response.status_code != 200:
        return {"reachable": False, "base_url": url, "version": None,
                "message": f"Something answers at {host_of(url)}, but not like Ollama (HTTP {response.status_code})."}
    try:
        version = response.json().get("version")
    except (ValueError, AttributeError):
        version = None
    return {"reachable": True, "base_url": url, "version": version,
            "message": f"Ollama {version or ''} is running at {host_of(url)}.".replace("  ", " ")}


def list_models(app, base_url: str | None) -> dict:
    """Installed models; when Ollama cannot be reached, ``reachable`` is False and
    ``message`` says why (the Ollama panel shows it instead of a list)."""
    url = resolve_base_url(app, base_url)
    try:
        response = _request(app, "GET", url, "/api/tags")
    except OllamaUnavailable as exc:
        return {"base_url": url, "reachable": False, "message": exc.message, "models": []}
    if response.status_code != 200:
        raise OllamaError(f"Ollama could not list its models (HTTP {response.status_code}): {_error_text(response)}")
    models = []
    for m in (response.json().get("models") or []):
        details = m.get("details") or {}
        models.append({"name": m.get("name") or m.get("model"), "size_bytes": m.get("size"),
                       "modified_at": m.get("modified_at"), "family": details.get("family"),
                       "parameter_size": details.get("parameter_size"),
                       "quantization": details.get("quantization_level")})
    return {"base_url": url, "reachable": True, "message": None, "models": models}


def delete_model(app, base_url: str | None, name: str) -> dict:
    url = resolve_base_url(app, base_url)
    response = _request(app, "DELETE", url, "/api/delete", {"model": name})
    if response.status_code == 404:
        raise NotFound(f"Ollama has no model named '{name}'.")
    if response.status_code != 200:
        raise OllamaError(f"Ollama could not delete '{name}' (HTTP {response.status_code}): {_error_text(response)}")
    return {"deleted": True}


# -- pulls ------------------------------------------------------------------------------------
def _pulls(app) -> dict[str, Cancellation]:
    return app.extras.setdefault("ollama_pulls", {})


def start_pull(app, base_url: str | None, name: str) -> dict:
    """Start pulling ``name``; progress arrives as ``ollama_pull_progress`` events."""
    url = resolve_base_url(app, base_url)
    pull_id = uuid7()
    cancel = Cancellation()
    _pulls(app)[pull_id] = cancel
    thread = threading.Thread(target=_run_pull, args=(app, url, name, pull_id, cancel),
                              name=f"ollama-pull-{pull_id[:8]}", daemon=True)
    app.extras.setdefault("ollama_pull_threads", {})[pull_id] = thread
    thread.start()
    return {"pull_id": pull_id, "base_url": url}


def cancel_pull(app, pull_id: str) -> dict:
    cancel = _pulls(app).get(pull_id)
    if cancel is None:
        raise NotFound("That download is not running (it may have finished already).")
    cancel.cancel()
    return {"cancelled": True}


def _emit(app, pull_id: str, name: str, *, status_text: str, completed=None, total=None,
          done=False, error=None) -> None:
    percent = round(100.0 * completed / total, 1) if completed is not None and total else None
    app.events.emit("ollama_pull_progress", {
        "pull_id": pull_id, "model": name, "status": status_text, "completed": completed,
        "total": total, "percent": percent, "done": done, "error": error})


def _run_pull(app, base_url: str, name: str, pull_id: str, cancel: Cancellation) -> None:
    try:
        client, response = _open(app, "POST", base_url, "/api/pull",
                                 {"model": name, "stream": True}, read_timeout=DEFAULT_TIMEOUTS.tools)
        try:
            cancel.attach(response)
            try:
                if response.status_code != 200:
                    response.read()
                    raise OllamaError(f"Ollama could not pull '{name}' (HTTP {response.status_code}): "
                                      f"{_error_text(response)}")
                finished = False
                for line in response.iter_lines():
                    if cancel.cancelled:
                        break
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    if item.get("error"):
                        said = Gate(None).scrub(str(item["error"])[:300])
                        raise OllamaError(f"Ollama could not pull '{name}': {said}")
                    finished = item.get("status") == "success"
                    _emit(app, pull_id, name, status_text=str(item.get("status", "")),
                          completed=item.get("completed"), total=item.get("total"), done=finished)
                if cancel.cancelled:
                    _emit(app, pull_id, name, status_text="cancelled", done=True,
                          error={"code": "ai_cancelled", "message": "The download was cancelled."})
                elif not finished:
                    raise OllamaError(f"The download of '{name}' ended before it finished.")
            finally:
                cancel.attach(None)
                response.close()
        finally:
            client.close()
    except TftsrError as exc:
        _emit(app, pull_id, name, status_text="error", done=True, error=exc.to_dict())
    except (http.HTTPError, ValueError) as exc:
        if cancel.cancelled:
            _emit(app, pull_id, name, status_text="cancelled", done=True,
                  error={"code": "ai_cancelled", "message": "The download was cancelled."})
        elif isinstance(exc, http.ConnectError):
            _emit(app, pull_id, name, status_text="error", done=True, error=_not_running(base_url).to_dict())
        else:
            _emit(app, pull_id, name, status_text="error", done=True,
                  error={"code": "ai_bad_response", "message": f"The download of '{name}' failed: {type(exc).__name__}."})
    finally:
        _pulls(app).pop(pull_id, None)


# -- hardware -------------------------------------------------------------------------------------
def _memory() -> tuple[float | None, float | None]:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh if ":" in line}
        return info.get("MemTotal", 0) / GB, info.get("MemAvailable", info.get("MemFree", 0)) / GB
    except (OSError, ValueError, IndexError):
        pass
    if os.name == "nt":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]
        stat = MemoryStatus()
        stat.dwLength = ctypes.sizeof(MemoryStatus)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(stat)):  # type: ignore[attr-defined]
            return stat.ullTotalPhys / GB, stat.ullAvailPhys / GB
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
        return total, None
    except (ValueError, OSError, AttributeError):
        return None, None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def nvidia_gpus() -> list[dict]:
    """GPUs as nvidia-smi reports them (empty when it is not installed or fails)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        proc = subprocess.run([exe, "--query-gpu=name,memory.total,memory.free",
                               "--format=csv,noheader,nounits"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    gpus = []
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            gpus.append({"name": parts[0], "memory_total_mb": int(float(parts[1])),
                         "memory_free_mb": int(float(parts[2]))})
        except ValueError:
            continue
    return gpus


def detect_hardware() -> dict:
    total, available = _memory()
    gpus = nvidia_gpus()
    vram = max((g["memory_total_mb"] for g in gpus), default=0) / 1024
    return {"ram_total_gb": round(total, 1) if total else None,
            "ram_available_gb": round(available, 1) if available is not None else None,
            "cpu_cores": os.cpu_count(), "cpu_model": _cpu_model(), "gpus": gpus,
            "gpu_vram_gb": round(vram, 1) if gpus else None,
            "platform": f"{platform.system()} {platform.machine()}"}


# Sizes are Ollama's default (4-bit) downloads.
CATALOGUE: tuple[dict[str, Any], ...] = (
    {"name": "llama3.2:1b", "label": "Llama 3.2 1B", "size_gb": 1.3, "tools": True},
    {"name": "llama3.2:3b", "label": "Llama 3.2 3B", "size_gb": 2.0, "tools": True},
    {"name": "phi4-mini", "label": "Phi-4 mini 3.8B", "size_gb": 2.5, "tools": True},
    {"name": "qwen2.5:7b", "label": "Qwen 2.5 7B", "size_gb": 4.7, "tools": True},
    {"name": "mistral:7b", "label": "Mistral 7B", "size_gb": 4.1, "tools": True},
    {"name": "llama3.1:8b", "label": "Llama 3.1 8B", "size_gb": 4.9, "tools": True},
    {"name": "gemma2:9b", "label": "Gemma 2 9B", "size_gb": 5.4, "tools": False},
    {"name": "mistral-nemo:12b", "label": "Mistral NeMo 12B", "size_gb": 7.1, "tools": True},
    {"name": "qwen2.5:14b", "label": "Qwen 2.5 14B", "size_gb": 9.0, "tools": True},
    {"name": "qwen2.5:32b", "label": "Qwen 2.5 32B", "size_gb": 20.0, "tools": True},
    {"name": "llama3.3:70b", "label": "Llama 3.3 70B", "size_gb": 43.0, "tools": True},
)


def recommend(hardware: dict, installed: set[str] | None = None) -> list[dict]:
    """Each catalogue model with whether it fits: on the GPU when its VRAM holds the model
    with 20 % headroom, else on the CPU when RAM holds it with 1.5× plus 2 GB for the OS."""
    installed = installed or set()
    ram = hardware.get("ram_total_gb") or 0
    vram = hardware.get("gpu_vram_gb") or 0
    out = []
    for model in CATALOGUE:
        min_vram = round(model["size_gb"] * 1.2, 1)
        min_ram = round(model["size_gb"] * 1.5 + 2, 1)
        if vram and vram >= min_vram:
            runs_on, reason = "gpu", f"fits in the GPU's {vram:g} GB"
        elif ram >= min_ram:
            runs_on = "cpu"
            reason = f"runs on the CPU in {ram:g} GB RAM" + (" (slower than on a GPU)" if model["size_gb"] > 3 else "")
        else:
            runs_on, reason = None, f"needs about {min_ram:g} GB RAM" + (f" or {min_vram:g} GB VRAM" if vram else "")
        out.append({**model, "min_ram_gb": min_ram, "min_vram_gb": min_vram, "fits": runs_on is not None,
                    "runs_on": runs_on, "reason": reason,
                    "installed": model["name"] in installed or (
                        ":" not in model["name"] and f"{model['name']}:latest" in installed)})
    return out
