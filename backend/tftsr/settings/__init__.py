from tftsr.settings.store import SCHEMA, get_all, get_value, set_value

__all__ = ["SCHEMA", "get_all", "get_value", "set_value"]
