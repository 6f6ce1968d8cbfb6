"""CLV: BG/NBD purchases, Gamma-Gamma spend, discounted value; contractual retention (sBG, KM)."""

from cx_value.clv import bgnbd, gamma_gamma, retention
from cx_value.clv.bgnbd import BGNBDParams
from cx_value.clv.clv import (
    DAYS_PER_MONTH,
    DEFAULT_MONTHLY_DISCOUNT_RATE,
    WEEKS_PER_MONTH,
    discounted_clv,
    expected_purchases_by_month,
)
from cx_value.clv.gamma_gamma import GammaGammaParams
from cx_value.clv.retention import (
    KaplanMeier,
    SBGParams,
    fit_sbg,
    fit_sbg_durations,
    kaplan_meier,
    sbg_churn_probability,
    sbg_conditional_survival,
    sbg_discounted_expected_residual_lifetime,
    sbg_expected_residual_lifetime,
    sbg_log_likelihood,
    sbg_renewal_probability,
    sbg_retention_rate,
    sbg_survival,
)
from cx_value.clv.simulate import simulate_bgnbd, simulate_mean_spend

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_MONTHLY_DISCOUNT_RATE",
    "WEEKS_PER_MONTH",
    "BGNBDParams",
    "GammaGammaParams",
    "KaplanMeier",
    "SBGParams",
    "bgnbd",
    "discounted_clv",
    "expected_purchases_by_month",
    "fit_sbg",
    "fit_sbg_durations",
    "gamma_gamma",
    "kaplan_meier",
    "retention",
    "sbg_churn_probability",
    "sbg_conditional_survival",
    "sbg_discounted_expected_residual_lifetime",
    "sbg_expected_residual_lifetime",
    "sbg_log_likelihood",
    "sbg_renewal_probability",
    "sbg_retention_rate",
    "sbg_survival",
    "simulate_bgnbd",
    "simulate_mean_spend",
]
