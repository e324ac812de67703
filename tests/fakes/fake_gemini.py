"""Google Gemini API on loopback.

``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` and ``GET /v1beta/models``.
The key must come in ``x-goog-api-key`` — a ``key=`` query parameter is recorded as a
violation (it would leak into URLs). A wrong key gets Gemini's real answer: HTTP 400
``API_KEY_INVALID``. Checks roles user/model, ``parts``, ``systemInstruction`` and
``functionDeclarations``; streams GenerateContentResponse chunks, the last with
``finishReason`` and ``usageMetadata``.
"""

from __future__ import annotations

from tests.fakes.base import Failure, FakeProvider, Handler, Recorded, body_json, require, sse


class FakeGemini(FakeProvider):
    def __init__(self, *, key: str = "AIzaSyTEST-gemini-key-00000000000qrst", models=("gemini-2.0-flash",)):
        super().__init__()
        self.key, self.models = key, set(models)

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status, message):
        state = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": state}}

    def check(self, req: Recorded) -> None:
        require("key" not in req.query, "API key sent in the URL")
        if req.headers.get("x-goog-api-key") != self.key:
            raise_key_invalid()
        if req.method == "GET":
            require(req.path == "/v1beta/models", f"Unknown path {req.path}", 404)
            return
        prefix, _, action = req.path.rpartition(":")
        require(req.method == "POST" and prefix.startswith("/v1beta/models/") and
                action == "streamGenerateContent", f"Unknown path {req.path}", 404)
        require(req.query.get("alt") == ["sse"], "alt=sse expected for streaming")
        model = prefix[len("/v1beta/models/"):]
        require(model in self.models, f"models/{model} is not found for API version v1beta", 404)
        body = body_json(req)
        contents = body.get("contents")
        require(isinstance(contents, list) and contents, "contents is not specified")
        for i, c in enumerate(contents):
            require(c.get("role") in ("user", "model"), f"contents[{i}].role must be user or model")
            require(isinstance(c.get("parts"), list) and c["parts"], f"contents[{i}].parts must not be empty")
            for p in c["parts"]:
                require(any(k in p for k in ("text", "functionCall", "functionResponse")), "unknown part")
        if "systemInstruction" in body:
            require(isinstance(body["systemInstruction"].get("parts"), list), "systemInstruction.parts")
        for tool in body.get("tools") or []:
            for fd in tool.get("functionDeclarations") or []:
                require(fd.get("name") and isinstance(fd.get("parameters"), dict), "invalid functionDeclaration")

    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        if req.method == "GET":
            h.send_json(200, {"models": [
                {"name": f"models/{m}", "displayName": m.title(), "inputTokenLimit": 1048576,
                 "supportedGenerationMethods": ["generateContent", "countTokens"]} for m in sorted(self.models)]
                + [{"name": "models/text-embedding-004", "displayName": "Embedding",
                    "supportedGenerationMethods": ["embedContent"]}]})
            return
        reply = self.next_reply()
        out_tokens = reply.output_tokens if reply.output_tokens is not None else len(reply.tokens())
        chunks, token_idx = [], set()
        for token in reply.tokens():
            token_idx.add(len(chunks))
            chunks.append(sse({"candidates": [{"content": {"parts": [{"text": token}], "role": "model"},
                                               "index": 0}], "modelVersion": "gemini-2.0-flash"}))
        final = {"candidates": [{"content": {"parts": [{"functionCall": {"name": c["name"], "args": c["arguments"]}}
                                                       for c in reply.tool_calls] or [{"text": ""}],
                                             "role": "model"}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": reply.input_tokens, "candidatesTokenCount": out_tokens,
                                   "totalTokenCount": reply.input_tokens + out_tokens},
                 "modelVersion": "gemini-2.0-flash"}
        chunks.append(sse(final))
        h.start_stream("text/event-stream")
        self.stream_tokens(h, chunks, failure, token_idx)


def raise_key_invalid():
    from tests.fakes.base import Violation

    raise Violation("API key not valid. Please pass a valid API key. [API_KEY_INVALID]", 400, shape=False)
