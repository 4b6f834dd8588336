"""grimoire.calculus and grimoire.optim.descent against closed forms, numpy.linalg.lstsq and torch."""

import numpy as np
import pytest
from grimoire import calculus
from grimoire.optim import descent


def f_primer(x, y):
    return x**3 + 2 * x * y + y


def test_primer_233_partials():
    for x, y in [(1.0, 2.0), (-1.5, 0.3), (2.0, -3.0)]:
        assert calculus.partial_derivative(f_primer, [x, y], 0) == pytest.approx(3 * x**2 + 2 * y, rel=1e-8)
        assert calculus.partial_derivative(f_primer, [x, y], 1) == pytest.approx(2 * x + 1, rel=1e-8)
        g = calculus.gradient(lambda p: f_primer(*p), [x, y])
        np.testing.assert_allclose(g, [3 * x**2 + 2 * y, 2 * x + 1], rtol=1e-8)


def test_derivatives_closed_form():
    for xi in (0.3, -1.2, 2.0):  # d/dx sin(x) e^x = (sin x + cos x) e^x
        want = (np.sin(xi) + np.cos(xi)) * np.exp(xi)
        assert calculus.derivative(lambda u: np.sin(u) * np.exp(u), xi) == pytest.approx(want, rel=1e-8)
    assert calculus.derivative(np.sin, 0.5, order=2) == pytest.approx(-np.sin(0.5), rel=1e-6)
    prod, direct = calculus.chain_rule(np.sin, lambda u: u**2, 0.7)
    assert prod == pytest.approx(np.cos(0.49) * 1.4, rel=1e-8) and direct == pytest.approx(prod, rel=1e-8)
    jac = calculus.jacobian(lambda p: np.array([p[0] * p[1], p[0] + p[1] ** 2]), [2.0, 3.0])
    np.testing.assert_allclose(jac, [[3, 2], [1, 6]], rtol=1e-8)
    with pytest.raises(ValueError, match="order"):
        calculus.derivative(np.sin, 0.0, order=3)
    with pytest.raises(ValueError, match="NaN"):
        calculus.gradient(np.sum, [np.nan])


def test_descent_quadratic_and_ascent():
    a = np.diag([1.0, 10.0])
    res = descent.gradient_descent(lambda p: 0.5 * p @ a @ p, [3.0, 1.0], grad=lambda p: a @ p, lr=0.09,
                                   n_steps=500, tol=1e-12)
    assert res.converged and np.allclose(res.x, 0, atol=1e-9)
    assert res.path.shape[1] == 2 and np.all(np.diff(res.values) <= 1e-15)
    up = descent.gradient_ascent(lambda p: -((p - 2.0) ** 2).sum(), [0.0], lr=0.1, n_steps=200)
    assert up.x[0] == pytest.approx(2.0, abs=1e-6)
    big = descent.gradient_descent(lambda p: float(p @ p), [1.0], lr=1.5, n_steps=50)
    assert abs(big.x[0]) > 1.0  # too large a learning rate overshoots and diverges
    sched = descent.step_decay(1.0, 0.5, 2)
    assert [sched(t) for t in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert descent.exponential_decay(1.0, 0.5)(3) == 0.125
    assert descent.inverse_time_decay(1.0, 1.0)(1) == 0.5
    with pytest.raises(ValueError, match="lr"):
        descent.gradient_descent(np.sum, [1.0], lr=-1)


@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_minibatch_matches_least_squares(batch_size):
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(200), rng.standard_normal((200, 2))]
    w_true = np.array([1.0, -2.0, 0.5])
    y = X @ w_true + 0.1 * rng.standard_normal(200)
    lr = descent.inverse_time_decay(0.05, 0.01) if batch_size == 1 else 0.1
    res = descent.minibatch_descent(descent.mse_gradient, np.zeros(3), X, y, batch_size=batch_size, epochs=60,
                                    lr=lr, random_state=0)
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(res.x, w_ls, atol={None: 1e-3, 16: 0.02, 1: 0.03}[batch_size])
    updates_per_epoch = 1 if batch_size is None else -(-200 // batch_size)
    assert res.path.shape == (60 * updates_per_epoch + 1, 3)
    assert res.values[-1] < res.values[0]
    with pytest.raises(ValueError, match="batch_size"):
        descent.minibatch_descent(descent.mse_gradient, np.zeros(3), X, y, batch_size=0)
