"""Approvals: one mechanism for everything the assistant wants to do (see service.py)."""

from tftsr.approvals.service import Decision, list_pending, request_approval

__all__ = ["Decision", "list_pending", "request_approval"]
