from tftsr.audit.chain import record, verify

__all__ = ["record", "verify"]
