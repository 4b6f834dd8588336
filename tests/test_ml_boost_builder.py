"""The gradient-boosting tree builder (``_core.tree_build`` with criterion 'newton'): LightGBM's
scheme (rows partitioned per leaf, the smaller child's histograms built and the larger's
subtracted from the parent's, best-first growth) against a direct NumPy reference that builds
every node's histograms from its own rows."""

from __future__ import annotations

import numpy as np
import pytest
from grimoire import _core

MIN_HESSIAN = 1e-3  # TreeParams::min_hessian


def _best_split(codes, n_bins, g, h, rows, msl, l2):
    """(gain, feature, bin) of a node's best cut, from histograms of its own rows (np.bincount)."""
    G, H, n = g[rows].sum(), h[rows].sum(), rows.size
    parent = G * G / (H + l2)
    best = (-np.inf, -1, -1)
    for f in range(codes.shape[0]):
        c = codes[f, rows].astype(np.int64)
        cnt = np.bincount(c, minlength=n_bins[f])
        hg = np.bincount(c, weights=g[rows], minlength=n_bins[f])
        hh = np.bincount(c, weights=h[rows], minlength=n_bins[f])
        for b in np.flatnonzero(cnt)[:-1]:  # a cut after each non-empty bin but the last
            ln, lg, lh = cnt[:b + 1].sum(), hg[:b + 1].sum(), hh[:b + 1].sum()
            rn, rg, rh = n - ln, G - lg, H - lh
            if ln < msl or rn < msl or lh < MIN_HESSIAN or rh < MIN_HESSIAN:
                continue
            gain = lg * lg / (lh + l2) + rg * rg / (rh + l2) - parent
            if gain > best[0]:
                best = (gain, f, int(b))
    return best


def _reference_tree(codes, n_bins, g, h, max_leaves, msl, l2):
    """Best-first growth, nodes numbered as the core numbers them: (feature, bin) per split node
    and the value -G/(H + l2) per node."""
    nodes = [np.arange(codes.shape[1])]
    split = {}
    gains = {0: _best_split(codes, n_bins, g, h, nodes[0], msl, l2)}
    while len(nodes) - len(split) < max_leaves:
        open_ = [(gains[i][0], -i) for i in gains
                 if i not in split and gains[i][1] >= 0 and gains[i][0] > 1e-12]
        if not open_:
            break
        i = -max(open_)[1]
        _, f, b = gains[i]
        split[i] = (f, b)
        rows = nodes[i]
        for part in (rows[codes[f, rows] <= b], rows[codes[f, rows] > b]):
            nodes.append(part)
            if 2 * msl <= part.size:
                gains[len(nodes) - 1] = _best_split(codes, n_bins, g, h, part, msl, l2)
    values = np.array([-g[r].sum() / (h[r].sum() + l2) for r in nodes])
    return split, values


def _problem(n, d, bins, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, bins, size=(d, n)).astype(np.uint8)
    x = codes.astype(float)
    g = np.tanh(x[0] - bins / 2) + 0.5 * np.sin(x[1]) + 0.3 * rng.normal(size=n)
    h = rng.uniform(0.05, 0.25, size=n)
    return codes, np.full(d, bins, dtype=np.int32), g, h


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_tree_matches_direct_histograms(seed):
    codes, n_bins, g, h = _problem(600, 4, 12, seed)
    a = _core.tree_build(codes, n_bins, "newton", g, h=h, max_leaf_nodes=8, min_samples_leaf=5, l2=0.5,
                         seed=seed)
    split, values = _reference_tree(codes, n_bins, g, h, max_leaves=8, msl=5, l2=0.5)
    internal = np.flatnonzero(a["children_left"] >= 0)
    assert {int(i): (int(a["feature"][i]), int(a["threshold_bin"][i])) for i in internal} == split
    np.testing.assert_allclose(a["value"][:, 0], values, rtol=1e-10, atol=1e-12)


def test_newton_leaf_of_every_row_is_the_traversal():
    # Rows left out by subsampling and rows of weight 0 are walked down the tree; the others are
    # read from the partition: both must be where tree_apply_binned sends them.
    codes, n_bins, g, h = _problem(3000, 5, 40, 3)
    w = np.ones(codes.shape[1])
    w[::7] = 0.0
    sub = np.sort(np.random.default_rng(0).choice(codes.shape[1], 2000, replace=False))
    for kw in (dict(sample_weight=w), dict(sample_indices=sub), {}):
        a = _core.tree_build(codes, n_bins, "newton", g, h=h, max_leaf_nodes=15, min_samples_leaf=10, **kw)
        leaf = _core.tree_apply_binned(codes.astype(np.uint16), a["children_left"], a["children_right"],
                                       a["feature"], a["threshold_bin"])
        np.testing.assert_array_equal(a["leaf"], leaf)
        assert (a["children_left"][a["leaf"]] == -1).all()


def test_newton_same_tree_for_uint8_and_uint16_codes_and_any_thread_count():
    # Large enough for the histogram passes to run in parallel over features.
    codes, n_bins, g, h = _problem(30_000, 13, 200, 4)
    kw = dict(max_leaf_nodes=31, min_samples_leaf=20, seed=5)
    ref = _core.tree_build(codes, n_bins, "newton", g, h=h, num_threads=1, **kw)
    for c, threads in ((codes, 2), (codes.astype(np.uint16), 1), (codes.astype(np.uint16), 2)):
        a = _core.tree_build(c, n_bins, "newton", g, h=h, num_threads=threads, **kw)
        for key in ref:
            np.testing.assert_array_equal(a[key], ref[key], err_msg=key)


def test_newton_weights_equal_repeated_rows():
    # A weight of 2 is the same as the row twice (gradients and hessians sum), counts aside.
    codes, n_bins, g, h = _problem(500, 3, 10, 6)
    w = np.where(np.arange(500) % 3 == 0, 2.0, 1.0)
    rep = np.repeat(np.arange(500), w.astype(int))
    a = _core.tree_build(codes, n_bins, "newton", g, h=h, sample_weight=w, max_leaf_nodes=6, seed=1)
    b = _core.tree_build(np.ascontiguousarray(codes[:, rep]), n_bins, "newton", g[rep], h=h[rep],
                         max_leaf_nodes=6, seed=1)
    np.testing.assert_array_equal(a["feature"], b["feature"])
    np.testing.assert_array_equal(a["threshold_bin"], b["threshold_bin"])
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-12)


def test_newton_uint8_codes_are_checked_against_n_bins():
    codes, n_bins, g, h = _problem(100, 2, 10, 7)
    with pytest.raises(ValueError, match="codes"):
        _core.tree_build(codes, np.array([10, 9], dtype=np.int32), "newton", g, h=h)
    with pytest.raises(TypeError, match="codes"):  # uint8 codes are for 'newton' only
        _core.tree_build(codes, n_bins, "squared_error", g)


def test_bins_are_equal_frequency_quantiles_close_to_scikit_learns():
    # Few distinct values: one bin each, as HistGradientBoosting's binner. More than max_bins
    # distinct values: midpoints at evenly spaced quantiles of the distinct values (documented in
    # bin_features), so each bin holds n / max_bins of all-distinct data (+-1); scikit-learn
    # takes percentiles of the data another way: each cut may sit one value over, no more.
    binning = pytest.importorskip("sklearn.ensemble._hist_gradient_boosting.binning")
    from grimoire.ml.tree import bin_features

    rng = np.random.default_rng(0)
    n = 5000
    X = np.column_stack([rng.normal(size=n), rng.exponential(size=n), rng.integers(0, 7, n)])
    for max_bins in (16, 255):
        codes, n_bins, _ = bin_features(X, max_bins)
        ref = binning._BinMapper(n_bins=max_bins + 1, subsample=None).fit(X).transform(X).T
        np.testing.assert_array_equal(n_bins, [max_bins, max_bins, 7])
        np.testing.assert_array_equal(codes[2], ref[2])
        for j in (0, 1):
            counts = np.bincount(codes[j], minlength=max_bins)
            assert np.abs(counts - n / max_bins).max() <= 1.0
            diff = codes[j].astype(int) - ref[j]
            assert np.abs(diff).max() <= 1 and np.sum(diff != 0) <= max_bins - 1


def test_boosting_fit_is_the_same_with_one_and_two_threads():
    import grimoire
    from grimoire import ml

    rng = np.random.default_rng(8)
    X = rng.normal(size=(20_000, 12))
    y = (X[:, 0] + np.sin(3 * X[:, 1]) + 0.3 * rng.normal(size=20_000) > 0).astype(int)
    before = grimoire.get_num_threads() if _core.num_threads_pinned() else None
    out = []
    try:
        for threads in (1, 2):
            grimoire.set_num_threads(threads)
            gb = ml.GradientBoostingClassifier(n_estimators=5, max_depth=None, max_leaf_nodes=31,
                                               random_state=0).fit(X, y)
            out.append(gb.decision_function(X))
    finally:
        grimoire.set_num_threads(before)
    np.testing.assert_array_equal(out[0], out[1])
