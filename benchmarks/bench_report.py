"""The report of a 2,000-trial sweep: its size, build time, and load and sort times in headless
Chromium (issue 11: it must open and sort without freezing the browser).

    .venv/bin/python benchmarks/bench_report.py [--trials 2000] [--folds 5]

The journal is written synthetically with hpt's own Journal (the events a real sweep writes: a
random search over 4 dimensions, 5 folds, one report per fold, 15% terminated by a bandit-style
stop, 3% failed with a traceback), so the benchmark takes seconds instead of a 2,000-trial sweep.
The page is opened in Debian's Chromium (/usr/bin/chromium) through playwright.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hpt.journal
from hpt.journal import Journal
from hpt.report import write_report

TRACEBACK = 'Traceback (most recent call last):\n  File "train.py", line 1\nValueError: bad\n'


def synthetic_journal(run_dir: Path, trials: int, folds: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    setattr(hpt.journal, "DURABLE", frozenset())  # noqa: B010  # no fsync: the data is throwaway
    journal = Journal(run_dir)
    journal.append(
        "sweep_created",
        config={
            "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
            "cv": {"n_splits": folds},
            "sampler": {"_target_": "hpt.samplers.RandomSampler", "seed": 0},
            "model": {"_target_": "xgboost.XGBClassifier"},
        },
        max_total_runs=trials,
        plan=[f"trials: {trials}"],
    )
    for n in range(trials):
        tid = f"{n:04d}"
        params = {
            "max_depth": rng.randint(2, 10),
            "learning_rate": round(10 ** rng.uniform(-3, -0.5), 6),
            "subsample": round(rng.uniform(0.5, 1.0), 4),
            "booster": rng.choice(["gbtree", "dart"]),
        }
        journal.append("proposed", trial_id=tid, number=n, params=params)
        journal.append("started", trial_id=tid, attempt=1, pid=1, host="bench")
        quality = -2.5 + 0.3 * rng.random()
        fate = rng.random()
        stop_at = rng.randint(1, folds - 1) if fate < 0.15 else None
        scores: list[float] = []
        for k in range(folds):
            score = quality + rng.gauss(0, 0.02)
            scores.append(score)
            journal.append(
                "fold", trial_id=tid, attempt=1, fold=k, test_score=score, fit_time=0.5,
                score_time=0.01, train_score=None,
            )  # fmt: skip
            journal.append(
                "report", trial_id=tid, attempt=1, interval=k + 1, value=sum(scores) / len(scores),
                fold=k,
            )  # fmt: skip
            if stop_at == k + 1:
                reason = {"interval": k + 1, "value": sum(scores) / len(scores),
                          "threshold": -2.3, "rule": "bandit"}  # fmt: skip
                journal.append("stop_requested", trial_id=tid, reason=reason)
                journal.append("terminated", trial_id=tid, attempt=1, reason=reason)
                break
        else:
            if fate > 0.97:
                journal.append(
                    "failed", trial_id=tid, attempt=1, error="ValueError: bad",
                    error_type="ValueError", traceback=TRACEBACK,
                )  # fmt: skip
            else:
                journal.append("completed", trial_id=tid, attempt=1, value=sum(scores) / folds)
    journal.append("sweep_finished", reason=f"max_total_runs={trials} reached")
    journal.close()


def measure_in_chromium(report: Path, profile: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        start = time.perf_counter()
        page.goto(report.as_uri())
        page.wait_for_selector("body[data-rendered='1']", timeout=120_000)
        loaded = time.perf_counter() - start
        timing = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"
        )
        rows = page.locator("#trials-table tbody tr").count()
        draw_ms = float(page.get_attribute("body", "data-draw-ms") or "nan")
        sorts, in_page = [], []
        for column in ("3", "0", "2", "2"):  # a param, the trial id, the metric both ways
            # A click in the page, timed there until the next frame after it was painted (the
            # sort, the layout of 2,000 rows and the paint), without the automation's overhead.
            frame_ms = page.evaluate(
                """(col) => new Promise((done) => {
                    const t0 = performance.now();
                    document.querySelector(`#trials-table th[data-col='${col}']`).click();
                    requestAnimationFrame(() => requestAnimationFrame(
                        () => done(performance.now() - t0)));
                })""",
                column,
            )
            sorts.append(float(frame_ms) / 1000)
            in_page.append(float(page.get_attribute("#trials-table", "data-sort-ms") or "nan"))
        context.close()
    if errors:
        raise SystemExit(f"page errors: {errors}")
    return {
        "open_to_rendered_s": loaded,
        "dom_content_loaded_ms": float(timing["dcl"]),
        "load_event_ms": float(timing["load"]),
        "rows": float(rows),
        "sort_max_s": max(sorts),
        "sort_mean_s": sum(sorts) / len(sorts),
        "draw_ms": draw_ms,
        "sort_in_page_max_ms": max(in_page),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = Path(scratch) / "run"
        start = time.perf_counter()
        synthetic_journal(run_dir, args.trials, args.folds)
        journal_s = time.perf_counter() - start
        start = time.perf_counter()
        report = write_report(run_dir)
        build_s = time.perf_counter() - start
        size = report.stat().st_size
        figures = measure_in_chromium(report, Path(scratch) / "profile")
        journal_size = (run_dir / "journal.jsonl").stat().st_size
    print(
        f"# {args.trials} trials x {args.folds} folds (synthetic journal, {journal_size / 1e6:.1f} MB)"
    )
    print(f"journal written        {journal_s:8.2f} s")
    print(f"report built (hpt)     {build_s:8.2f} s")
    print(f"report.html size       {size / 1e6:8.2f} MB")
    print(f"chromium: open->drawn  {figures['open_to_rendered_s']:8.2f} s "
          f"(DOMContentLoaded {figures['dom_content_loaded_ms']:.0f} ms, load {figures['load_event_ms']:.0f} ms)")  # fmt: skip
    print(f"table rows             {figures['rows']:8.0f}")
    print(f"  of which the script  {figures['draw_ms']:8.0f} ms (table + 4 plots, in the page)")
    print(
        f"sort (click->painted)  {figures['sort_mean_s']:8.3f} s mean, {figures['sort_max_s']:.3f} s max"
        f" (the sort itself: {figures['sort_in_page_max_ms']:.0f} ms max)"
    )


if __name__ == "__main__":
    main()
