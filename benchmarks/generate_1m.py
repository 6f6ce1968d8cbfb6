"""Benchmark: generate 1,000,000 customers as Parquet and record the time and sizes.

Usage: python benchmarks/generate_1m.py [OUT_DIR] [--customers N] [--repeat K]
Without OUT_DIR a temporary folder is used and removed afterwards. The generation
runs K times (default 3); one JSON line with every time and their median is printed
and appended to benchmarks/results/generate.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cx_value.generate import generate

RESULTS = Path(__file__).resolve().parent / "results" / "generate.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cx-value-bench-") as tmp:
        out = args.out_dir or Path(tmp)
        runs = []
        for _ in range(args.repeat):
            summary = generate(out, customers=args.customers, seed=args.seed, fmt=args.format,
                               progress=sys.stderr.isatty())
            runs.append(summary.seconds)
        sizes = {name: path.stat().st_size for name, path in summary.paths.items()}
        record = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "customers": args.customers,
            "format": args.format,
            "seconds": round(statistics.median(runs), 3),
            "seconds_runs": runs,
            "rows": summary.rows,
            "bytes": sizes,
            "total_bytes": sum(sizes.values()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
    line = json.dumps(record)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
