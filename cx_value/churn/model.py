"""Churn-risk model of contract terms: fit on a past window, score a later one.

A logistic regression on standardised features (missing values set to the training mean,
so a missing value contributes nothing). Plain logistic regression is kept without a
separate calibration step: its maximum-likelihood fit makes the mean prediction equal the
observed rate on the training terms, overall and within every binary feature, so it is
calibrated by construction as long as the later window resembles the training one; an
isotonic or Platt step would spend data on a cross-validation split and would break the
additive per-row driver decomposition. ``backtest`` measures the calibration that is
actually achieved on the held-out window.

Drivers of one row are the contributions ``coef_j * (x_j - mean_j) / sd_j`` on the
log-odds scale; the top drivers are the features with the largest positive contribution,
i.e. what raises this term's risk above that of an average term.

Fitting rule (``is_identified``): a per-coefficient "standard error above |coefficient|"
test would flag every weak feature, which is imprecision, not a model without a
maximum. The logistic model is identified when the optimiser converged, the features do
not separate churned from renewed terms (no quasi-complete separation, checked as a
linear programme), and the observed information Z'WZ of the fitted model is positive
definite, so every coefficient has a finite standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cx_value.churn.features import DEFAULT_TIMING, FEATURES, Timing

LABEL = "is_churned"
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high")
DEFAULT_BAND_THRESHOLDS: tuple[float, float] = (0.30, 0.50)
"""Churn probability bounds of the risk bands: low < 0.30 <= medium < 0.50 <= high."""


MIN_VARIED_SHARE = 0.01
"""A feature is fitted only if at least this share of training terms differ from its mode."""

MAX_ITER = 1000
"""Iterations of the logistic regression's solver; reaching them means no convergence."""

CONSEQUENCE = "churn probabilities, risk bands and drivers are unreliable"


@dataclass(frozen=True)
class FitDiagnostics:
    """How well the logistic regression is determined by its training terms.

    ``log_likelihood`` is the (unpenalised) Bernoulli log-likelihood at the fitted
    coefficients; ``intercept_se`` and ``coefficient_se`` (per standardised feature, in
    the order of the model's features) are the square roots of the diagonal of the
    inverse observed information Z'WZ (Z the standardised design with a column of ones,
    W = p(1 - p)), NaN when it is singular. ``is_separated`` is true when some linear
    combination of the features puts every churned term on one side and every renewed
    term on the other (quasi-complete separation: the maximum-likelihood coefficients
    are infinite). ``is_identified`` and ``warning`` follow the rule in the module
    docstring.
    """

    n_train: int
    n_churned: int
    n_renewed: int
    log_likelihood: float
    intercept_se: float
    coefficient_se: tuple[float, ...]
    converged: bool
    is_separated: bool
    is_identified: bool
    warning: str | None


@dataclass(frozen=True)
class ChurnModel:
    """A fitted pipeline, the features it reads (in order), those left out, and the
    fit's diagnostics (None only for a model assembled by hand)."""

    pipeline: Pipeline
    features: tuple[str, ...]
    constant_features: tuple[str, ...] = ()
    diagnostics: FitDiagnostics | None = None

    @property
    def coefficients(self) -> npt.NDArray[np.float64]:
        """Coefficients per standard deviation of each feature (log-odds of churn)."""
        return np.asarray(self.pipeline.named_steps["model"].coef_[0], dtype=np.float64)

    @property
    def intercept(self) -> float:
        """Log-odds of churn of a term with every feature at its training mean."""
        return float(self.pipeline.named_steps["model"].intercept_[0])


@dataclass(frozen=True)
class Backtest:
    """Held-out results of a time-split fit."""

    model: ChurnModel
    train_terms: int
    test_terms: int
    auc: float
    brier: float
    observed_rate: float
    mean_predicted: float
    calibration: pd.DataFrame
    drivers: pd.DataFrame
    scored: pd.DataFrame


def _matrix(frame: pd.DataFrame, features: Sequence[str]) -> npt.NDArray[np.float64]:
    return frame.loc[:, list(features)].to_numpy(dtype=np.float64, na_value=np.nan)


def varied_features(train: pd.DataFrame, features: Sequence[str],
                    min_share: float = MIN_VARIED_SHARE) -> tuple[str, ...]:
    """Features on which at least ``min_share`` of the training terms leave the mode.

    A feature that (nearly) never varies in the training window cannot be learnt; left in,
    its tiny standard deviation would blow up the rare later value (e.g. ``term_number``
    when the training window holds first terms only).
    """
    kept = []
    for name in features:
        values = train[name].dropna()
        if values.empty:
            continue
        mode_share = values.value_counts().iloc[0] / len(train)
        if 1.0 - mode_share >= min_share:
            kept.append(name)
    return tuple(kept)


def fit(train: pd.DataFrame, features: Sequence[str] = FEATURES, c: float = 1.0) -> ChurnModel:
    """Fit the churn model on labelled terms (``is_churned`` 0/1).

    Features that hardly vary in ``train`` (:func:`varied_features`) are left out and
    listed in ``constant_features``.
    """
    y = train[LABEL].to_numpy(dtype=np.int64)
    if np.unique(y).size < 2:
        raise ValueError("training terms must contain both churned and renewed terms")
    constant = tuple(f for f in features if f not in varied_features(train, features))
    features = tuple(f for f in features if f not in constant)
    pipeline = Pipeline([
        ("impute", SimpleImputer(strategy="mean")),
        ("scale", StandardScaler()),
        ("model", LogisticRegression(C=c, max_iter=MAX_ITER)),
    ])
    x = _matrix(train, features)
    pipeline.fit(x, y)
    return ChurnModel(pipeline=pipeline, features=features, constant_features=constant,
                      diagnostics=diagnose(pipeline, x, y))


def is_separated(z: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> bool:
    """True when the classes are (quasi-)completely separated by a linear combination.

    ``z`` is the design with a leading column of ones. Separation means some w has
    s_i · z_i·w >= 0 for every row (s_i = +1 churned, -1 renewed) and > 0 for some; a
    linear programme looks for such a w scaled to sum_i s_i · z_i·w = 1 (Albert and
    Anderson 1984: then the maximum-likelihood estimate does not exist).
    """
    signed = np.where(y == 1, 1.0, -1.0)[:, None] * z
    result = linprog(np.zeros(z.shape[1]), A_ub=-signed, b_ub=np.zeros(z.shape[0]),
                     A_eq=signed.sum(axis=0)[None, :], b_eq=np.ones(1),
                     bounds=[(None, None)] * z.shape[1], method="highs")
    return bool(result.status == 0)


def diagnose(pipeline: Pipeline, x: npt.NDArray[np.float64],
             y: npt.NDArray[np.int64]) -> FitDiagnostics:
    """Diagnostics of a fitted pipeline on its training matrix ``x`` and labels ``y``."""
    z = np.asarray(pipeline[:-1].transform(x), dtype=np.float64)
    design = np.column_stack([np.ones(len(z)), z])
    regression = pipeline.named_steps["model"]
    p = np.asarray(pipeline.predict_proba(x)[:, 1], dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_likelihood = float(np.sum(np.where(y == 1, np.log(p), np.log1p(-p))))
    info = design.T @ (design * (p * (1.0 - p))[:, None])
    try:
        np.linalg.cholesky(info)
        se = np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        se = np.full(design.shape[1], np.nan)
    converged = bool(np.max(regression.n_iter_) < MAX_ITER)
    separated = is_separated(design, y)
    if not converged:
        warning: str | None = (f"Churn model not identified: the optimiser did not converge "
                               f"in {MAX_ITER} iterations; {CONSEQUENCE}")
    elif separated:
        warning = ("Churn model not identified: the features separate churned from renewed "
                   "training terms, so some coefficients have no finite maximum-likelihood "
                   f"value; {CONSEQUENCE}")
    elif not np.all(np.isfinite(se)):
        warning = ("Churn model not identified: the features are collinear (singular "
                   f"information matrix), so standard errors cannot be computed; {CONSEQUENCE}")
    else:
        warning = None
    return FitDiagnostics(
        n_train=int(y.size), n_churned=int((y == 1).sum()), n_renewed=int((y == 0).sum()),
        log_likelihood=log_likelihood, intercept_se=float(se[0]),
        coefficient_se=tuple(float(v) for v in se[1:]), converged=converged,
        is_separated=separated, is_identified=warning is None, warning=warning)


def contributions(model: ChurnModel, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """(rows, features): ``coef_j * (x_j - mean_j) / sd_j``, log-odds of churn."""
    z = model.pipeline[:-1].transform(_matrix(frame, model.features))
    return np.asarray(z, dtype=np.float64) * model.coefficients[None, :]


def risk_band(probability: npt.ArrayLike,
              thresholds: tuple[float, float] = DEFAULT_BAND_THRESHOLDS) -> npt.NDArray[np.str_]:
    """low / medium / high by the churn-probability ``thresholds`` (lower bounds inclusive)."""
    lo, hi = thresholds
    if not 0.0 < lo < hi < 1.0:
        raise ValueError("thresholds must satisfy 0 < low < high < 1")
    p = np.asarray(probability, dtype=np.float64)
    return np.asarray(RISK_BANDS)[np.searchsorted(np.array([lo, hi]), p, side="right")]


DRIVER_MIN_CONTRIBUTION = 1e-12
"""Contributions (log-odds) at or below this are rounding, not a driver."""


def top_drivers(contrib: npt.NDArray[np.float64], features: Sequence[str],
                k: int = 3) -> list[list[str | None]]:
    """Per row, the ``k`` features with the largest positive contribution (None to pad)."""
    names = np.asarray(list(features), dtype=object)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(contrib, order, axis=1)
    # A missing value is imputed to the mean, but the imputer's and the scaler's
    # means differ by rounding: such a feature must not surface as a driver.
    labels = np.where(picked > DRIVER_MIN_CONTRIBUTION, names[order], None)
    return [list(row) for row in labels]


def score(model: ChurnModel, frame: pd.DataFrame, k_drivers: int = 3,
          thresholds: tuple[float, float] = DEFAULT_BAND_THRESHOLDS) -> pd.DataFrame:
    """Churn probability, risk band and top drivers per term.

    Returns ``subscription_id`` (and ``customer_id``, ``end_date`` when present),
    ``churn_probability``, ``risk_band`` and ``driver_1`` … ``driver_<k>``.
    """
    keys = [c for c in ("subscription_id", "customer_id", "end_date") if c in frame.columns]
    out = frame.loc[:, keys].reset_index(drop=True)
    p = model.pipeline.predict_proba(_matrix(frame, model.features))[:, 1]
    out["churn_probability"] = p
    out["risk_band"] = risk_band(p, thresholds)
    drivers = top_drivers(contributions(model, frame), model.features, k_drivers)
    for i in range(k_drivers):
        out[f"driver_{i + 1}"] = [row[i] for row in drivers]
    return out


def driver_ranking(model: ChurnModel) -> pd.DataFrame:
    """Global drivers: standardised coefficients, churn-raising first, by size."""
    coef = model.coefficients
    frame = pd.DataFrame({
        "feature": list(model.features),
        "coefficient": coef,
        "odds_ratio_per_sd": np.exp(coef),
    })
    return frame.sort_values("coefficient", ascending=False, kind="stable").reset_index(
        drop=True)


def calibration_table(probability: npt.ArrayLike, outcome: npt.ArrayLike,
                      bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn per quantile bin of the prediction (deciles)."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    group = np.empty(p.size, dtype=np.int64)
    group[order] = np.arange(p.size) * bins // max(p.size, 1)
    frame = pd.DataFrame({"bin": group + 1, "p": p, "y": y})
    table = frame.groupby("bin").agg(terms=("p", "size"), mean_predicted=("p", "mean"),
                                     observed=("y", "mean"))
    return table.reset_index()


def latest_training_end(test_start: date, timing: Timing = DEFAULT_TIMING) -> date:
    """Exclusive end of the training window for a test window starting at ``test_start``.

    The first test term is scored ``lead_days`` before its end; a training term's label
    is known ``grace_days`` after its end. Training on terms that end before
    ``test_start - lead_days - grace_days`` uses only labels known at every scoring time.
    """
    return test_start - timedelta(days=timing.lead_days + timing.grace_days)


def time_split(features: pd.DataFrame, train_start: date, train_end: date,
               test_start: date, test_end: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Terms ending in ``[train_start, train_end)`` and in ``[test_start, test_end)``."""
    if train_end > test_start:
        raise ValueError("the training window must end before the test window starts")
    end = pd.to_datetime(features["end_date"])
    train = features[(end >= pd.Timestamp(train_start)) & (end < pd.Timestamp(train_end))]
    test = features[(end >= pd.Timestamp(test_start)) & (end < pd.Timestamp(test_end))]
    return train, test


def backtest(train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str] = FEATURES,
             bins: int = 10) -> Backtest:
    """Fit on ``train``, score ``test``: AUC, Brier score, calibration and drivers."""
    model = fit(train, features)
    scored = score(model, test)
    y = test[LABEL].to_numpy(dtype=np.int64)
    p = scored["churn_probability"].to_numpy()
    scored[LABEL] = y
    return Backtest(
        model=model,
        train_terms=len(train),
        test_terms=len(test),
        auc=float(roc_auc_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        observed_rate=float(y.mean()),
        mean_predicted=float(p.mean()),
        calibration=calibration_table(p, y, bins),
        drivers=driver_ranking(model),
        scored=scored,
    )
