"""BG/NBD and Gamma-Gamma: fitted by maximum likelihood, then per-member churn risk and value.

Pure: plain numpy arrays in, plain numbers out; no database. The time unit is whatever the
summaries are in (the service uses **days**); the fitted α carries that unit, r, a and b do not.

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a member
  buys at rate λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b).
- Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a member's spend
  per purchase is Gamma(p, ν) with ν ~ Gamma(q, v), independent of the purchase process.

A member's summary: ``x`` repeat purchase days (purchases after the first, one per day), ``t_x``
the time of the last purchase since the first, ``T`` the time from the first purchase to the
as-of date, ``m`` the mean value of the repeat purchases (minor units).

Identical rows are collapsed into weights before the fit, so the likelihood is evaluated once per
distinct (x, t_x, T) — with whole days, a million members have far fewer distinct rows. Within
the fit the special functions are taken on the distinct values of x (and the logarithms on those
of T and t_x) only, and L-BFGS-B gets the analytic gradient, so it needs a few dozen evaluations
instead of five per step of finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from memberkit.kit.i18n import _

Array = NDArray[np.float64]

# Log-parameters are kept within e^±20: past that a parameter has run off to a boundary
# (e.g. b → ∞ when nobody drops out) and the likelihood is flat there.
_LOG_BOUND = 20.0


#: What each reason of a refused fit (``ForecastFit.message``) means, for people.
REASONS: dict[str, str] = {
    "too_few_repeat_buyers": _("too few members bought again"),
    "no_observation_time": _("no member has been observed for a day yet"),
    "not_converged": _("the fit did not converge"),
}


class FitRefused(ValueError):
    """The data cannot support a fit (too few members or repeat buyers); ``reason`` says which."""

    def __init__(self, reason: str, **figures: int) -> None:
        self.reason = reason
        self.figures = figures
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: purchase rate Gamma(r, α), dropout Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters: spend per purchase Gamma(p, ν), ν ~ Gamma(q, v)."""

    p: float
    q: float
    v: float


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fitted model: parameters, the log-likelihood at the optimum and the effort it took."""

    params: BgNbdParams | GammaGammaParams
    log_likelihood: float
    rows: int
    distinct_rows: int
    evaluations: int


def collapse(*columns: Array) -> tuple[list[Array], Array]:
    """Distinct rows of the given columns and how many times each occurs (the fit's weights).

    Each column is replaced by the rank of its value among its distinct values and the ranks
    combined into one integer key, so the rows are sorted as one int64 array (``np.unique`` over
    rows sorts them lexicographically, seconds on a million). Rows come out in that order.
    """
    ranks = []
    values = []
    for column in columns:
        distinct, inverse = np.unique(np.asarray(column, dtype=np.float64), return_inverse=True)
        values.append(distinct)
        ranks.append(inverse.astype(np.int64))
    if float(np.prod([float(len(v)) for v in values])) >= 2.0**62:
        stacked = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
        rows, counts = np.unique(stacked, axis=0, return_counts=True)
        return [rows[:, i] for i in range(rows.shape[1])], counts.astype(np.float64)
    key = np.zeros(len(ranks[0]) if ranks else 0, dtype=np.int64)
    for rank, distinct in zip(ranks, values, strict=True):
        key = key * len(distinct) + rank
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return [v[rank[first]] for v, rank in zip(values, ranks, strict=True)], counts.astype(
        np.float64
    )


def bgnbd_log_likelihood(params: BgNbdParams, x: Array, t_x: Array, T: Array) -> Array:
    """Per-row log-likelihood of BG/NBD (FHL 2005, eq. 6), vectorised."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # The dropout-after-last-purchase term exists only for repeat buyers; log(a/(b+x-1)) is
    # evaluated on a safe denominator and masked away for x = 0.
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def gamma_gamma_log_likelihood(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """Per-row log-likelihood of the mean spend ``m`` of ``x`` purchases (Fader & Hardie 2013)."""
    p, q, v = params.p, params.q, params.v
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m),
        dtype=np.float64,
    )


Objective = Callable[[Array], tuple[float, Array]]


def _maximise(
    negative: Objective, start: Array, *, rows: int, distinct: int
) -> tuple[Array, float, int]:
    """Minimise a mean negative log-likelihood over log-parameters with L-BFGS-B.

    ``negative`` returns the value and its gradient with respect to the log-parameters.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    result = minimize(negative, start, method="L-BFGS-B", jac=True, bounds=bounds)
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise FitRefused("not_converged", rows=rows, distinct_rows=distinct)
    return np.asarray(result.x), float(result.fun), int(result.nfev)


def bgnbd_objective(x: Array, t_x: Array, T: Array, w: Array) -> Objective:
    """The mean negative BG/NBD log-likelihood of weighted rows and its gradient in log-params.

    The same likelihood as :func:`bgnbd_log_likelihood`; what depends on x alone is computed on
    the distinct values of x (weighted by their total weight), the logarithms of α + T and
    α + t_x on the distinct T and t_x, and only the mixture term ``logaddexp`` per row.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    total = float(w.sum())
    vx, ix = np.unique(x, return_inverse=True)
    vT, iT = np.unique(np.asarray(T, dtype=np.float64), return_inverse=True)
    vt, it = np.unique(np.asarray(t_x, dtype=np.float64), return_inverse=True)
    wx = np.bincount(ix, weights=w, minlength=len(vx))
    repeat = x > 0
    # log(b + x − 1) exists only for repeat buyers; the x = 0 rows get a harmless 1.
    vrepeat = vx > 0
    rw = w[repeat]
    r_ix, r_iT, r_it = ix[repeat], iT[repeat], it[repeat]
    r_x = x[repeat]
    nr_iT = iT[~repeat]
    nr_w = w[~repeat]
    nr_x = x[~repeat]

    def negative(log_params: Array) -> tuple[float, Array]:
        r, alpha, a, b = np.exp(log_params)
        # terms of x alone, on the distinct x
        f_x = (
            gammaln(r + vx)
            - gammaln(r)
            + gammaln(b + vx)
            - gammaln(a + b + vx)
            - gammaln(b)
            + gammaln(a + b)
        )
        d_r_x = digamma(r + vx) - digamma(r)
        d_ab = digamma(a + b)
        d_abx = digamma(a + b + vx)
        d_a_x = d_ab - d_abx
        d_b_x = digamma(b + vx) - d_abx - digamma(b) + d_ab
        log_T = np.log(alpha + vT)
        inv_T = 1.0 / (alpha + vT)
        log_t = np.log(alpha + vt)
        inv_t = 1.0 / (alpha + vt)
        log_b = np.log(np.where(vrepeat, b + vx - 1, 1.0))
        inv_b = 1.0 / np.where(vrepeat, b + vx - 1, 1.0)

        ll = float(np.dot(wx, f_x)) + np.log(alpha) * r * total
        g_r = float(np.dot(wx, d_r_x)) + np.log(alpha) * total
        g_alpha = r / alpha * total
        g_a = float(np.dot(wx, d_a_x))
        g_b = float(np.dot(wx, d_b_x))

        # members without a repeat purchase: the mixture is A3 = −(r + x)·log(α + T) alone
        if nr_w.size:
            rx0 = r + nr_x
            ll -= float(np.dot(nr_w, rx0 * log_T[nr_iT]))
            g_r -= float(np.dot(nr_w, log_T[nr_iT]))
            g_alpha -= float(np.dot(nr_w, rx0 * inv_T[nr_iT]))

        # repeat buyers: log(e^A3 + e^A4), A4 = log a − log(b + x − 1) − (r + x)·log(α + t_x)
        rx = r + r_x
        lT = log_T[r_iT]
        lt = log_t[r_it]
        a3 = -rx * lT
        a4 = np.log(a) - log_b[r_ix] - rx * lt
        mix = np.logaddexp(a3, a4)
        s4 = np.exp(a4 - mix)
        s3 = 1.0 - s4
        ll += float(np.dot(rw, mix))
        ws3, ws4 = rw * s3, rw * s4
        g_r -= float(np.dot(ws3, lT) + np.dot(ws4, lt))
        g_alpha -= float(np.dot(ws3 * rx, inv_T[r_iT]) + np.dot(ws4 * rx, inv_t[r_it]))
        sum4 = float(ws4.sum())
        g_a += sum4 / a
        g_b -= float(np.dot(np.bincount(r_ix, weights=ws4, minlength=len(vx)), inv_b))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b]) / total
        return -ll / total, -grad

    return negative


def gamma_gamma_objective(x: Array, m: Array, w: Array) -> Objective:
    """The mean negative Gamma-Gamma log-likelihood of weighted rows and its log-param gradient."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    total = float(w.sum())
    log_m = np.log(m)
    log_x = np.log(x)
    xm = x * m
    # (p·x − 1)·log m + p·x·log x = p·Σ w·x·(log m + log x) − Σ w·log m: two constants
    c_p = float(np.dot(w, x * (log_m + log_x)))
    c_0 = -float(np.dot(w, log_m))

    def negative(log_params: Array) -> tuple[float, Array]:
        p, q, v = np.exp(log_params)
        px = p * x
        pxq = px + q
        log_vxm = np.log(v + xm)
        ll = (
            float(np.dot(w, gammaln(pxq) - gammaln(px) - pxq * log_vxm))
            + total * (q * np.log(v) - gammaln(q))
            + p * c_p
            + c_0
        )
        d_pxq = digamma(pxq)
        g_p = float(np.dot(w, x * (d_pxq - digamma(px) - log_vxm))) + c_p
        g_q = float(np.dot(w, d_pxq - log_vxm)) + total * (np.log(v) - digamma(q))
        g_v = total * q / v - float(np.dot(w, pxq / (v + xm)))
        grad = np.array([g_p * p, g_q * q, g_v * v]) / total
        return -ll / total, -grad

    return negative


def fit_bgnbd(
    x: Array, t_x: Array, T: Array, *, collapse_rows: bool = True, min_repeat_buyers: int = 2
) -> FitResult:
    """Fit BG/NBD by maximum likelihood; refuse when there are too few repeat buyers."""
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    rows = len(x)
    repeat_buyers = int(np.count_nonzero(x > 0))
    if repeat_buyers < min_repeat_buyers:
        raise FitRefused("too_few_repeat_buyers", members=rows, repeat_buyers=repeat_buyers)
    if not np.any(T > 0):
        raise FitRefused("no_observation_time", members=rows, repeat_buyers=repeat_buyers)
    if collapse_rows:
        (ux, ut, uT), w = collapse(x, t_x, T)
    else:
        ux, ut, uT, w = x, t_x, T, np.ones(rows)
    total = float(w.sum())
    negative = bgnbd_objective(ux, ut, uT, w)
    # α is a time scale: starting it at the mean observation time keeps the first steps sane
    # whatever the unit (days or weeks).
    start = np.log(np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0]))
    best, fun, evaluations = _maximise(negative, start, rows=rows, distinct=len(ux))
    r, alpha, a, b = (float(v) for v in np.exp(best))
    return FitResult(BgNbdParams(r, alpha, a, b), -fun * total, rows, len(ux), evaluations)


def fit_gamma_gamma(
    x: Array, m: Array, *, collapse_rows: bool = True, min_repeat_buyers: int = 2
) -> FitResult:
    """Fit Gamma-Gamma on repeat buyers (x > 0, m > 0); rows without repeat spend are ignored."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    rows = len(x)
    if rows < min_repeat_buyers:
        raise FitRefused("too_few_repeat_buyers", members=rows, repeat_buyers=rows)
    if collapse_rows:
        (ux, um), w = collapse(x, m)
    else:
        ux, um, w = x, m, np.ones(rows)
    total = float(w.sum())
    negative = gamma_gamma_objective(ux, um, w)
    start = np.log(np.array([1.0, 2.0, max(float(np.mean(m)), 1e-3)]))
    best, fun, evaluations = _maximise(negative, start, rows=rows, distinct=len(ux))
    p, q, v = (float(val) for val in np.exp(best))
    return FitResult(GammaGammaParams(p, q, v), -fun * total, rows, len(ux), evaluations)


def p_alive(params: BgNbdParams, x: Array, t_x: Array, T: Array) -> Array:
    """P(still alive at T | x, t_x, T) (FHL 2005, eq. 11); exactly 1 for members with x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    repeat = x > 0
    safe = np.where(repeat, b + x - 1, 1.0)
    log_ratio = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    # 1 / (1 + e^L) written so that a huge L gives 0, not an overflow warning.
    alive = np.exp(-np.logaddexp(0.0, log_ratio))
    return np.asarray(np.where(repeat, alive, 1.0), dtype=np.float64)


def expected_purchases(params: BgNbdParams, t: float, x: Array, t_x: Array, T: Array) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10), using Gauss's ₂F₁."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
    return np.asarray(head * body * p_alive(params, x, t_x, T), dtype=np.float64)


def expected_purchases_new(params: BgNbdParams, t: Array) -> Array:
    """E[X(t)]: purchases of a member just acquired in a period of length t (FHL 2005, eq. 7)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + t)
    return np.asarray(
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z)),
        dtype=np.float64,
    )


def expected_spend(params: GammaGammaParams, x: Array, m: Array, *, fallback: float) -> Array:
    """E[spend per purchase | x, m] (Fader & Hardie 2013, eq. 5); ``fallback`` where x = 0.

    For a member with no repeat purchase the conditional mean reduces to the population mean
    p·v/(q−1); when q ≤ 1 that mean does not exist and ``fallback`` (e.g. the sample mean) is used.
    """
    p, q, v = params.p, params.q, params.v
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    population = p * v / (q - 1) if q > 1 else fallback
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = p * (v + x * m) / (p * x + q - 1)
    return np.asarray(np.where(x > 0, conditional, population), dtype=np.float64)


def minor_units(value: float) -> int:
    """A model's float amount as whole minor units, rounded half-up (never stored as a float)."""
    if not np.isfinite(value) or value <= 0:
        return 0
    return int(Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def scaled(value: float, scale: int) -> int:
    """A model's float as an integer count of 1/scale, rounded half-up (e.g. ppm, thousandths)."""
    if not np.isfinite(value) or value <= 0:
        return 0
    return minor_units(float(value) * scale)


#: How close to a half a float may be and still be rounded by numpy rather than by Decimal.
_HALF_MARGIN = 1e-9


def scaled_array(values: Array, scale: int) -> NDArray[np.int64]:
    """:func:`scaled` of every value at once: numpy, and Decimal only near a .5 boundary.

    ``floor(v + 0.5)`` is half-up except where v is within float error of a half (or too large
    for a float to hold its fraction); those few values go through :func:`minor_units`.
    """
    v = np.asarray(values, dtype=np.float64) * scale
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(v) & (v > 0)
        safe = np.where(usable, v, 0.0)
        rounded = np.floor(safe + 0.5)
        fraction = safe - np.floor(safe)
        exact = (np.abs(fraction - 0.5) >= _HALF_MARGIN) & (safe < 2.0**52)
    out = np.where(usable, rounded, 0.0).astype(np.int64)
    for i in np.flatnonzero(usable & ~exact):
        out[i] = minor_units(float(v[i]))
    return out


@dataclass(frozen=True, slots=True)
class HoldoutRow:
    """One bar pair of the Fader-Hardie plot: members with ``repeat`` calibration repeat days."""

    repeat: int
    members: int
    actual: float
    predicted: float


def holdout_table(
    x_cal: Array, actual: Array, predicted: Array, *, top: int = 7
) -> list[HoldoutRow]:
    """Mean actual vs predicted holdout purchases by calibration repeat days 0..top-1 and top+."""
    x_cal = np.asarray(x_cal, dtype=np.int64)
    bucket = np.minimum(x_cal, top)
    rows = []
    for k in range(top + 1):
        chosen = bucket == k
        n = int(np.count_nonzero(chosen))
        rows.append(
            HoldoutRow(
                repeat=k,
                members=n,
                actual=float(np.mean(actual[chosen])) if n else 0.0,
                predicted=float(np.mean(predicted[chosen])) if n else 0.0,
            )
        )
    return rows


def simulate_bgnbd(
    params: BgNbdParams, T: Array, rng: np.random.Generator
) -> tuple[Array, Array, Array]:
    """Draw (x, t_x, T) for members observed for T from the BG/NBD generative process."""
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    drop = rng.beta(params.a, params.b, size=n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0, size=active.size) / rate[active]
        active = active[now[active] <= T[active]]
        x[active] += 1
        t_x[active] = now[active]
        # The member may drop out right after each repeat purchase.
        active = active[rng.random(active.size) >= drop[active]]
    return x, t_x, T


def simulate_gamma_gamma(params: GammaGammaParams, x: Array, rng: np.random.Generator) -> Array:
    """Draw each member's mean spend over their ``x`` purchases (0 where x = 0)."""
    x = np.asarray(x, dtype=np.float64)
    nu = rng.gamma(params.q, 1.0 / params.v, size=len(x))
    # The sum of x Gamma(p, ν) spends is Gamma(p·x, ν); its mean divides by x.
    shape = np.where(x > 0, params.p * x, 1.0)
    total = rng.gamma(shape, 1.0 / nu)
    return np.asarray(np.where(x > 0, total / np.maximum(x, 1), 0.0), dtype=np.float64)
