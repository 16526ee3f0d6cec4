#!/usr/bin/env python3
"""Pools several runs of bench/server_bench.py (their --json files) into one
table of ratios to the asio peer.

One run's median of 5 rounds still moves by a few percent on this shared
2-core machine, which is the size of the differences being measured. Each
round of a model runs right after the same round of asio, so the ratio of
the two is paired: a slow spell of the machine hits both. This script
takes every paired ratio from every run and reports, per scenario and
model, how many rounds there were, in how many the model was at least as
fast as asio, and the median and the spread of the paired ratios of
throughput and of p99.

Usage: python3 bench/pool_server_runs.py run1.json run2.json ... [--markdown FILE]
"""
import argparse
import json
import statistics
import sys
from pathlib import Path


def quartiles(values):
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="--json files of bench/server_bench.py")
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()

    pooled = {}  # (connections, pipeline) -> model -> list of (rps ratio, p99 ratio)
    headers = []
    for path in args.runs:
        data = json.loads(Path(path).read_text())
        headers.append(data["started"])
        for scenario in data["scenarios"]:
            key = (scenario["connections"], scenario["pipeline"])
            asio = scenario["rounds"]["asio"]
            for model, rounds in scenario["rounds"].items():
                if model == "asio":
                    continue
                for mine, theirs in zip(rounds, asio):
                    if mine.get("failed") or theirs.get("failed") or not theirs["rps"]:
                        continue
                    pooled.setdefault(key, {}).setdefault(model, []).append(
                        (mine["rps"] / theirs["rps"], mine["p99_us"] / theirs["p99_us"]))

    lines = [f"Pooled paired ratios to asio from {len(args.runs)} runs:", ""]
    lines += [f"- {header}" for header in headers]
    lines += ["", "| connections x pipeline | server | rounds | rounds at >= asio req/s | req/s ratio median "
              "(middle half) | p99 ratio median (middle half) | rounds with p99 <= 1.1x |",
              "|---|---|---|---|---|---|---|"]
    for (connections, pipeline), models in pooled.items():
        for model, pairs in models.items():
            rps = sorted(p[0] for p in pairs)
            p99 = sorted(p[1] for p in pairs)
            r_lo, r_hi = quartiles(rps)
            p_lo, p_hi = quartiles(p99)
            lines.append(
                f"| {connections:,} x {pipeline} | {model} | {len(pairs)} | {sum(r >= 1.0 for r in rps)} | "
                f"{statistics.median(rps):.2f}x ({r_lo:.2f}-{r_hi:.2f}) | "
                f"{statistics.median(p99):.2f}x ({p_lo:.2f}-{p_hi:.2f}) | {sum(p <= 1.1 for p in p99)} |")
    print("\n".join(lines))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
