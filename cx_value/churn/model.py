"""Churn-risk model of contract terms: fit, diagnose, score and backtest.

The terms come from the warehouse (``int_contract_term_features``, one row per term,
label ``is_churned`` 1 / 0 / NULL while undecided); which columns are features and of
what kind comes from ``churn_feature_catalog``. This module only fits.

A logistic regression on standardised features (missing values set to the training mean,
so a missing value contributes nothing). A categorical feature is one-hot encoded: one
0/1 column per category seen in training except the most frequent one (the reference,
all zeros, so the columns are not collinear with the intercept); its columns are NULL
where the category is NULL, so an unknown category contributes nothing, and a category
never seen in training scores as the reference. Plain logistic regression is kept
without a separate calibration step: its maximum-likelihood fit makes the mean
prediction equal the observed rate on the training terms, overall and within every
binary column, so it is calibrated by construction as long as the later terms resemble
the training ones; an isotonic or Platt step would spend data on another split and
would break the additive per-row driver decomposition. :func:`honest_backtest` measures
the calibration actually achieved on terms the model did not see.

Drivers of one row are the contributions ``coef_j * (x_j - mean_j) / sd_j`` on the
log-odds scale; the top drivers are the columns with the largest positive contribution,
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
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

LABEL = "is_churned"
NUMERIC = "numeric"
CATEGORICAL = "categorical"
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high")
DEFAULT_BAND_THRESHOLDS: tuple[float, float] = (0.30, 0.50)
"""Churn probability bounds of the risk bands: low < 0.30 <= medium < 0.50 <= high."""

MIN_VARIED_SHARE = 0.01
"""A model column is fitted only if at least this share of training terms differ from
its mode."""

MAX_ITER = 1000
"""Iterations of the logistic regression's solver; reaching them means no convergence."""

MIN_CLASS_TERMS = 10
"""Fewest churned and fewest renewed terms a fit needs (and each side of a backtest):
the events-per-class floor below which a logistic regression's intercept alone is
barely determined."""

TEST_SHARE = 0.3
"""Share of the labelled terms, the latest by cut-off, that a time split holds out."""

CV_FOLDS = 5
"""Folds of the grouped cross-validation."""

CONSEQUENCE = "churn probabilities, risk bands and drivers are unreliable"


@dataclass(frozen=True)
class Feature:
    """A candidate feature: a column of the term features, numeric or categorical."""

    name: str
    kind: str = NUMERIC

    def __post_init__(self) -> None:
        if self.kind not in (NUMERIC, CATEGORICAL):
            raise ValueError(f"feature kind must be {NUMERIC} or {CATEGORICAL}, not {self.kind}")


@dataclass(frozen=True)
class ModelColumn:
    """One column of the design: a numeric feature, or one category of a categorical
    feature (``name`` is ``<source>=<category>``)."""

    name: str
    source: str
    category: str | None = None


def as_features(features: Sequence[str | Feature]) -> tuple[Feature, ...]:
    """Names as numeric features; features as they are."""
    return tuple(f if isinstance(f, Feature) else Feature(f) for f in features)


def categories(values: pd.Series) -> tuple[str, ...]:
    """The categories of ``values`` (NULL left out), most frequent first, ties by name:
    the first is the reference of the one-hot encoding."""
    counts = values.dropna().astype(str).value_counts()
    return tuple(sorted(counts.index, key=lambda c: (-int(counts[c]), c)))


def design_columns(train: pd.DataFrame, features: Sequence[str | Feature]
                   ) -> tuple[tuple[ModelColumn, ...], dict[str, str]]:
    """The design of ``features`` on ``train``: model columns, and the reference
    category of each categorical feature that has one."""
    columns: list[ModelColumn] = []
    references: dict[str, str] = {}
    for feature in as_features(features):
        if feature.kind == NUMERIC:
            columns.append(ModelColumn(feature.name, feature.name))
            continue
        levels = categories(train[feature.name])
        if not levels:
            continue
        references[feature.name] = levels[0]
        columns += [ModelColumn(f"{feature.name}={level}", feature.name, level)
                    for level in levels[1:]]
    return tuple(columns), references


def encode(frame: pd.DataFrame, columns: Sequence[ModelColumn]) -> pd.DataFrame:
    """The design matrix as a frame of floats: numeric columns as they are, a category
    1.0 / 0.0, NaN where the value is missing."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    for column in columns:
        values = frame[column.source]
        if column.category is None:
            out[column.name] = pd.to_numeric(values).to_numpy(dtype=np.float64,
                                                              na_value=np.nan)
        else:
            known = values.notna().to_numpy()
            same = (values.astype(str) == column.category).to_numpy()
            out[column.name] = np.where(known, same.astype(np.float64), np.nan)
    return pd.DataFrame(out, index=frame.index, columns=[c.name for c in columns])


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
    """A fitted pipeline, the design columns it reads (in order), the columns left out,
    the reference categories, and the fit's diagnostics (None only for a model
    assembled by hand)."""

    pipeline: Pipeline
    columns: tuple[ModelColumn, ...]
    constant_features: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)
    diagnostics: FitDiagnostics | None = None

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the model columns, in the order of the coefficients."""
        return tuple(c.name for c in self.columns)

    @property
    def coefficients(self) -> npt.NDArray[np.float64]:
        """Coefficients per standard deviation of each column (log-odds of churn)."""
        return np.asarray(self.pipeline.named_steps["model"].coef_[0], dtype=np.float64)

    @property
    def intercept(self) -> float:
        """Log-odds of churn of a term with every column at its training mean."""
        return float(self.pipeline.named_steps["model"].intercept_[0])

    def matrix(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The model's design matrix of ``frame``."""
        return encode(frame, self.columns).to_numpy(dtype=np.float64, na_value=np.nan)

    def predict(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Churn probability of every row of ``frame``."""
        return np.asarray(self.pipeline.predict_proba(self.matrix(frame))[:, 1],
                          dtype=np.float64)


def varied_features(train: pd.DataFrame, features: Sequence[str],
                    min_share: float = MIN_VARIED_SHARE) -> tuple[str, ...]:
    """Columns on which at least ``min_share`` of the training terms leave the mode.

    A column that (nearly) never varies in the training terms cannot be learnt; left in,
    its tiny standard deviation would blow up the rare later value (e.g. a category only
    a handful of terms hold, or a term length the training terms barely have).
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


def fit(train: pd.DataFrame, features: Sequence[str | Feature], c: float = 1.0) -> ChurnModel:
    """Fit the churn model on labelled terms (``is_churned`` 0/1).

    Categorical features are one-hot encoded (module docstring); model columns that
    hardly vary in ``train`` (:func:`varied_features`) are left out and listed in
    ``constant_features``.
    """
    y = train[LABEL].to_numpy(dtype=np.int64)
    if np.unique(y).size < 2:
        raise ValueError("training terms must contain both churned and renewed terms")
    columns, references = design_columns(train, features)
    design = encode(train, columns)
    varied = set(varied_features(design, design.columns))
    constant = tuple(c.name for c in columns if c.name not in varied)
    columns = tuple(c for c in columns if c.name in varied)
    if not columns:
        raise ValueError("no feature varies across the training terms")
    pipeline = Pipeline([
        ("impute", SimpleImputer(strategy="mean")),
        ("scale", StandardScaler()),
        ("model", LogisticRegression(C=c, max_iter=MAX_ITER)),
    ])
    x = design.loc[:, [c.name for c in columns]].to_numpy(dtype=np.float64, na_value=np.nan)
    pipeline.fit(x, y)
    return ChurnModel(pipeline=pipeline, columns=columns, constant_features=constant,
                      references=references, diagnostics=diagnose(pipeline, x, y))


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
    """(rows, columns): ``coef_j * (x_j - mean_j) / sd_j``, log-odds of churn."""
    z = model.pipeline[:-1].transform(model.matrix(frame))
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
    p = model.predict(frame)
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


def labelled(features: pd.DataFrame) -> pd.DataFrame:
    """The terms whose outcome is known, with an integer label."""
    out = features[features[LABEL].notna()].copy()
    out[LABEL] = out[LABEL].astype("int64")
    return out


def class_counts(terms: pd.DataFrame) -> tuple[int, int]:
    """(churned, renewed) among labelled terms."""
    y = terms[LABEL]
    return int((y == 1).sum()), int((y == 0).sum())


def class_shortfall(terms: pd.DataFrame, what: str,
                    min_class_terms: int = MIN_CLASS_TERMS) -> str | None:
    """Why ``terms`` hold too few churned or renewed terms, or None when both suffice."""
    churned, renewed = class_counts(terms)
    if churned < min_class_terms or renewed < min_class_terms:
        return (f"{what} needs at least {min_class_terms} churned and {min_class_terms} "
                f"renewed terms, found {churned} churned and {renewed} renewed")
    return None


@dataclass(frozen=True)
class Backtest:
    """Out-of-sample results: how (``method`` ``time_split`` or ``grouped_cv``), on how
    many terms, AUC, Brier score, the base rate and calibration by decile; or
    ``status`` ``not_run`` / ``failed`` with the reason and NaN-free NULL measures."""

    status: str
    method: str | None
    reason: str | None
    n_train: int = 0
    n_test: int = 0
    n_test_churned: int = 0
    split_date: date | None = None
    n_folds: int | None = None
    auc: float | None = None
    brier: float | None = None
    base_rate: float | None = None
    mean_predicted: float | None = None
    calibration: pd.DataFrame | None = None
    scored: pd.DataFrame | None = None


RUN, NOT_RUN, BACKTEST_FAILED = "run", "not_run", "failed"
TIME_SPLIT, GROUPED_CV = "time_split", "grouped_cv"


def split_date(terms: pd.DataFrame, test_share: float = TEST_SHARE) -> date:
    """The cut-off date from which the latest ``test_share`` of labelled terms are held out."""
    cutoffs = pd.to_datetime(terms["cutoff_at"]).sort_values(kind="stable")
    at = cutoffs.iloc[min(int(len(cutoffs) * (1.0 - test_share)), len(cutoffs) - 1)]
    return at.date()


def time_split(terms: pd.DataFrame, split: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on terms decided and cut off before ``split``, test on terms cut off on or
    after it: the model knows only outcomes known at ``split``, and scores terms whose
    inputs all come later, as it would have in production."""
    at = pd.Timestamp(split)
    cutoff = pd.to_datetime(terms["cutoff_at"])
    outcome = pd.to_datetime(terms["outcome_date"])
    train = terms[(outcome < at) & (cutoff < at)]
    test = terms[cutoff >= at]
    return train, test


def _measured(method: str, y: npt.NDArray[np.int64], p: npt.NDArray[np.float64],
              n_train: int, scored: pd.DataFrame, bins: int, split: date | None = None,
              folds: int | None = None) -> Backtest:
    return Backtest(
        status=RUN, method=method, reason=None, n_train=n_train, n_test=int(y.size),
        n_test_churned=int(y.sum()), split_date=split, n_folds=folds,
        auc=float(roc_auc_score(y, p)), brier=float(brier_score_loss(y, p)),
        base_rate=float(y.mean()), mean_predicted=float(p.mean()),
        calibration=calibration_table(p, y, bins), scored=scored)


def grouped_cv(terms: pd.DataFrame, features: Sequence[str | Feature], folds: int = CV_FOLDS,
               seed: int = 0) -> npt.NDArray[np.float64]:
    """Out-of-fold churn probability of every labelled term, folds grouped by customer
    (all terms of a customer in one fold, so no customer is both learnt and scored) and
    stratified by the label."""
    y = terms[LABEL].to_numpy(dtype=np.int64)
    groups = terms["customer_id"].astype(str).to_numpy()
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    p = np.full(len(terms), np.nan)
    for train_rows, test_rows in splitter.split(np.zeros(len(terms)), y, groups):
        model = fit(terms.iloc[train_rows], features)
        p[test_rows] = model.predict(terms.iloc[test_rows])
    return p


def honest_backtest(features: pd.DataFrame, candidates: Sequence[str | Feature],
                    min_class_terms: int = MIN_CLASS_TERMS, test_share: float = TEST_SHARE,
                    folds: int = CV_FOLDS, bins: int = 10) -> Backtest:
    """Score terms the model did not learn from; never NaN without a reason.

    A time split (:func:`time_split` at :func:`split_date`) when churn spreads over time:
    both the training and the held-out terms hold at least ``min_class_terms`` churned
    and renewed terms. Otherwise grouped cross-validation by customer
    (:func:`grouped_cv`) over every labelled term, when those hold enough of both
    classes for every fold. Otherwise ``not_run`` with the reason; a fit that raises
    gives ``failed``.
    """
    terms = labelled(features).reset_index(drop=True)
    if terms.empty:
        return Backtest(NOT_RUN, None, "no labelled terms")
    split = split_date(terms, test_share)
    train, test = time_split(terms, split)
    why_not_split = (class_shortfall(train, "the training window", min_class_terms)
                     or class_shortfall(test, "the held-out window", min_class_terms))
    try:
        if why_not_split is None:
            model = fit(train, candidates)
            p = model.predict(test)
            scored = test.assign(churn_probability=p)
            return _measured(TIME_SPLIT, test[LABEL].to_numpy(dtype=np.int64), p, len(train),
                             scored, bins, split=split)
        why_not_cv = class_shortfall(terms, "grouped cross-validation",
                                     max(min_class_terms, folds))
        if terms["customer_id"].nunique() < folds:
            why_not_cv = f"grouped cross-validation needs {folds} customers"
        if why_not_cv is not None:
            return Backtest(NOT_RUN, None, f"no time split: {why_not_split}; {why_not_cv}")
        p = grouped_cv(terms, candidates, folds)
        scored = terms.assign(churn_probability=p)
        # every term is scored once, by a model that never saw its customer
        return _measured(GROUPED_CV, terms[LABEL].to_numpy(dtype=np.int64), p,
                         len(terms) - len(terms) // folds, scored, bins, folds=folds)
    except Exception as error:  # a backtest that fails is reported, not raised
        return Backtest(BACKTEST_FAILED, None, f"{type(error).__name__}: {error}")
