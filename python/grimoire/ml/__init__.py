"""``grimoire.ml``: classical machine learning (primer 4.1-4.2), scikit-learn's estimator contract.

Every estimator has scikit-learn's class name and behaviour (``fit``/``predict``/``transform``/
``score``, ``get_params``/``set_params``, fitted attributes ending in ``_``) and drops into its
pipelines and grid searches; the hot loops (tree split search and traversal, k-means assignment,
coordinate descent) run in the C++ core. The runtime needs only NumPy.
"""

from __future__ import annotations

from .base import BaseEstimator, ConvergenceWarning, DataConversionWarning, NotFittedError
from .cluster import KMeans, kmeans_plusplus
from .decomposition import PCA
from .ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from .hierarchy import AgglomerativeClustering, BisectingKMeans, linkage
from .linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    enet_path,
    lasso_path,
    lbfgs,
)
from .manifold import TSNE
from .svm import SVC, LinearSVC
from .tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text
from .umap import UMAP

__all__ = [
    "BaseEstimator", "ConvergenceWarning", "DataConversionWarning", "NotFittedError",
    "DecisionTreeClassifier", "DecisionTreeRegressor", "export_text",
    "LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression",
    "enet_path", "lasso_path", "lbfgs",
    "KMeans", "kmeans_plusplus", "PCA",
    "RandomForestClassifier", "RandomForestRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "SVC", "LinearSVC",
    "AgglomerativeClustering", "BisectingKMeans", "linkage", "TSNE", "UMAP",
]
