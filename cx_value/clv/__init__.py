"""Non-contractual CLV: BG/NBD purchases, Gamma-Gamma spend, discounted value."""

from cx_value.clv import bgnbd, gamma_gamma
from cx_value.clv.bgnbd import BGNBDParams
from cx_value.clv.clv import (
    DAYS_PER_MONTH,
    DEFAULT_MONTHLY_DISCOUNT_RATE,
    WEEKS_PER_MONTH,
    discounted_clv,
    expected_purchases_by_month,
)
from cx_value.clv.gamma_gamma import GammaGammaParams
from cx_value.clv.simulate import simulate_bgnbd, simulate_mean_spend

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_MONTHLY_DISCOUNT_RATE",
    "WEEKS_PER_MONTH",
    "BGNBDParams",
    "GammaGammaParams",
    "bgnbd",
    "discounted_clv",
    "expected_purchases_by_month",
    "gamma_gamma",
    "simulate_bgnbd",
    "simulate_mean_spend",
]
