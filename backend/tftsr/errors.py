"""Errors that reach the user. Each carries a stable code and a human message."""

from __future__ import annotations


class TftsrError(Exception):
    """Base class: `code` is stable for programs, `message` is for people."""

    code = "internal"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class InvalidArgument(TftsrError):
    code = "invalid_argument"
    http_status = 400


class NotFound(TftsrError):
    code = "not_found"
    http_status = 404


class Conflict(TftsrError):
    code = "conflict"
    http_status = 409


class InvalidState(TftsrError):
    code = "invalid_state"
    http_status = 409


class Unavailable(TftsrError):
    code = "unavailable"
    http_status = 503


class DatabaseOpenError(TftsrError):
    """The database could not be opened; nothing was changed on disk."""

    code = "database_unavailable"
    http_status = 503
