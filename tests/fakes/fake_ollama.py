"""Ollama on loopback: ``/api/chat`` (NDJSON streaming, tools), ``/api/tags``,
``/api/version``, ``/api/pull`` (NDJSON progress) and ``/api/delete``.

A chat for a model that is not installed gets Ollama's 404
``model "x" not found, try pulling it first``; ``tool_models`` lists the models that
accept ``tools`` (others get Ollama's 400 "does not support tools").
"""

from __future__ import annotations

import json
import time

from tests.fakes.base import Failure, FakeProvider, Handler, Recorded, body_json, require


class FakeOllama(FakeProvider):
    def __init__(self, *, models=("llama3.1:8b",), tool_models=("llama3.1:8b",), pull_steps: int = 4):
        super().__init__()
        self.models = {m: 4_920_000_000 for m in models}
        self.tool_models = set(tool_models)
        self.pull_steps = pull_steps
        self.pull_delay = 0.0

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status, message):
        return {"error": message}

    def check(self, req: Recorded) -> None:
        routes = {("POST", "/api/chat"), ("GET", "/api/tags"), ("GET", "/api/version"),
                  ("POST", "/api/pull"), ("DELETE", "/api/delete")}
        require((req.method, req.path) in routes, "404 page not found", 404)
        if req.method == "POST" and req.path == "/api/chat":
            body = body_json(req)
            require(isinstance(body.get("model"), str), "model is required")
            messages = body.get("messages")
            require(isinstance(messages, list), "messages must be a list")
            for m in messages:
                require(m.get("role") in ("system", "user", "assistant", "tool"), "invalid role")
                require(isinstance(m.get("content"), str), "content must be a string")
                for c in m.get("tool_calls") or []:
                    require(isinstance(c["function"].get("arguments"), dict),
                            "tool_calls arguments must be an object")
            for t in body.get("tools") or []:
                require(t.get("type") == "function" and t["function"].get("name"), "invalid tool")

    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        if req.path == "/api/version":
            h.send_json(200, {"version": "0.6.2"})
            return
        if req.path == "/api/tags":
            h.send_json(200, {"models": [
                {"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": size,
                 "digest": "sha256:abc", "details": {"format": "gguf", "family": m.split(":")[0],
                                                     "parameter_size": "8.0B", "quantization_level": "Q4_K_M"}}
                for m, size in sorted(self.models.items())]})
            return
        if req.path == "/api/delete":
            name = (req.json or {}).get("model")
            if name not in self.models:
                h.send_json(404, {"error": f"model '{name}' not found"})
                return
            del self.models[name]
            h.send_response(200)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if req.path == "/api/pull":
            self.pull(h, req, failure)
            return
        self.chat(h, req, failure)

    def pull(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        name = (req.json or {}).get("model") or (req.json or {}).get("name")
        if name == "no-such-model":
            h.start_stream("application/x-ndjson")
            h.write(json.dumps({"error": "pull model manifest: file does not exist"}).encode() + b"\n")
            return
        total = 1_000_000
        lines = [{"status": "pulling manifest"}]
        lines += [{"status": "pulling abc123", "digest": "sha256:abc123", "total": total,
                   "completed": total * (i + 1) // self.pull_steps} for i in range(self.pull_steps)]
        lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        h.start_stream("application/x-ndjson")
        for i, line in enumerate(lines):
            if failure is not None and failure.kind == "stall" and i >= 2:
                self.release.wait(60)
                return
            if self.pull_delay:
                time.sleep(self.pull_delay)
            if not h.write(json.dumps(line).encode() + b"\n"):
                return
        self.models[name] = total

    def chat(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        body = req.json
        model = body["model"]
        if model not in self.models:
            h.send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        if body.get("tools") and model not in self.tool_models:
            h.send_json(400, {"error": f"registry.ollama.ai/library/{model} does not support tools"})
            return
        reply = self.next_reply()
        now = "2025-01-01T00:00:00.000000Z"
        chunks, token_idx = [], set()
        for token in reply.tokens():
            token_idx.add(len(chunks))
            chunks.append(json.dumps({"model": model, "created_at": now, "message":
                                      {"role": "assistant", "content": token}, "done": False}).encode() + b"\n")
        if reply.tool_calls:
            chunks.append(json.dumps({"model": model, "created_at": now, "message": {
                "role": "assistant", "content": "",
                "tool_calls": [{"function": {"name": c["name"], "arguments": c["arguments"]}}
                               for c in reply.tool_calls]}, "done": False}).encode() + b"\n")
        out_tokens = reply.output_tokens if reply.output_tokens is not None else len(reply.tokens())
        chunks.append(json.dumps({"model": model, "created_at": now, "message": {"role": "assistant", "content": ""},
                                  "done_reason": "stop", "done": True, "total_duration": 1000,
                                  "prompt_eval_count": reply.input_tokens, "eval_count": out_tokens}).encode() + b"\n")
        h.start_stream("application/x-ndjson")
        self.stream_tokens(h, chunks, failure, token_idx)
