"""Benchmark: per-group error-rate bootstrap, voxtext-fairness vs fairlearn's MetricFrame.

Work: 1,000 bootstrap resamples of the micro-averaged error rate (errors / reference units)
of 100,000 utterances in 20 groups, with a 95 % interval per group and for the worst-best
gap. Both run on the same per-utterance counts, alternating, in one process; medians are
printed. Utterances are the resampling unit for both (fairlearn has no cluster bootstrap).

fairlearn's MetricFrame(n_boot=1000) takes tens of minutes here, so it is timed at a small
n_boot (``--fairlearn-n-boot``) and scaled linearly: full = t(no bootstrap) + 1000 × the
measured cost per replicate. The output says so.

    python benchmarks/fairness.py [--repeats 3] [--fairlearn-n-boot 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

N_UTTERANCES = 100_000
N_GROUPS = 20
N_BOOT = 1000


def make_counts(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-utterance errors and reference words, and a group label, for 20 dialects."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, N_GROUPS, N_UTTERANCES)
    units = rng.integers(1, 30, N_UTTERANCES)
    errors = rng.binomial(units, 0.08 + 0.01 * group)
    labels = np.array([f"d{k:02d}" for k in range(N_GROUPS)])[group]
    return errors, units, labels


def run_voxtext(errors: np.ndarray, units: np.ndarray, labels: np.ndarray) -> tuple[float, object]:
    from voxtext_fairness.group_stats import GroupedCounts, StatsSettings, analyse_groups

    start = time.perf_counter()
    counts = GroupedCounts.from_arrays(errors, units, labels)
    analysis, _ = analyse_groups(counts, StatsSettings(n_boot=N_BOOT, seed=0), with_tests=False)
    return time.perf_counter() - start, analysis


def run_fairlearn(
    errors: np.ndarray, units: np.ndarray, labels: np.ndarray, n_boot: int | None
) -> tuple[float, object]:
    from fairlearn.metrics import MetricFrame

    def micro_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.sum(y_pred) / np.sum(y_true))

    start = time.perf_counter()
    frame = MetricFrame(
        metrics=micro_rate,
        y_true=units,
        y_pred=errors,
        sensitive_features=labels,
        n_boot=n_boot,
        ci_quantiles=[0.025, 0.975] if n_boot else None,
        random_state=0,
    )
    _ = frame.by_group, frame.difference()
    if n_boot:
        _ = frame.by_group_ci, frame.difference_ci()
    return time.perf_counter() - start, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fairlearn-n-boot", type=int, default=4)
    args = parser.parse_args()
    errors, units, labels = make_counts()
    ours, base, small = [], [], []
    analysis = frame = None
    run_voxtext(errors[:1000], units[:1000], labels[:1000])  # warm imports
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        seconds, analysis = run_voxtext(errors, units, labels)
        ours.append(seconds)
        base.append(run_fairlearn(errors, units, labels, None)[0])
        seconds, frame = run_fairlearn(errors, units, labels, args.fairlearn_n_boot)
        small.append(seconds)
    ours_s, base_s, small_s = (statistics.median(v) for v in (ours, base, small))
    per_replicate = max(small_s - base_s, 0.0) / args.fairlearn_n_boot
    fairlearn_full = base_s + N_BOOT * per_replicate
    print(
        f"work: {N_BOOT} bootstrap resamples, {N_UTTERANCES:,} utterances, {N_GROUPS} "
        f"groups; {args.repeats} alternating runs, medians; cpu count {os.cpu_count()}"
    )
    print(f"{'implementation':58s} {'seconds':>10s}")
    print(f"{'voxtext-fairness analyse_groups (n_boot=1000)':58s} {ours_s:10.3f}")
    print(f"{'fairlearn MetricFrame, no bootstrap':58s} {base_s:10.3f}")
    print(
        f"{f'fairlearn MetricFrame(n_boot={args.fairlearn_n_boot}) measured':58s} {small_s:10.3f}"
    )
    print(f"{'fairlearn MetricFrame(n_boot=1000), scaled linearly':58s} {fairlearn_full:10.1f}")
    print(
        f"speed-up (fairlearn scaled / voxtext): {fairlearn_full / ours_s:,.0f}×  "
        f"[target: voxtext < 2 s and ≥ 50×]"
    )
    _print_agreement(analysis, frame)


def _print_agreement(analysis: object, frame: object) -> None:
    """Point estimates must agree exactly; intervals only roughly (different resamplers)."""
    by_group = frame.by_group  # type: ignore[attr-defined]
    worst = max(abs(g.rate - by_group.loc[g.group]) for g in analysis.groups)  # type: ignore[attr-defined]
    print(
        f"max |rate difference| vs fairlearn: {worst:.2e}; gap: voxtext "
        f"{analysis.gap.gap:.5f} vs fairlearn {frame.difference():.5f}"
    )  # type: ignore[attr-defined]
    group = analysis.groups[0]  # type: ignore[attr-defined]
    print(
        f"group {group.group}: voxtext 95% CI [{group.ci[0]:.4f}, {group.ci[1]:.4f}] "
        f"(fairlearn's CI at a few replicates is too noisy to compare)"
    )


if __name__ == "__main__":
    main()
