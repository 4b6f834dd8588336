"""grimoire.stats against scipy.stats / scipy.special / statsmodels."""

import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss
from grimoire import stats as S
from hypothesis import given, settings
from hypothesis import strategies as st

REL = 1e-10


def close(a, b, rel=REL, abs_=1e-13):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rel, atol=abs_)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.05, 80), x=st.floats(0, 200))
def test_gammainc(a, x):
    close(S.gammainc(a, x), sp.gammainc(a, x), abs_=1e-14)
    close(S.gammaincc(a, x), sp.gammaincc(a, x), rel=1e-9, abs_=1e-14)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.05, 60), b=st.floats(0.05, 60), x=st.floats(0, 1))
def test_betainc(a, b, x):
    close(S.betainc(a, b, x), sp.betainc(a, b, x), rel=1e-9, abs_=1e-14)


# The special functions are loops in the core: arrays of any broadcastable shapes, sizes 0 and 1,
# NaN and infinities, each element against scipy.special.
_shapes = st.sampled_from([(), (0,), (1,), (7,), (3, 1), (1, 4), (2, 3)])


def _values(draw, shape, lo, hi):
    n = int(np.prod(shape))
    return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)), float).reshape(shape)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), sa=_shapes, sx=_shapes)
def test_special_functions_broadcast_elementwise_like_scipy(data, sa, sx):
    try:
        np.broadcast_shapes(sa, sx)
    except ValueError:
        return
    a, b = _values(data.draw, sa, 0.05, 60), _values(data.draw, sa, 0.05, 60)
    x = _values(data.draw, sx, 0, 150)
    close(S.gammainc(a, x), sp.gammainc(a, x), abs_=1e-14)
    close(S.gammaincc(a, x), sp.gammaincc(a, x), rel=1e-9, abs_=1e-14)
    u = x / 150
    close(S.betainc(a, b, u), sp.betainc(a, b, u), rel=1e-9, abs_=1e-14)
    close(S.gammaln(a), sp.gammaln(a), rel=1e-13)
    z = x - 75
    # below the normal range (|z| > 37.5) SciPy flushes to 0 where the core keeps the subnormal
    # (ndtr(-38) = 2.885e-316, as mpmath says): results agree to the smallest normal double there
    close(S._ndtr(z), sp.ndtr(z), rel=1e-13, abs_=np.finfo(np.float64).tiny)
    assert S.gammainc(a, x).shape == np.broadcast_shapes(sa, sx)


def test_special_functions_nan_inf_and_domain():
    x = np.array([np.nan, -np.inf, np.inf, 0.0, -40.0, 9.0])
    close(S._ndtr(x), sp.ndtr(x), rel=1e-13, abs_=0)
    q = np.array([np.nan, -0.1, 0.0, 1e-300, 1e-10, 0.02, 0.5, 0.97, 1 - 1e-12, 1.0, 1.5])
    close(S._ndtri(q), sp.ndtri(q), rel=1e-12, abs_=0)  # NaN outside [0, 1], +-inf at the ends
    close(S.gammainc(2.0, [np.nan, np.inf, 0.0]), sp.gammainc(2.0, [np.nan, np.inf, 0.0]))
    close(S.betainc(2.0, 3.0, [np.nan, -1.0, 2.0]), [np.nan, 0.0, 1.0])
    with pytest.raises(ValueError, match="gammainc needs a > 0 and x >= 0"):
        S.gammainc([1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="betainc needs a > 0 and b > 0"):
        S.betainc(1.0, -2.0, 0.5)


def test_distributions_on_many_points_match_scipy():
    x = np.linspace(-30, 30, 20001)
    close(S.norm(1, 2).cdf(x), ss.norm(1, 2).cdf(x), rel=1e-12, abs_=1e-300)
    close(S.t(3.5).cdf(x), ss.t(3.5).cdf(x), rel=1e-9, abs_=1e-15)
    pos = np.abs(x)
    close(S.chi2(7).sf(pos), ss.chi2(7).sf(pos), rel=1e-9, abs_=1e-15)
    p = np.linspace(0, 1, 20001)
    close(S.norm().ppf(p), ss.norm.ppf(p), rel=1e-12, abs_=1e-15)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 17, 30, 31, 100])
def test_t_integer_df_series_and_far_tail_match_scipy(df):
    # integer df <= 30 take the finite series of P(|T| < z), the rest (and the far tail) the
    # incomplete beta; 31 and 100 cover the switch, and 100 the far tail with z^2 < df, where
    # 0.5 - 0.5 I(1/2, df/2) used to cancel every digit (t(100).cdf(-9.8) = 1.36e-16)
    x = np.concatenate([np.linspace(-40, 40, 4001), np.geomspace(1e-12, 1e6, 400), [0.0, np.inf, -np.inf]])
    x = np.concatenate([x, -x[4001:4401]])
    # df = 1 is the Cauchy distribution: cdf atan2(1, -x) / pi, sf atan2(1, x) / pi, without
    # cancellation (SciPy's t(1).cdf differs from it by ~1e-9 near 0)
    if df == 1:
        cdf, sf = np.arctan2(1, -x) / np.pi, np.arctan2(1, x) / np.pi
    else:
        cdf, sf = ss.t(df).cdf(x), ss.t(df).sf(x)
    close(S.t(df).cdf(x), cdf, rel=1e-11, abs_=1e-300)
    close(S.t(df).sf(x), sf, rel=1e-11, abs_=1e-300)
    assert np.isnan(S.t(df).cdf(np.nan))


def _name(c):
    return type(c).__name__ if not isinstance(c, list) else "x"


CASES = [
    (S.bernoulli(0.3), ss.bernoulli(0.3), [-1, 0, 1, 2]),
    (S.randint(1, 7), ss.randint(1, 7), [0, 1, 3, 6, 7]),
    (S.binom(12, 0.35), ss.binom(12, 0.35), [-1, 0, 3, 7, 12, 13]),
    (S.poisson(3.7), ss.poisson(3.7), [-1, 0, 2, 5, 20]),
    (S.geom(0.25), ss.geom(0.25), [0, 1, 2, 7, 30]),
    (S.nbinom(3.5, 0.4), ss.nbinom(3.5, 0.4), [-1, 0, 2, 9, 40]),
]


@pytest.mark.parametrize("ours,ref,ks", CASES, ids=_name)
def test_discrete(ours, ref, ks):
    ks = np.array(ks, float)
    close(ours.pmf(ks), ref.pmf(ks))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(ours.logpmf(ks), ref.logpmf(ks), rtol=REL)
    close(ours.cdf(ks), ref.cdf(ks))
    close(ours.sf(ks), ref.sf(ks))
    q = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    np.testing.assert_array_equal(ours.ppf(q), ref.ppf(q))
    close(ours.mean(), ref.mean())
    close(ours.var(), ref.var())
    r = ours.rvs(size=4000, random_state=0)
    assert abs(r.mean() - ref.mean()) < 5 * ref.std() / math.sqrt(4000)
    np.testing.assert_array_equal(ours.rvs(5, random_state=1), ours.rvs(5, random_state=1))


CONT = [
    (S.norm(1.5, 2.0), ss.norm(1.5, 2.0), [-5, 0, 1.5, 3, 9]),
    (S.uniform(-1, 3), ss.uniform(-1, 3), [-2, -1, 0.5, 2, 3]),
    (S.t(4.5), ss.t(4.5), [-30, -2, 0, 0.7, 5]),
    (S.t(3, 1, 2), ss.t(3, 1, 2), [-3, 1, 4]),
    (S.chi2(3.0), ss.chi2(3.0), [0.01, 0.5, 3, 12, 40]),
    (S.chi2(1.0), ss.chi2(1.0), [0.01, 0.5, 3]),
    (S.f(4, 9), ss.f(4, 9), [0.01, 0.5, 1, 3, 20]),
]


@pytest.mark.parametrize("ours,ref,xs", CONT, ids=_name)
def test_continuous(ours, ref, xs):
    xs = np.array(xs, float)
    close(ours.pdf(xs), ref.pdf(xs))
    close(ours.logpdf(xs[ref.pdf(xs) > 0]), ref.logpdf(xs[ref.pdf(xs) > 0]))
    close(ours.cdf(xs), ref.cdf(xs))
    close(ours.sf(xs), ref.sf(xs), rel=1e-9)
    q = np.array([1e-6, 0.025, 0.3, 0.5, 0.9, 0.999])
    close(ours.ppf(q), ref.ppf(q), rel=1e-9, abs_=1e-12)
    close(ours.mean(), ref.mean())
    close(ours.var(), ref.var())


def test_norm_tails():
    close(S.norm().sf(10), ss.norm().sf(10))
    close(S.norm().cdf(-10), ss.norm().cdf(-10))
    close(S.norm().ppf([1e-12, 1 - 1e-12]), ss.norm().ppf([1e-12, 1 - 1e-12]), rel=1e-9)
    assert S.norm().ppf(0) == -np.inf and S.norm().ppf(1) == np.inf and np.isnan(S.norm().ppf(1.5))


def test_fit():
    r = np.random.default_rng(0)
    x = r.normal(3, 2, 500)
    fit = S.norm.fit(x)
    close([fit.loc, fit.scale], ss.norm.fit(x))
    assert fit.scale == pytest.approx(np.std(x))  # biased: ddof = 0
    assert S.poisson.fit([1, 2, 3, 6]).mu == 3.0
    assert S.bernoulli.fit([0, 1, 1, 1]).p == 0.75
    assert S.geom.fit([1, 2, 3, 2]).p == 0.5
    assert S.binom.fit([2, 3, 4], n=10).p == pytest.approx(0.3)
    u = S.uniform.fit([2.0, 5.0, 3.0])
    assert (u.loc, u.scale) == (2.0, 3.0)
    assert (S.randint.fit([1, 6, 3]).low, S.randint.fit([1, 6, 3]).high) == (1, 7)
    nb = S.nbinom.fit(r.negative_binomial(3, 0.4, 3000))
    assert 2.4 < nb.n < 3.8
    tf = S.t.fit(ss.t(5, 1, 2).rvs(3000, random_state=1))
    ref = ss.t.fit(ss.t(5, 1, 2).rvs(3000, random_state=1))
    np.testing.assert_allclose([tf.df, tf.loc, tf.scale], ref, rtol=2e-3)
    c = S.chi2.fit(r.chisquare(4, 2000))
    assert c.df == pytest.approx(ss.chi2.fit(r.chisquare(4, 2000), floc=0, fscale=1)[0], rel=0.2)


def test_generic_mle_normal_closed_form():
    x = np.random.default_rng(2).normal(-1, 0.5, 300)
    theta = S.mle(lambda d, th: S.norm(th[0], math.exp(th[1])).logpdf(d), x, [0.0, 0.0])
    assert theta[0] == pytest.approx(x.mean(), abs=1e-6)
    assert math.exp(theta[1]) == pytest.approx(x.std(ddof=0), rel=1e-6)


def test_bayes():
    assert S.bayes(0.3, 0.7, 0.5) == 0.42
    with pytest.raises(ValueError, match="probability"):
        S.bayes(1.3, 0.7, 0.5)
    with pytest.raises(ValueError, match="p_b"):
        S.bayes(0.3, 0.7, 0.0)
    with pytest.raises(ValueError, match="inconsistent"):
        S.bayes(0.9, 0.9, 0.1)
    post = S.posterior([0.5, 0.5], [0.8, 0.2])
    np.testing.assert_allclose(post, [0.8, 0.2])
    with pytest.raises(ValueError):
        S.posterior([0.5, 0.6], [0.1, 0.1])


def test_clt():
    _, ks2 = S.clt_demo(2, 20000, random_state=0)
    _, ks30 = S.clt_demo(30, 20000, random_state=0)
    assert ks30 < 0.02 and ks30 < ks2


def test_ttests():
    r = np.random.default_rng(0)
    a, b = r.normal(0, 1, 20), r.normal(0.6, 2, 25)
    for alt in ("two-sided", "less", "greater"):
        close(tuple(S.ttest_1samp(a, 0.2, alternative=alt)), tuple(ss.ttest_1samp(a, 0.2, alternative=alt)))
        for ev in (True, False):
            close(tuple(S.ttest_ind(a, b, equal_var=ev, alternative=alt)),
                  tuple(ss.ttest_ind(a, b, equal_var=ev, alternative=alt)))
        close(tuple(S.ttest_rel(a, b[:20], alternative=alt)), tuple(ss.ttest_rel(a, b[:20], alternative=alt)))
    with pytest.raises(ValueError, match="paired"):
        S.ttest_rel(a, b)
    with pytest.raises(ValueError, match="NaN"):
        S.ttest_1samp([1, np.nan, 2], 0)
    with pytest.raises(ValueError, match="empty"):
        S.ttest_ind([], [1, 2])


def test_ztest_vs_statsmodels():
    from statsmodels.stats.weightstats import ztest
    r = np.random.default_rng(1)
    a, b = r.normal(0.3, 1, 40), r.normal(0, 1, 30)
    close(tuple(S.ztest(a, value=0.1)), ztest(a, value=0.1))
    close(tuple(S.ztest(a, b)), ztest(a, b))
    close(tuple(S.ztest(a, alternative="greater")), ztest(a, alternative="larger"))


def test_chisquare_and_contingency():
    close(tuple(S.chisquare([16, 18, 16, 14, 12, 12])), tuple(ss.chisquare([16, 18, 16, 14, 12, 12])))
    close(tuple(S.chisquare([16, 18, 16], [20, 20, 10])), tuple(ss.chisquare([16, 18, 16], [20, 20, 10])))
    for table in ([[10, 20], [30, 25]], [[3, 1], [1, 3]], [[12, 5, 7], [3, 9, 11], [4, 4, 4]]):
        for corr in (True, False):
            ours = S.chi2_contingency(table, correction=corr)
            ref = ss.chi2_contingency(table, correction=corr)
            close([ours.statistic, ours.pvalue, ours.df], [ref.statistic, ref.pvalue, ref.dof])
            close(ours.expected_freq, ref.expected_freq)
    with pytest.raises(ValueError, match="same sum"):
        S.chisquare([1, 2], [1, 1])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), data=st.data(), p=st.floats(0.01, 0.99))
def test_binomtest(n, data, p):
    k = data.draw(st.integers(0, n))
    for alt in ("two-sided", "less", "greater"):
        close(S.binomtest(k, n, p, alt).pvalue, ss.binomtest(k, n, p, alternative=alt).pvalue, rel=1e-9)


def test_permutation_test():
    r = np.random.default_rng(0)
    a, b = r.normal(0, 1, 15), r.normal(1, 1, 15)
    ours = S.permutation_test(a, b, n_resamples=4999, random_state=0)
    ref = ss.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), n_resamples=4999,
                              permutation_type="independent", random_state=0)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert abs(ours.pvalue - ref.pvalue) < 0.01
    same = S.permutation_test(a, a + 1e-9, n_resamples=999, random_state=0)
    assert same.pvalue > 0.5


def test_error_rates_by_simulation():
    out = S.power_by_simulation(effect=1.0, n=20, n_sims=600, random_state=0)
    assert abs(out["type_i_error"] - 0.05) < 0.03
    # analytic power of the two-sample t-test at d = 1, n = 20 per group is about 0.87
    assert 0.8 < out["power"] < 0.94
    assert out["type_ii_error"] == pytest.approx(1 - out["power"])


def test_bad_parameters():
    with pytest.raises(ValueError, match="probability"):
        S.binom(5, 1.5)
    with pytest.raises(ValueError, match="positive"):
        S.norm(0, -1)
    with pytest.raises(ValueError, match="positive"):
        S.poisson(0)
    with pytest.raises(ValueError, match="high"):
        S.randint(3, 3)
    with pytest.raises(ValueError, match="n must"):
        S.binom(2.5, 0.5)
