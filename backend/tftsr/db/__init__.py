from tftsr.db.connection import Database, open_database

__all__ = ["Database", "open_database"]
