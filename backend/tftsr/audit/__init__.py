from tftsr.audit.chain import BadHead, head, head_text, parse_head, record, verify

__all__ = ["BadHead", "head", "head_text", "parse_head", "record", "verify"]
