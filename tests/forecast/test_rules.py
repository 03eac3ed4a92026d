"""BG/NBD and Gamma-Gamma without a database: the CDNOW sample's published estimates, parameters
recovered from data simulated with known ones, the closed forms' limits, and rounding to 分."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from memberkit.forecast.rules import (
    BgNbdParams,
    FitRefused,
    GammaGammaParams,
    bgnbd_log_likelihood,
    bgnbd_objective,
    collapse,
    expected_purchases,
    expected_purchases_new,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    gamma_gamma_objective,
    holdout_table,
    minor_units,
    p_alive,
    scaled,
    scaled_array,
    simulate_bgnbd,
    simulate_gamma_gamma,
)

CDNOW = Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"
# Fader, Hardie & Lee (2005), table 1 and Fader & Hardie (2013): weeks as the time unit.
CDNOW_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow() -> np.ndarray:
    return np.genfromtxt(CDNOW, delimiter=",", names=True)


def test_cdnow_bgnbd_fit_gives_the_published_estimates(cdnow: np.ndarray) -> None:
    # when BG/NBD is fitted on the 2,357 CDNOW customers
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])

    # then r, α, a, b and the log-likelihood are those of the paper (to its three decimals)
    p = fit.params
    assert isinstance(p, BgNbdParams)
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.rows == 2357
    assert fit.distinct_rows < fit.rows


def test_cdnow_gamma_gamma_fit_gives_the_published_estimates(cdnow: np.ndarray) -> None:
    # when Gamma-Gamma is fitted on the 946 CDNOW repeat buyers' mean spend
    fit = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])

    # then p, q, v are those of Fader & Hardie (2013)
    p = fit.params
    assert isinstance(p, GammaGammaParams)
    assert (round(p.p, 2), round(p.q, 2)) == (6.25, 3.74)
    assert p.v == pytest.approx(15.44, abs=0.01)  # the paper prints 15.44; the optimum is 15.448
    assert fit.rows == 946


def test_cdnow_conditional_expectation_of_the_papers_example() -> None:
    # given the paper's customer: 2 repeat purchases, the last at 30.43 weeks, observed 38.86
    x, t_x, T = np.array([2.0]), np.array([30.43]), np.array([38.86])

    # then the next 39 weeks hold 1.226 expected purchases (FHL 2005, section 5)
    assert round(float(expected_purchases(CDNOW_BGNBD, 39, x, t_x, T)[0]), 3) == 1.226


def test_a_member_without_repeat_purchases_is_surely_alive() -> None:
    # given members with x = 0 observed for any length of time
    T = np.array([0.0, 1.0, 50.0, 5000.0])

    # then P(alive) is exactly 1: BG/NBD drops out only right after a purchase
    assert p_alive(CDNOW_BGNBD, np.zeros(4), np.zeros(4), T).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_p_alive_closed_form_and_limits() -> None:
    p = CDNOW_BGNBD
    # at t_x = T only the drop right after the last purchase is possible: 1 / (1 + a/(b+x-1))
    at_end = p_alive(p, np.array([3.0]), np.array([20.0]), np.array([20.0]))[0]
    assert at_end == pytest.approx(1 / (1 + p.a / (p.b + 2)), rel=1e-12)
    # the longer the silence since the last purchase, the likelier the member is gone
    T = np.array([20.0, 40.0, 80.0, 1e6])
    alive = p_alive(p, np.full(4, 3.0), np.full(4, 20.0), T)
    assert np.all(np.diff(alive) < 0)
    assert alive[-1] < 1e-9
    # and more purchases in the same silence say more about an active buyer gone quiet
    many = p_alive(p, np.array([1.0, 10.0]), np.array([20.0, 20.0]), np.array([40.0, 40.0]))
    assert many[0] > many[1]


def test_expected_purchases_limits() -> None:
    p = CDNOW_BGNBD
    x, t_x, T = np.array([0.0, 2.0, 5.0]), np.array([0.0, 30.43, 10.0]), np.array([38.86] * 3)
    # nothing is expected in no time
    assert expected_purchases(p, 0, x, t_x, T).tolist() == [0.0, 0.0, 0.0]
    # more time, more purchases
    e = [expected_purchases(p, t, x, t_x, T) for t in (1, 10, 100, 1000)]
    assert all(np.all(later > earlier) for earlier, later in itertools.pairwise(e))
    # a member just acquired (0, 0, 0) is the unconditional E[X(t)] of FHL eq. 7
    for t in (1.0, 39.0, 78.0):
        conditional = expected_purchases(p, t, np.zeros(1), np.zeros(1), np.zeros(1))[0]
        assert conditional == pytest.approx(expected_purchases_new(p, np.array([t]))[0], rel=1e-10)


def test_expected_purchases_new_matches_the_simulated_mean() -> None:
    # given 200,000 members simulated over 52 weeks from the CDNOW parameters
    rng = np.random.default_rng(7)
    x, _, _ = simulate_bgnbd(CDNOW_BGNBD, np.full(200_000, 52.0), rng)

    # then the mean repeat count is the closed form's E[X(52)] within 2%
    assert float(np.mean(x)) == pytest.approx(
        expected_purchases_new(CDNOW_BGNBD, np.array([52.0]))[0], rel=0.02
    )


@pytest.mark.parametrize(
    "truth",
    [
        BgNbdParams(r=0.5, alpha=20.0, a=0.8, b=2.5),
        BgNbdParams(r=1.2, alpha=60.0, a=1.5, b=6.0),
    ],
)
def test_bgnbd_recovers_simulated_parameters_within_ten_percent(truth: BgNbdParams) -> None:
    # given 40,000 members in days, first purchases spread over two years, simulated from truth
    rng = np.random.default_rng(20261202)
    x, t_x, T = simulate_bgnbd(truth, rng.uniform(90, 730, 40_000), rng)

    # when BG/NBD is fitted on their summaries
    fit = fit_bgnbd(x, t_x, T).params

    # then every parameter is within 10% of the truth
    assert isinstance(fit, BgNbdParams)
    for got, want in [
        (fit.r, truth.r),
        (fit.alpha, truth.alpha),
        (fit.a, truth.a),
        (fit.b, truth.b),
    ]:
        assert got == pytest.approx(want, rel=0.10)


def test_gamma_gamma_recovers_simulated_parameters_within_ten_percent() -> None:
    # given mean spends in 分 of 30,000 members with 1 to 20 repeat purchases
    truth = GammaGammaParams(p=6.0, q=4.0, v=1500.0)
    rng = np.random.default_rng(11)
    x = rng.integers(1, 21, 30_000).astype(float)
    m = simulate_gamma_gamma(truth, x, rng)

    # when Gamma-Gamma is fitted
    fit = fit_gamma_gamma(x, m).params

    # then p, q, v are within 10%
    assert isinstance(fit, GammaGammaParams)
    for got, want in [(fit.p, truth.p), (fit.q, truth.q), (fit.v, truth.v)]:
        assert got == pytest.approx(want, rel=0.10)


def test_collapsed_rows_fit_the_same_as_every_row() -> None:
    # given whole-day summaries, many of them identical
    rng = np.random.default_rng(3)
    x, t_x, T = simulate_bgnbd(
        BgNbdParams(0.5, 20.0, 0.8, 2.5), rng.integers(30, 200, 5000).astype(float), rng
    )
    t_x = np.floor(t_x)
    (ux, _, _), w = collapse(x, t_x, T)
    assert w.sum() == 5000 and len(ux) < 5000

    # then the weighted fit and the row-by-row fit agree
    a = fit_bgnbd(x, t_x, T).params
    b = fit_bgnbd(x, t_x, T, collapse_rows=False).params
    assert isinstance(a, BgNbdParams) and isinstance(b, BgNbdParams)
    assert a.r == pytest.approx(b.r, rel=1e-4)
    assert a.b == pytest.approx(b.b, rel=1e-4)


def test_fit_is_refused_without_repeat_buyers() -> None:
    # given three members of whom only one came back
    with pytest.raises(FitRefused) as refused:
        fit_bgnbd(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 5.0]), np.array([9.0, 9.0, 9.0]))

    # then the refusal names the reason and the figures
    assert refused.value.reason == "too_few_repeat_buyers"
    assert refused.value.figures == {"members": 3, "repeat_buyers": 1}
    with pytest.raises(FitRefused):
        fit_gamma_gamma(np.array([0.0, 1.0]), np.array([0.0, 100.0]))


def test_expected_spend_conditional_and_population_mean() -> None:
    p = GammaGammaParams(p=6.25, q=3.74, v=15.44)
    got = expected_spend(p, np.array([0.0, 2.0]), np.array([0.0, 22.35]), fallback=99.0)
    # x = 0: the population mean p·v/(q−1); x = 2: p(v + x·m)/(p·x + q − 1)
    assert got[0] == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-12)
    assert got[1] == pytest.approx(6.25 * (15.44 + 2 * 22.35) / (12.5 + 2.74), rel=1e-12)
    # without a finite population mean (q ≤ 1) the fallback is used
    assert (
        expected_spend(GammaGammaParams(2.0, 0.9, 5.0), np.zeros(1), np.zeros(1), fallback=42.0)[0]
        == 42.0
    )


def test_amounts_round_half_up_to_whole_minor_units() -> None:
    assert [minor_units(v) for v in (2.5, 3.5, 1234.5, 1234.4999, 0.5, -3.0, float("nan"))] == [
        3,
        4,
        1235,
        1234,
        1,
        0,
        0,
    ]
    assert scaled(0.1234565, 1_000_000) == 123457
    assert scaled(1.0, 1_000_000) == 1_000_000


def test_holdout_table_groups_by_calibration_repeat_days() -> None:
    x_cal = np.array([0, 0, 1, 9, 7])
    actual = np.array([0.0, 2.0, 1.0, 4.0, 6.0])
    predicted = np.array([0.5, 0.5, 1.5, 3.0, 5.0])
    rows = holdout_table(x_cal, actual, predicted)
    assert [(r.repeat, r.members, r.actual, r.predicted) for r in rows] == [
        (0, 2, 1.0, 0.5),
        (1, 1, 1.0, 1.5),
        (2, 0, 0.0, 0.0),
        (3, 0, 0.0, 0.0),
        (4, 0, 0.0, 0.0),
        (5, 0, 0.0, 0.0),
        (6, 0, 0.0, 0.0),
        (7, 2, 5.0, 4.0),
    ]


@pytest.mark.parametrize(
    "log_params",
    [
        np.log([0.243, 4.414, 0.793, 2.426]),
        np.log([1.0, 30.0, 1.0, 1.0]),
        np.array([-3, 2, 1, -2.0]),
    ],
)
def test_bgnbd_gradient_matches_finite_differences(
    cdnow: np.ndarray, log_params: np.ndarray
) -> None:
    # given the CDNOW rows collapsed into weights
    (x, t_x, T), w = collapse(cdnow["x"], cdnow["t_x"], cdnow["T"])
    negative = bgnbd_objective(x, t_x, T, w)

    # then the value is the mean negative log-likelihood and the gradient that of finite steps
    value, gradient = negative(log_params)
    ll = bgnbd_log_likelihood(BgNbdParams(*np.exp(log_params)), x, t_x, T)
    assert value == pytest.approx(-float(np.dot(w, ll)) / w.sum(), rel=1e-12)
    numeric = approx_fprime(log_params, lambda z: negative(z)[0], 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("log_params", [np.log([6.25, 3.74, 15.44]), np.array([0.0, 1.0, 3.0])])
def test_gamma_gamma_gradient_matches_finite_differences(
    cdnow: np.ndarray, log_params: np.ndarray
) -> None:
    # given the CDNOW repeat buyers' mean spends
    keep = cdnow["x"] > 0
    (x, m), w = collapse(cdnow["x"][keep], cdnow["zbar"][keep])
    negative = gamma_gamma_objective(x, m, w)

    # then the value is the mean negative log-likelihood and the gradient that of finite steps
    value, gradient = negative(log_params)
    ll = gamma_gamma_log_likelihood(GammaGammaParams(*np.exp(log_params)), x, m)
    assert value == pytest.approx(-float(np.dot(w, ll)) / w.sum(), rel=1e-12)
    numeric = approx_fprime(log_params, lambda z: negative(z)[0], 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_scaled_array_rounds_half_up_exactly_as_scaled() -> None:
    # given halves, values a float error away from a half, non-positive and non-finite values
    boundary = [2.5, 3.5, 1234.5, 1234.4999, 0.5, 0.49999999999999994, 0.5000000000000001]
    awkward = [-3.0, 0.0, float("nan"), float("inf"), 0.1234565, 1.0, 1e-12, 4.5e12]
    rng = np.random.default_rng(7)
    values = np.array(boundary + awkward + list(rng.random(2000) * 1000))

    # then every scale gives what the Decimal rounding gives value by value
    for scale in (1, 1000, 1_000_000):
        assert scaled_array(values, scale).tolist() == [scaled(float(v), scale) for v in values]
    assert scaled_array(np.array([2.5, 0.1234565]), 1).tolist() == [3, 0]
    assert scaled_array(np.array([0.1234565]), 1_000_000).tolist() == [123457]
