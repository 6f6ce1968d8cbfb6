"""The demo warehouse's fitted models say what they are worth (mart_model_diagnostics).

`make test` builds the demo data into CX_DUCKDB_PATH before these run. The demo's
one-off buyers follow the CDNOW process the generator planted, so BG/NBD and
Gamma-Gamma must come out fitted and identified; whatever is not identified must say
so in plain language, on the diagnostics mart and on every score that uses it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_demo_purchase_and_spend_models_are_identified(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    rows = demo_db.execute(
        "select model, parameter, estimate, standard_error, status, is_identified"
        " from marts.clv_bgnbd_parameters order by model, parameter"
    ).fetchall()
    for model, parameter, estimate, standard_error, status, identified in rows:
        print(f"{model} {parameter} {estimate:.4g} (SE {standard_error:.3g})")
        assert status == "fitted" and identified, (model, parameter)
        assert standard_error <= estimate, (model, parameter)


def test_every_model_is_diagnosed_and_warns_exactly_when_not_identified(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    rows = demo_db.execute(
        "select model, status, sample_size, is_identified, warning"
        " from marts.mart_model_diagnostics order by model_order"
    ).fetchall()
    assert [row[0] for row in rows] == ["bgnbd", "gamma_gamma", "sbg", "churn_logistic"]
    for model, status, sample_size, identified, warning in rows:
        print(f"{model}: {status}, n = {sample_size}, identified {identified}: {warning}")
        assert sample_size > 0, model
        assert (warning is None) == (status == "fitted" and identified), model


def test_a_warning_travels_to_every_score_it_concerns(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    """The demo's sBG is fitted but not identified (two renewal periods cannot tell
    whether churn rates differ between customers; DECISIONLOG): its warning is on every
    health row that carries an sBG renewal probability (now that the churn model scores
    every current term, those rows have a churn probability too)."""
    diagnostics = dict(demo_db.execute(
        "select model, warning from marts.mart_model_diagnostics"
    ).fetchall())
    retention_warning = diagnostics["sbg"]
    assert retention_warning is not None
    (carried, scored), = demo_db.execute(
        """
        select
            count(*) filter (where contains(health.model_warnings, ?)),
            count(*)
        from marts.mart_customer_health as health
        where health.renewal_probability is not null
        """,
        [retention_warning],
    ).fetchall()
    assert scored > 0 and carried == scored
