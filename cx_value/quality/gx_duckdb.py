"""Great Expectations on a DuckDB file through SQL: the one place that knows how.

GE 1.24 runs its expectations as SQL through SQLAlchemy, and duckdb-engine is the
SQLAlchemy dialect for DuckDB. Two gaps between them are closed here, and nowhere
else:

1. **Results read after the connection closed.** For most dialects GE opens a
   connection per query (``with engine.connect()``) and reads the cursor's rows
   after that block has ended. duckdb-engine rolls the transaction back when a
   connection closes, and the rollback drops the pending result: every expectation
   then fails with ``MetricResolutionError: list index out of range``. GE already
   keeps one persistent connection (a ``StaticPool``) for the dialects listed in
   ``sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS`` (SQLite, SQL
   Server, ...); adding ``duckdb`` to that tuple makes GE hold one connection for
   the life of the engine, and results survive.
2. **No regex support for an unknown dialect.** GE picks a regex operator from the
   engine's ``dialect_module`` and leaves it ``None`` for dialects it does not list.
   duckdb-engine's dialect derives from SQLAlchemy's PostgreSQL dialect and DuckDB
   understands PostgreSQL's ``~`` operator, so the PostgreSQL module is the right
   answer for DuckDB.

The database is opened with ``read_only=True``: validation then never takes
DuckDB's write lock, so it cannot lock a build out, and it cannot change the data
it judges.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.datasource.fluent import SqlDatasource


class _DialectName(str):
    """A dialect name as GE's tuple expects it: compared as a string, and read as
    ``.value`` (the tuple holds ``GXSqlDialect`` enum members)."""

    @property
    def value(self) -> str:
        return str(self)


DUCKDB = _DialectName("duckdb")


def keep_duckdb_connections_open() -> None:
    """Add DuckDB to GE's dialects that keep one persistent connection (idempotent)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    if not any(getattr(d, "value", d) == DUCKDB for d in engine._PERSISTED_CONNECTION_DIALECTS):
        engine._PERSISTED_CONNECTION_DIALECTS = (*engine._PERSISTED_CONNECTION_DIALECTS, DUCKDB)


def ephemeral_context(docs_dir: Path | None = None) -> EphemeralDataContext:
    """One in-memory GE context: no files of its own, no progress bars, no usage
    statistics sent anywhere; with a Data Docs site in ``docs_dir`` when given."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    keep_duckdb_connections_open()
    sites: dict[str, Any] = {}
    if docs_dir is not None:
        sites["cx_value"] = {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir.resolve()),
            },
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def add_duckdb_datasource(
    context: EphemeralDataContext, database: Path | None, name: str = "warehouse"
) -> SqlDatasource:
    """A SQL datasource on ``database`` opened read-only (in-memory DuckDB when None)."""
    from sqlalchemy.dialects import postgresql

    from cx_value.profiles import duckdb_settings

    keep_duckdb_connections_open()
    # the profile's memory limit and threads: DuckDB's default is 80 % of the machine
    config = duckdb_settings()
    if database is None:
        datasource = context.data_sources.add_sql(
            name, connection_string="duckdb:///:memory:",
            kwargs={"connect_args": {"config": config}})
    else:
        datasource = context.data_sources.add_sql(
            name,
            connection_string=f"duckdb:///{database.resolve()}",
            kwargs={"connect_args": {"read_only": True, "config": config}},
        )
    engine = datasource.get_execution_engine()
    if engine.dialect_module is None:
        engine.dialect_module = postgresql
    # DuckDB's progress bar would write into the build's log during long queries
    execute(datasource, "set enable_progress_bar = false")
    return datasource


def fetch_rows(datasource: SqlDatasource, sql: str, limit: int) -> list[dict[str, Any]]:
    """Run ``sql`` on the datasource's own (persistent) connection; at most ``limit`` rows."""
    import sqlalchemy as sa

    engine = datasource.get_execution_engine()
    with engine.get_connection() as connection:
        result = connection.execute(sa.text(f"select * from ({sql}) as rows_ limit {limit}"))
        return [dict(row._mapping) for row in result]


def execute(datasource: SqlDatasource, sql: str) -> None:
    """Run a statement on the datasource's persistent connection (e.g. a temp table
    that the following queries read)."""
    import sqlalchemy as sa

    engine = datasource.get_execution_engine()
    with engine.get_connection() as connection:
        connection.execute(sa.text(sql))
        # SQLAlchemy began a transaction; without a commit the next rollback drops it
        connection.commit()


def close(datasource: SqlDatasource) -> None:
    """Close the persistent connection and the engine: the database file is free again
    (to be renamed, or opened with another configuration) when validation returns."""
    engine = datasource.get_execution_engine()
    if engine._connection is not None:
        engine._connection.close()
        engine._connection = None
    engine.engine.dispose()
    # the datasource keeps an engine of its own (it tested the connection with it)
    datasource.get_engine().dispose()
