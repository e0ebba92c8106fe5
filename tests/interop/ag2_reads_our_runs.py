"""Reads two run JSON files written by eval-engine with AG2's own loader and diff.

Usage: python ag2_reads_our_runs.py CURRENT.json BASELINE.json PAIRWISE.json

Prints one JSON object on stdout: what AG2 made of each run (task count, pass rates, score
stats) and of their diff (regressions, flips), and the win rates and position flips AG2's
`PairwiseRunResult` computes from the pairwise JSON, for the Rust side to compare with its own
view.
Any exception AG2 raises while loading or diffing propagates: a non-zero exit is a failure.
"""

import json
import sys

from ag2.eval import load_run
from ag2.eval.pairwise import PairwiseCase, PairwiseRunResult


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


def pairwise(path):
    with open(path, encoding="utf-8") as file:
        doc = json.load(file)
    result = PairwiseRunResult(
        run_id=doc["run_id"],
        label=doc["label"],
        cases=tuple(
            PairwiseCase(
                task_id=case["task_id"],
                key=case["key"],
                winner=case["winner"],
                reasoning=case["reasoning"],
                detail=case["detail"],
            )
            for case in doc["cases"]
        ),
        variant_a=doc["variant_a"],
        variant_b=doc["variant_b"],
        keys=tuple(doc["keys"]),
        created_at=doc["created_at"],
        duration_ms=doc["duration_ms"],
        n_pairs=doc["n_pairs"],
    )
    summary = result.to_dict()
    return {
        "win_rates": summary["win_rates"],
        "flips": summary["flips"],
        "n_cases": len(result.cases),
        "variant_b": summary["variant_b"],
        "summary": result.summary(),
    }


def main(current_path, baseline_path, pairwise_path):
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
                "pairwise": pairwise(pairwise_path),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
