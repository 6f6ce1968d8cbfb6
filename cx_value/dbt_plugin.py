"""dbt-duckdb plugin: the modelling helpers imported before dbt runs any model, and the
personal-data salt set on every connection.

dbt runs Python models on several threads. Two models importing different parts
of ``cx_value.clv`` at the same moment can deadlock on Python's per-module import
locks (the package ``__init__`` imports its submodules while another thread is
inside one of them). The plugin is created once, when dbt opens the DuckDB
environment, so importing everything here makes the later imports plain lookups.
Enabled in ``profiles.yml`` under ``plugins``.

The salt of the personal-data pseudonyms (``cx_value.pii``) is set as a DuckDB session
variable on each connection and cursor dbt opens, so the staging SQL reads it with
``getvariable`` and it never appears in compiled SQL or dbt's logs. The customer ids of
the erasure list (CX_ERASURE_LIST, ``cx_value.erasure``) are set the same way, as a list
(empty without a list), so that they are neither dbt vars (which ``meta.dbt_runs``
records) nor text of any compiled model.
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

import cx_value.churn
import cx_value.clv
from cx_value.erasure import ERASURE_SQL_VARIABLE, erased_ids
from cx_value.pii import SALT_SQL_VARIABLE, effective_salt

PRELOADED = (cx_value.churn, cx_value.clv)


def set_salt(conn: DuckDBPyConnection) -> None:
    """The salt as a session variable (a bound parameter: it is in no SQL text)."""
    conn.execute(f"set variable {SALT_SQL_VARIABLE} = ?", [effective_salt(os.environ)])


def set_erased_ids(conn: DuckDBPyConnection, ids: tuple[str, ...]) -> None:
    """The erased customer ids as a list session variable (a bound parameter)."""
    conn.execute(f"set variable {ERASURE_SQL_VARIABLE} = cast(? as varchar[])", [list(ids)])


class Plugin(BasePlugin):
    """Imports the helpers (at import) and sets the salt and the erased ids on every
    connection."""

    def initialize(self, plugin_config: dict) -> None:
        # read once: an unreadable list fails here, naming the file, before any model
        # runs (ErasureListError)
        self.erased = erased_ids(os.environ)

    def _configure(self, conn: DuckDBPyConnection) -> None:
        set_salt(conn)
        set_erased_ids(conn, self.erased)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self._configure(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> DuckDBPyConnection:
        # a cursor is a connection of its own, with its own variables
        self._configure(cursor)
        return cursor
