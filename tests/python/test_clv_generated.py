"""The generator's one-off buyers follow BG/NBD and Gamma-Gamma with the planted
parameters: fitting the written orders of 100,000 customers recovers each one."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from cx_value.clv import bgnbd, gamma_gamma
from cx_value.generate import generate
from cx_value.generate.params import BgNbd, GammaGamma

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    out = tmp_path_factory.mktemp("clv_generated")
    generate(out, customers=100_000, seed=2013, fmt="parquet", dirty_share=0.0, as_of=AS_OF)
    con = duckdb.connect()
    # Completed orders of consumers are the BG/NBD process (first purchase at
    # acquisition); cancellations, returns and B2B add-ons are not.
    rows = con.execute(
        f"""
        with orders as (
            select
                o.customer_id,
                o.ordered_at::timestamp as ordered_at,
                o.order_id
            from read_parquet('{out / "orders.parquet"}') as o
            inner join read_parquet('{out / "customers.parquet"}') as c
                on o.customer_id = c.customer_id
            where c.customer_type = 'b2c' and o.status = 'completed'
        ),
        values as (
            select
                o.customer_id,
                o.ordered_at,
                sum(l.quantity::int * l.realised_price::decimal(18, 2))::double as value_at_stake
            from orders as o
            inner join read_parquet('{out / "order_lines.parquet"}') as l
                on o.order_id = l.order_id
            group by all
        ),
        ranked as (
            select *, row_number() over (partition by customer_id order by ordered_at) as k
            from values
        )
        select
            count(*) - 1 as x,
            epoch(max(ordered_at) - min(ordered_at)) / 604800.0 as t_x,
            epoch(timestamp '{AS_OF}' - min(ordered_at)) / 604800.0 as t,
            coalesce(avg(value_at_stake) filter (where k > 1), 0) as m_x
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
