"""Time of the CLV fit (BG/NBD + Gamma-Gamma) on a million members' summaries.

Summaries are simulated from known parameters (whole days, first purchases spread over three
years), as ``forecast.service.fit`` hands them to ``forecast.rules``:

  fit        ``fit_bgnbd`` + ``fit_gamma_gamma`` on all members, identical rows collapsed into
             weights (the service's path), then P(alive), 90- and 365-day expectations and the
             expected spend of every member.
  baseline   the same BG/NBD fit without collapsing, on a subsample (default 100,000 members),
             and its time per member scaled to the full count.

Prints the distinct rows, likelihood evaluations, seconds, the recovered parameters beside the
truth, and the ratio of the scaled baseline to the weighted fit. No database is involved: the
SQL summary is measured with the history import's data (not built here).

    .venv/bin/python bench/forecast.py [--members 1000000] [--baseline 100000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from memberkit.forecast import rules

TRUTH = rules.BgNbdParams(r=0.6, alpha=45.0, a=0.8, b=3.0)
SPEND = rules.GammaGammaParams(p=5.0, q=4.0, v=3000.0)
TARGET_SECONDS = 30.0


def simulate(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Whole-day summaries (x, t_x, T) and mean repeat spends of ``n`` members."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 3 * 365, n).astype(np.float64)
    x, t_x, T = rules.simulate_bgnbd(TRUTH, T, rng)
    t_x = np.floor(t_x)
    m = np.round(rules.simulate_gamma_gamma(SPEND, x, rng))
    return x, t_x, T, m


def main() -> None:
    """Run the fit and the baseline and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}")

    started = time.perf_counter()
    x, t_x, T, m = simulate(args.members, args.seed)
    print(f"simulated {args.members:,} members in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    bg = rules.fit_bgnbd(x, t_x, T)
    gg = rules.fit_gamma_gamma(x, m)
    fitted = time.perf_counter() - started
    bgp, ggp = bg.params, gg.params
    assert isinstance(bgp, rules.BgNbdParams) and isinstance(ggp, rules.GammaGammaParams)
    alive = rules.p_alive(bgp, x, t_x, T)
    soon = rules.expected_purchases(bgp, 90, x, t_x, T)
    year = rules.expected_purchases(bgp, 365, x, t_x, T)
    spend = rules.expected_spend(ggp, x, m, fallback=float(m[x > 0].mean()))
    value = year * spend
    total = time.perf_counter() - started
    print(
        f"fit       {fitted:6.2f} s  ({bg.distinct_rows:,} distinct BG/NBD rows of {bg.rows:,}, "
        f"{gg.distinct_rows:,} Gamma-Gamma rows; {bg.evaluations} + {gg.evaluations} evaluations)"
    )
    print(f"fit + every member's forecast {total:6.2f} s (target < {TARGET_SECONDS:.0f} s)")
    print(
        f"  BG/NBD   r={bgp.r:.3f} α={bgp.alpha:.2f} a={bgp.a:.3f} b={bgp.b:.3f}"
        f"   truth r={TRUTH.r} α={TRUTH.alpha} a={TRUTH.a} b={TRUTH.b}"
    )
    print(
        f"  Gamma-Gamma p={ggp.p:.3f} q={ggp.q:.3f} v={ggp.v:.1f}"
        f"   truth p={SPEND.p} q={SPEND.q} v={SPEND.v}"
    )
    print(
        f"  mean P(alive) {alive.mean():.3f}, 90-day purchases {soon.mean():.3f}, "
        f"12-month value {value.mean() / 100:.2f} yuan"
    )

    n = min(args.baseline, args.members)
    pick = np.random.default_rng(1).choice(args.members, n, replace=False)
    started = time.perf_counter()
    base = rules.fit_bgnbd(x[pick], t_x[pick], T[pick], collapse_rows=False)
    baseline = time.perf_counter() - started
    scaled = baseline * args.members / n
    print(
        f"baseline  {baseline:6.2f} s on {n:,} members without collapsing "
        f"({base.evaluations} evaluations); scaled to {args.members:,}: {scaled:.1f} s"
    )
    print(f"ratio     baseline (scaled) / weighted fit = {scaled / fitted:.1f}×")


if __name__ == "__main__":
    main()
