"""The Python models' tables exported for a target that cannot run them (cx_value.fitted)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cx_value.fitted import PYTHON_MODELS, export_fitted_tables

ROOT = Path(__file__).resolve().parents[2]


def test_every_python_model_is_listed_and_has_a_sql_stand_in() -> None:
    python_models = {path.stem for path in (ROOT / "models").rglob("*.py")}
    assert {name for _, name in PYTHON_MODELS} == python_models
    stand_ins = {path.stem: path for path in (ROOT / "models").rglob("fitted/*.sql")}
    assert set(stand_ins) == python_models
    for name, path in stand_ins.items():
        assert f"cx_fitted_table('{name}')" in path.read_text()


def test_export_keeps_columns_order_types_and_rows(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        for _, name in PYTHON_MODELS:
            con.execute(
                f"create table marts.{name} as select * from (values "
                "('a', 1::bigint, 0.5::double, true, date '2024-01-31', null::varchar), "
                "('b', null, null, null, null, 'x')) as t(k, n, v, flag, day, note)"
            )
    written = export_fitted_tables(database, tmp_path / "fitted")
    assert [path.name for path in written] == [f"{name}.parquet" for _, name in PYTHON_MODELS]
    with duckdb.connect() as con:
        for path in written:
            relation = con.execute(f"select * from read_parquet('{path}') order by k")
            assert [c[0] for c in relation.description] == ["k", "n", "v", "flag", "day", "note"]
            rows = relation.fetchall()
            assert rows[0][:3] == ("a", 1, 0.5) and rows[1][5] == "x"
            types = con.execute(
                f"select column_type from (describe select * from read_parquet('{path}'))"
            ).fetchall()
            assert [t for (t,) in types] == [
                "VARCHAR",
                "BIGINT",
                "DOUBLE",
                "BOOLEAN",
                "DATE",
                "VARCHAR",
            ]
