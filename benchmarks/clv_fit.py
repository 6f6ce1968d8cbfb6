"""Benchmark: fit BG/NBD and Gamma-Gamma with cx_value.clv and with lifetimes 0.11.3.

Usage: python benchmarks/clv_fit.py [--customers N] [--repeat K] [--seed S]

Two data sets: the CDNOW sample summary (2,357 customers, weeks) and N (default
1,000,000) one-off buyers drawn directly from BG/NBD and Gamma-Gamma with the CDNOW
parameters (cx_value.clv.simulate): first purchases spread over 78 weeks, times
recorded to the day (T and t_x in whole days, expressed in weeks), mean spend to the
cent. Each library fits each data set K times (default 3); the median times, the
fitted parameters and their largest relative difference go into one JSON line,
printed and appended to benchmarks/results/clv_fit.jsonl.

lifetimes is an optional benchmark dependency (pip install lifetimes==0.11.3); it is
fitted on the customer rows as given, its documented usage.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cx_value.clv import (
    BGNBDParams,
    GammaGammaParams,
    bgnbd,
    gamma_gamma,
    simulate_bgnbd,
    simulate_mean_spend,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "clv_fit.jsonl"
CDNOW = ROOT / "tests" / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
PLANTED_BGNBD = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PLANTED_GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x, t_x, T, m_x


def cdnow() -> Data:
    frame = pd.read_csv(CDNOW)
    return tuple(frame[c].to_numpy(float) for c in ("x", "t_x", "T", "zbar"))  # type: ignore[return-value]


def generated(customers: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    t_cal = rng.integers(1, 78 * 7 + 1, size=customers) / 7.0
    x, t_x = simulate_bgnbd(PLANTED_BGNBD, t_cal, rng, resolution=1 / 7)
    m_x = np.round(simulate_mean_spend(PLANTED_GG, x, rng), 2)
    return x, t_x, t_cal, m_x


def ours(data: Data) -> dict[str, list[float]]:
    x, t_x, t_cal, m_x = data
    bg = bgnbd.fit(x, t_x, t_cal)
    gg = gamma_gamma.fit(x, m_x)
    return {"bgnbd": bg.as_array().tolist(), "gamma_gamma": gg.as_array().tolist()}


def lifetimes_fit(data: Data) -> dict[str, list[float]]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    x, t_x, t_cal, m_x = data
    repeat = x > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter().fit(x, t_x, t_cal)
        gg = GammaGammaFitter().fit(x[repeat], m_x[repeat])
    return {"bgnbd": bg.params_[["r", "alpha", "a", "b"]].tolist(),
            "gamma_gamma": gg.params_[["p", "q", "v"]].tolist()}


def timed(fit: Callable[[Data], dict[str, list[float]]], data: Data,
          repeat: int) -> tuple[dict[str, list[float]], list[float]]:
    seconds, result = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = fit(data)
        seconds.append(time.perf_counter() - start)
    return result, seconds


def compare(name: str, data: Data, repeat: int) -> dict:
    mine, my_seconds = timed(ours, data, repeat)
    theirs, their_seconds = timed(lifetimes_fit, data, repeat)
    rel = max(float(np.max(np.abs(np.array(mine[m]) / np.array(theirs[m]) - 1.0)))
              for m in mine)
    ours_median, theirs_median = statistics.median(my_seconds), statistics.median(their_seconds)
    return {
        "data": name,
        "customers": int(data[0].size),
        "repeat_buyers": int((data[0] > 0).sum()),
        "ours_s": [round(s, 3) for s in my_seconds],
        "lifetimes_s": [round(s, 3) for s in their_seconds],
        "ours_median_s": round(ours_median, 3),
        "lifetimes_median_s": round(theirs_median, 3),
        "speedup": round(theirs_median / ours_median, 2),
        "max_rel_param_diff": rel,
        "ours": mine,
        "lifetimes": theirs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import lifetimes

    start = time.perf_counter()
    generated_data = generated(args.customers, args.seed)
    generate_s = time.perf_counter() - start
    runs = [compare("cdnow", cdnow(), args.repeat),
            compare("generated", generated_data, args.repeat)]
    runs[1]["generate_s"] = round(generate_s, 3)
    record = {
        "benchmark": "clv_fit",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "lifetimes": lifetimes.__version__,
        "machine": platform.machine(),
        "seed": args.seed,
        "repeat": args.repeat,
        "runs": runs,
    }
    line = json.dumps(record)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(line + "\n")
    ok = all(r["max_rel_param_diff"] < 1e-3 for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
