"""Streaming writers for raw tables: every column as text, columns in contract order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from cx_value.contract import table as contract_table

Format = Literal["csv", "parquet"]


def text_schema(name: str, extra_columns: Sequence[str] = ()) -> pa.Schema:
    """Arrow schema of one raw table: the contract's columns, then any extra ones, all strings.

    Extra columns are attributes a real export carries beyond the contract (the check
    reports them as ignored; staging reads only the contract's columns).
    """
    return pa.schema([pa.field(c, pa.string())
                      for c in (*contract_table(name).column_names, *extra_columns)])


def dictionary_columns(name: str) -> list[str]:
    """Columns worth dictionary-encoding: low-cardinality text (not keys, times or amounts)."""
    t = contract_table(name)
    return [c.name for c in t.columns
            if c.type in ("string", "boolean", "integer") and c.name != t.primary_key
            and not c.pii and not c.name.endswith("_id")] + (
        ["user_id"] if name == "events" else [])


class RawTableWriter:
    """Write one raw table in batches to ``<out_dir>/<name>.<fmt>``."""

    def __init__(self, out_dir: Path, name: str, fmt: Format,
                 extra_columns: Sequence[str] = ()):
        self.name = name
        self.path = out_dir / f"{name}.{fmt}"
        self.schema = text_schema(name, extra_columns)
        self.rows = 0
        self._fmt = fmt
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | pcsv.CSVWriter = pq.ParquetWriter(
                self.path, self.schema, compression="zstd", compression_level=1,
                use_dictionary=dictionary_columns(name), write_statistics=False,
            )
        else:
            self._writer = pcsv.CSVWriter(
                self.path, self.schema,
                write_options=pcsv.WriteOptions(include_header=True, quoting_style="needed"),
            )

    def write(self, columns: dict[str, pa.Array]) -> None:
        """Append rows given as one text array per contract column."""
        missing = [c for c in self.schema.names if c not in columns]
        extra = [c for c in columns if c not in self.schema.names]
        if missing or extra:
            raise ValueError(f"{self.name}: missing columns {missing}, unexpected {extra}")
        batch = pa.table([columns[c] for c in self.schema.names], schema=self.schema)
        self.write_table(batch)

    def write_table(self, batch: pa.Table) -> None:
        """Append an Arrow table that already has this table's text schema."""
        if batch.num_rows == 0:
            return
        self._writer.write_table(batch.cast(self.schema))
        self.rows += batch.num_rows

    def close(self) -> None:
        """Finish the file."""
        self._writer.close()

    def __enter__(self) -> RawTableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def as_table(name: str, columns: dict[str, pa.Array],
             extra_columns: Sequence[str] = ()) -> pa.Table:
    """Columns of one raw table as an Arrow table in contract order, extra columns last."""
    schema = text_schema(name, extra_columns)
    missing = [c for c in schema.names if c not in columns]
    extra = [c for c in columns if c not in schema.names]
    if missing or extra:
        raise ValueError(f"{name}: missing columns {missing}, unexpected {extra}")
    return pa.table([columns[c] for c in schema.names], schema=schema)
