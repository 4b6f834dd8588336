"""The word2vec family (primer 3.6): the skip-gram negative-sampling SGD loop in the core."""

from __future__ import annotations

import numpy as np

from ._device import backend


def word2vec_sgns_train(w_in: np.ndarray, w_out: np.ndarray, corpus: np.ndarray, neg_table: np.ndarray,
                        keep_prob: np.ndarray | None = None, *, window: int = 5, negative: int = 5,
                        epochs: int = 1, lr: float = 0.025, lr_min: float = 1e-4, seed: int = 1,
                        num_threads: int = 1) -> float:
    """Train ``w_in``/``w_out`` (vocab, dim) float32 in place on ``corpus`` (int32 ids, -1 between
    sentences); returns the mean loss per pair of the last epoch. ``num_threads=1`` is
    deterministic; more threads update without locks (Hogwild) and vary from run to run. See
    :class:`grimoire.text.Word2Vec`."""
    where = backend(w_in=w_in, w_out=w_out, corpus=corpus, neg_table=neg_table, keep_prob=keep_prob)
    return where.word2vec_sgns_train(w_in, w_out, corpus, neg_table, keep_prob, window, negative, epochs, lr,
                                     lr_min, seed, num_threads)
