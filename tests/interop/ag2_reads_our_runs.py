"""Reads two run JSON files written by eval-engine with AG2's own loader and diff.

Usage: python ag2_reads_our_runs.py CURRENT.json BASELINE.json

Prints one JSON object on stdout: what AG2 made of each run (task count, pass rates, score
stats) and of their diff (regressions, flips), for the Rust side to compare with its own view.
Any exception AG2 raises while loading or diffing propagates: a non-zero exit is a failure.
"""

import json
import sys

from ag2.eval import load_run


def describe(run):
    aggregates = run.aggregates
    return {
        "run_id": run.run_id,
        "schema_version": run.schema_version,
        "tasks": len(run.tasks),
        "task_ids": [tr.task.task_id for tr in run.tasks],
        "pass_rate": dict(aggregates.pass_rate),
        "score_stats": {
            key: {"mean": s.mean, "p50": s.p50, "p95": s.p95, "n": s.n}
            for key, s in aggregates.score_stats.items()
        },
        "errors": aggregates.errors,
    }


def main(current_path, baseline_path):
    current = load_run(current_path)
    baseline = load_run(baseline_path)
    diff = current.diff(baseline)
    print(
        json.dumps(
            {
                "current": describe(current),
                "baseline": describe(baseline),
                "regressions": [list(pair) for pair in diff.regressions],
                "flipped_to_pass": [list(pair) for pair in diff.flipped_to_pass],
                "summary": diff.summary(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
