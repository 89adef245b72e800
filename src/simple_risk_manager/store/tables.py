"""Column order of each table as the codecs read and write it, and the SQL built from that order.

Building INSERT/UPSERT/SELECT text from one column tuple keeps the SQL and the codecs' row tuples
from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    def insert_sql(self) -> str:
        return (f"INSERT INTO {self.name} ({', '.join(self.columns)}) "
                f"VALUES ({', '.join('?' for _ in self.columns)})")

    def upsert_sql(self) -> str:
        """Insert, or on a key conflict overwrite every other column (last state wins)."""
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
        return f"{self.insert_sql()} ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"

    def select_sql(self, where: str = "", order_by: str = "") -> str:
        sql = f"SELECT {', '.join(self.columns)} FROM {self.name}"
        if where:
            sql += f" WHERE {where}"
        return sql + f" ORDER BY {order_by or ', '.join(self.key)}"

    def delete_sql(self) -> str:
        return f"DELETE FROM {self.name} WHERE " + " AND ".join(f"{c} = ?" for c in self.key)


LOCKOUTS = Table("lockouts", ("lockout_id", "account_id", "rule_id", "kind", "reason", "locked_at",
                              "locked_until", "cleared_at", "cleared_by", "created_at", "updated_at"),
                 ("lockout_id",))
DAILY_PNL = Table("daily_pnl", ("account_id", "date", "realized_pnl", "gross_pnl", "fees", "trade_count",
                                "last_updated"),
                  ("account_id", "date"))
CONTRACT_CACHE = Table("contract_cache", ("contract_id", "symbol_id", "name", "tick_size", "tick_value",
                                          "cached_at"),
                       ("contract_id",))
# `id` is the local row id; the broker's trade id is the identity (upsert on `trade_id`).
TRADE_HISTORY = Table("trade_history", ("trade_id", "account_id", "contract_id", "timestamp", "side", "size",
                                        "price", "pnl", "fees", "voided", "order_id", "created_at"),
                      ("trade_id",))
SESSION_STATE = Table("session_state", ("account_id", "session_start", "updated_at"), ("account_id",))
POSITIONS = Table("positions", ("id", "account_id", "contract_id", "type", "size", "average_price",
                                "created_at", "updated_at"),
                  ("id",))
ORDERS = Table("orders", ("id", "account_id", "contract_id", "type", "side", "size", "limit_price",
                          "stop_price", "status", "filled_size", "created_at", "updated_at"),
               ("id",))
# `id` NULL on insert lets SQLite assign the next row id, which the insert returns.
ENFORCEMENT_LOG = Table("enforcement_log", ("id", "timestamp", "account_id", "rule_id", "action", "reason",
                                            "success", "outcome", "details", "execution_time_ms"),
                        ("id",))
RESET_SCHEDULE = Table("reset_schedule", ("account_id", "trading_date", "last_reset_at", "next_reset_at",
                                          "reset_time_config", "timezone", "updated_at"),
                       ("account_id",))
