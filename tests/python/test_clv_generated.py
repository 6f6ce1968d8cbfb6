"""The generator's one-off buyers follow BG/NBD and Gamma-Gamma with the planted
parameters: fitting the written orders of 100,000 customers recovers each one."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest
from conftest import create_revenue_views

from cx_value.clv import bgnbd, gamma_gamma
from cx_value.generate import generate
from cx_value.generate.params import BgNbd, GammaGamma

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    out = tmp_path_factory.mktemp("clv_generated")
    generate(out, customers=100_000, seed=2013, fmt="parquet", dirty_share=0.0, as_of=AS_OF)
    con = duckdb.connect()
    # Net purchase days of consumers are the BG/NBD process (first purchase at
    # acquisition): a day's sales minus the returns allocated to it; a day netting to 0
    # (a large order cancelled the same day) is no purchase. Cancelled or returned
    # orders, B2B add-ons and contract bills are not purchases of consumers.
    create_revenue_views(
        con, f"read_parquet('{out / 'orders.parquet'}')",
        f"read_parquet('{out / 'order_lines.parquet'}')",
    )
    rows = con.execute(
        f"""
        with days as (
            select d.customer_id, d.first_ordered_at, d.net
            from net_days as d
            inner join read_parquet('{out / "customers.parquet"}') as c
                on d.customer_id = c.customer_id
            where c.customer_type = 'b2c' and d.net > 0
        ),
        ranked as (
            select *, row_number() over (partition by customer_id order by first_ordered_at)
                as k
            from days
        )
        select
            count(*) - 1 as x,
            epoch(max(first_ordered_at) - min(first_ordered_at)) / 604800.0 as t_x,
            epoch(timestamp '{AS_OF}' - min(first_ordered_at)) / 604800.0 as t,
            coalesce(avg(net / 100.0) filter (where k > 1), 0) as m_x
        from ranked
        group by customer_id
        """
    ).fetchnumpy()
    con.close()
    return np.column_stack([rows["x"], rows["t_x"], rows["t"], rows["m_x"]])


def test_bgnbd_parameters_recovered_within_95_percent(histories: np.ndarray) -> None:
    x, t_x, t = histories[:, 0], histories[:, 1], histories[:, 2]
    assert x.size > 60_000
    fit = bgnbd.fit(x, t_x, t)
    truth = BgNbd()
    for name in ("r", "alpha", "a", "b"):
        estimate = getattr(fit, name)
        se = getattr(fit, f"{name}_se")
        assert abs(estimate - getattr(truth, name)) < 1.96 * se, (name, estimate, se)


def test_gamma_gamma_parameters_recovered_within_95_percent(histories: np.ndarray) -> None:
    repeat = histories[:, 0] > 0
    fit = gamma_gamma.fit(histories[repeat, 0], histories[repeat, 3])
    truth = GammaGamma()
    for name in ("p", "q", "gamma"):
        estimate = getattr(fit, name)
        se = getattr(fit, f"{name}_se")
        assert abs(estimate - getattr(truth, name)) < 1.96 * se, (name, estimate, se)
