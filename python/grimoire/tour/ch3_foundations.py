"""Tour, primer 3 (bias-variance, cross-validation, regularisation, feature engineering, NLP) and
6.1 / 6.4 (data preprocessing, evaluation metrics)."""

from __future__ import annotations

import numpy as np

from ..ml.base import BaseEstimator
from . import Tour, section
from .ch2_foundations import _pyplot


class _PolyRidge(BaseEstimator):
    """y ~ polynomial of degree ``degree`` in a 1-D x, fitted by ridge least squares in closed
    form, ``w = (X^T X + alpha I)^-1 X^T y`` (bias not penalised)."""

    def __init__(self, degree: int = 1, alpha: float = 0.0):
        self.degree, self.alpha = degree, alpha

    def _features(self, x):
        x = np.asarray(x, dtype=float).ravel() * 2 - 1  # map [0, 1] to [-1, 1]: better conditioned
        return np.vander(x, self.degree + 1, increasing=True)  # = PolynomialFeatures(degree) on 1-D x

    def fit(self, x, y):
        X = self._features(x)
        penalty = self.alpha * np.eye(X.shape[1])
        penalty[0, 0] = 0.0
        gram = X.T @ X + penalty + 1e-10 * np.eye(X.shape[1])
        self.coef_ = np.linalg.solve(gram, X.T @ np.asarray(y, float))
        return self

    def predict(self, x):
        return self._features(x) @ self.coef_

    def score(self, x, y):
        from grimoire.metrics import r2_score

        return r2_score(y, self.predict(x))


def _truth(x):
    return np.sin(2 * np.pi * np.ravel(x))


def _sample_x(rng, n):
    return rng.uniform(0, 1, n)


@section("3.1", "Bias-variance tradeoff", "grimoire.model_selection")
def bias_variance(t: Tour) -> None:
    from grimoire.model_selection import bias_variance_decomposition

    degrees = list(range(1, 13))
    x0 = np.linspace(0.05, 0.95, 60)
    rows = []
    for d in degrees:
        r = bias_variance_decomposition(
            _PolyRidge(d),
            _truth,
            _sample_x,
            noise_std=0.3,
            n_train=25,
            n_rounds=30 if t.quick else 60,
            x_test=x0,
            random_state=0,
        )
        rows.append(r)
        t.say(
            f"degree {d:>2}: bias^2 {r['bias2']:.4f}  variance {r['variance']:.4f}  noise {r['noise']:.4f}"
            f"  sum {r['bias2'] + r['variance'] + r['noise']:.4f}  measured error {r['expected_error']:.4f}"
        )
    best = degrees[int(np.argmin([r["expected_error"] for r in rows]))]
    t.say(f"simple models underfit (bias), complex ones overfit (variance); the best degree here is {best}")
    plt = _pyplot()
    if plt is None:
        t.say("(matplotlib is not installed: the plot is skipped)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("bias2", "bias^2"), ("variance", "variance"), ("expected_error", "test error")):
        ax.plot(degrees, [r[key] for r in rows], "o-", label=label)
    ax.axhline(0.09, color="gray", ls=":", label="noise (0.3^2)")
    ax.set_yscale("log")
    ax.set_xlabel("polynomial degree (model complexity)")
    ax.legend()
    ax.set_title("Bias-variance decomposition, y = sin(2 pi x) + noise, n = 25")
    path = t.plot_path("3.1_bias_variance.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    t.say(f"plot: {path}")


@section("3.2", "Cross-validation", "grimoire.model_selection")
def cross_validation(t: Tour) -> None:
    from grimoire import model_selection as ms

    rng = np.random.default_rng(0)
    x = _sample_x(rng, 40)
    y = _truth(x) + rng.normal(0, 0.3, 40)
    xtr, xte, ytr, yte = ms.train_test_split(x, y, test_size=0.25, random_state=0)
    t.say(
        "holdout (30 train / 10 test), degree 3: test R^2 = "
        f"{_PolyRidge(3).fit(xtr, ytr).score(xte, yte):.3f}"
    )
    for d in (1, 3, 9):
        res = ms.cross_validate(
            _PolyRidge(d),
            x,
            y,
            cv=ms.KFold(5, shuffle=True, random_state=0),
            scoring="neg_mean_squared_error",
        )
        loo = ms.cross_val_score(_PolyRidge(d), x, y, cv=ms.LeaveOneOut(), scoring="neg_mean_squared_error")
        t.say(
            f"degree {d}: 5-fold MSE {-res['mean_test_score']:.4f} (variance over folds "
            f"{res['var_test_score']:.5f}); leave-one-out MSE {-loo.mean():.4f}"
        )
    labels = np.r_[np.zeros(45, int), np.ones(5, int)]
    t.say("imbalanced labels (45 negatives, 5 positives): positives per test fold")
    t.say(f"  KFold(5):           {[int(labels[te].sum()) for _, te in ms.KFold(5).split(labels)]}")
    t.say(
        "  StratifiedKFold(5): "
        f"{[int(labels[te].sum()) for _, te in ms.StratifiedKFold(5).split(labels, labels)]}"
    )
    search = ms.GridSearchCV(_PolyRidge(), {"degree": [1, 3, 5, 9], "alpha": [0.0, 1e-3, 1e-1]}, cv=5).fit(
        x, y
    )
    t.say(
        f"grid search over degree and ridge alpha: best {search.best_params_}, "
        f"CV R^2 {search.best_score_:.3f}"
    )


@section("3.3", "Regularization", "grimoire.linalg.solve (ridge); lasso by coordinate descent in the tour")
def regularization(t: Tour) -> None:
    rng = np.random.default_rng(1)
    n, p = 60, 8
    X = rng.standard_normal((n, p))
    w_true = np.array([3.0, -2.0, 1.5, 0, 0, 0, 0, 0])
    y = X @ w_true + rng.normal(0, 1.0, n)
    Xc, yc = X - X.mean(0), y - y.mean()

    def ridge(lam):  # argmin ||y - Xw||^2 + lam ||w||^2  ->  (X^T X + lam I)^-1 X^T y
        from grimoire import linalg

        return linalg.solve(Xc.T @ Xc + lam * np.eye(p), Xc.T @ yc)

    def lasso(lam, iters=200):  # argmin 1/2 ||y - Xw||^2 + lam ||w||_1 by coordinate descent
        w = np.zeros(p)
        col2 = (Xc**2).sum(0)
        for _ in range(iters):
            for j in range(p):
                r = yc - Xc @ w + Xc[:, j] * w[j]
                rho = Xc[:, j] @ r
                w[j] = np.sign(rho) * max(abs(rho) - lam, 0.0) / col2[j]
        return w

    t.say(f"true weights: {w_true}")
    for lam in (0.0, 10.0, 100.0):
        t.say(f"ridge  lambda={lam:>5}: {np.round(ridge(lam), 2)}  (all shrink, none exactly 0)")
    for lam in (0.0, 20.0, 80.0):
        w = lasso(lam)
        t.say(f"lasso  lambda={lam:>5}: {np.round(w, 2)}  ({int(np.sum(w == 0))} weights exactly 0)")


@section("3.4", "Feature engineering", "grimoire.preprocessing")
def feature_engineering(t: Tour) -> None:
    from grimoire import preprocessing as pp

    ts = np.array(["2024-03-08T23:00", "2024-03-09T00:30", "2024-12-31T12:00"], dtype="datetime64[m]")
    f = pp.cyclical_time_features(ts)
    for i, s in enumerate(ts):
        t.say(
            f"{s}: hour (sin, cos) = ({f['hour_sin'][i]:+.3f}, {f['hour_cos'][i]:+.3f}), weekday "
            f"{int(f['weekday'][i])}, weekend {int(f['is_weekend'][i])}, month (sin, cos) = "
            f"({f['month_sin'][i]:+.3f}, {f['month_cos'][i]:+.3f})"
        )
    t.say("23:00 and 00:30 are close on the hour circle, though 23 and 0 are far apart as numbers")
    incomes = np.array([[20e3], [35e3], [50e3], [80e3], [1.2e6]])
    t.show(
        "log transform of skewed incomes (LogTransformer)",
        np.round(pp.LogTransformer().fit_transform(incomes).ravel(), 2),
    )
    t.show(
        "equal-width bins (KBinsDiscretizer, 3 bins)",
        pp.KBinsDiscretizer(3, strategy="uniform").fit_transform(np.log(incomes)).ravel(),
    )
    colours = np.array([["red"], ["green"], ["blue"], ["green"]], dtype=object)
    t.show(
        "one-hot of [red, green, blue, green] (columns blue, green, red)",
        pp.OneHotEncoder().fit_transform(colours),
    )
    t.show("label encoding", pp.LabelEncoder().fit_transform(colours.ravel()))
    t.show(
        "feature hashing of {'city': 'Paris', 'visits': 3} into 8 columns",
        pp.FeatureHasher(8).transform([{"city": "Paris", "visits": 3}]),
    )
    t.show(
        "interaction features of [a, b] = [2, 3]: [1, a, b, ab]",
        pp.PolynomialFeatures(2, interaction_only=True).fit_transform([[2.0, 3.0]]),
    )


@section("3.6", "Natural language processing", "grimoire.text")
def nlp(t: Tour) -> None:
    from grimoire import text
    from grimoire.datasets import text_corpus

    s = "Don't panic: read https://docs.python.org/3/ first, it's free!"
    t.show("word_tokenize", text.word_tokenize(s))
    corpus = text_corpus(150_000)
    bpe = text.ByteBPE().train(corpus, 512)
    ids = bpe.encode(s)
    t.say(
        f"byte-level BPE with 512 tokens (trained on 150k characters of Python's docs): {len(ids)} tokens "
        f"for {len(s.encode())} bytes"
    )
    t.show("pieces", bpe.tokens(s))
    t.say(f"decode(encode(s)) == s: {bpe.decode(ids) == s}")
    w2v = text.Word2Vec(vector_size=40, window=4, epochs=2 if t.quick else 3, min_count=5).fit(text_corpus())
    t.say(
        f"word2vec skip-gram on pydoc's 465k characters: {len(w2v.words_)} words, final loss {w2v.loss_:.3f}"
    )
    for w in ("list", "exception", "true"):
        near = ", ".join(f"{x} ({c:.2f})" for x, c in w2v.most_similar(w, 5))
        t.say(f"  nearest to '{w}': {near}")
    t.say(f"  analogy list : append :: dict : {w2v.analogy('list', 'append', 'dict', 3)}")


@section("6.1", "Data preprocessing", "grimoire.preprocessing")
def data_preprocessing(t: Tour) -> None:
    from grimoire import preprocessing as pp

    X = np.array([[1.0, 200.0], [np.nan, 180.0], [3.0, np.nan], [4.0, 5000.0], [5.0, 210.0]])
    t.show("data with missing values and an outlier", X)
    filled = pp.SimpleImputer(strategy="median").fit_transform(X)
    t.show("median imputation", filled)
    t.show("IQR outliers", pp.iqr_outliers(filled))
    clipped = pp.OutlierClipper("iqr").fit_transform(filled)
    t.show("clipped to the IQR fences", np.round(clipped, 1))
    t.show("standardised", np.round(pp.StandardScaler().fit_transform(clipped), 3))
    t.show("min-max scaled", np.round(pp.MinMaxScaler().fit_transform(clipped), 3))
    rng = np.random.default_rng(0)
    Xi = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(3, 0.5, (5, 2))]
    yi = np.r_[np.zeros(50, int), np.ones(5, int)]
    _, yr = pp.SMOTE(random_state=0).fit_resample(Xi, yi)
    t.say(f"SMOTE: class counts {np.bincount(yi).tolist()} -> {np.bincount(yr).tolist()}")
    docs = [
        "The cat sat on the mat.",
        "the cat sat on the mat!",
        "A dog barked at the mailman.",
        "The cat sat on a mat.",
        "Completely unrelated sentence.",
    ]
    t.say(
        "exact duplicates (hashing) after lower-casing and stripping the final mark: "
        f"{pp.exact_duplicates([d.lower().strip('.!') for d in docs])}"
    )
    t.say(
        "near duplicates (MinHash + LSH, Jaccard >= 0.6): "
        f"{[(i, j, round(s, 2)) for i, j, s in pp.near_duplicates(docs, 0.6, ngram=3)]}"
    )
    rep = pp.leakage_check(Xi[:40], Xi[35:])
    t.say(
        f"leakage check: {len(rep['test_rows_in_train'])} of {rep['n_test']} test rows also in train "
        f"-> leak={rep['leak']}"
    )


@section("6.4.1", "Regression metrics", "grimoire.metrics")
def regression_metrics(t: Tour) -> None:
    from grimoire import metrics as m

    y = np.array([3.0, 5.0, 2.5, 7.0, 4.0])
    p = np.array([2.5, 5.0, 3.0, 8.0, 4.5])
    t.say(f"y_true {y}, y_pred {p}")
    t.say(
        f"MSE {m.mean_squared_error(y, p):.4f}  RMSE {m.root_mean_squared_error(y, p):.4f}  "
        f"MAE {m.mean_absolute_error(y, p):.4f}"
    )
    t.say(
        f"MAPE {100 * m.mean_absolute_percentage_error(y, p):.2f}%  R^2 {m.r2_score(y, p):.4f}  "
        f"adjusted R^2 (2 predictors) {m.adjusted_r2_score(y, p, 2):.4f}"
    )
    p_out = p.copy()
    p_out[3] = 15.0
    t.say(
        f"one bad prediction (8 -> 15): RMSE {m.root_mean_squared_error(y, p_out):.3f} jumps more than "
        f"MAE {m.mean_absolute_error(y, p_out):.3f}"
    )
    try:
        m.mean_absolute_percentage_error([0.0, 2.0], [1.0, 2.0])
    except ValueError as e:
        t.say(f"MAPE with a zero target: {e}")


@section("6.4.2", "Classification metrics", "grimoire.metrics")
def classification_metrics(t: Tour) -> None:
    from grimoire import metrics as m

    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(int)
    score = np.clip(0.35 * y + rng.normal(0.35, 0.2, 200), 0, 1)
    pred = (score > 0.5).astype(int)
    t.show("confusion matrix (rows: truth 0/1, columns: predicted)", m.confusion_matrix(y, pred))
    t.say(
        f"accuracy {m.accuracy_score(y, pred):.3f}  precision {m.precision_score(y, pred):.3f}  "
        f"recall {m.recall_score(y, pred):.3f}  F1 {m.f1_score(y, pred):.3f}"
    )
    t.say(
        f"predicting 'negative' for everyone: accuracy {m.accuracy_score(y, np.zeros_like(y)):.3f} "
        f"but recall {m.recall_score(y, np.zeros_like(y)):.1f}"
    )
    t.say(
        f"AUC {m.roc_auc_score(y, score):.4f} = P(a random positive outscores a random negative) "
        f"{m.roc_auc_rank(y, score):.4f}"
    )
    t.say(
        f"log loss (BCE) {m.log_loss(y, score):.4f}; "
        f"hinge on scores 2s-1 {m.hinge_loss(2 * y - 1, 2 * score - 1):.4f}"
    )
    plt = _pyplot()
    if plt is None:
        t.say("(matplotlib is not installed: the ROC plot is skipped)")
        return
    fpr, tpr, _ = m.roc_curve(y, score)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC = {m.roc_auc_score(y, score):.3f}")
    ax.plot([0, 1], [0, 1], "k:", label="random")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend()
    path = t.plot_path("6.4.2_roc.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    t.say(f"plot: {path}")
