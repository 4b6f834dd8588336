"""``grimoire.text``: natural language processing of primer 3.6 (and the embeddings of 2.2.3).

- :func:`word_tokenize`: words, contractions split as the Penn Treebank does
  (``"don't" -> "do" + "n't"``), punctuation as tokens, URLs and e-mail addresses kept whole.
- :class:`ByteBPE`: byte-level byte-pair encoding (GPT-2 style): trained on a corpus to a chosen
  vocabulary size; ``decode(encode(s)) == s`` for every string, since every byte is in the base
  vocabulary.
- :class:`Word2Vec`: skip-gram with negative sampling, its SGD loop in the C++ core
  (``cpp/src/word2vec.cpp``), with ``most_similar`` and analogies by cosine similarity.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from . import _core

__all__ = ["word_tokenize", "ByteBPE", "Word2Vec", "sentences"]

_URL = r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_TOKEN = re.compile(
    rf"{_URL}|{_EMAIL}"
    r"|\w+(?=n't\b)|n't\b"                   # don't -> do n't ; can't -> ca n't (Treebank)
    r"|'(?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b"  # it's -> it 's ; we'll -> we 'll
    r"|\d+(?:[.,]\d+)+"                        # 3.14, 1,000
    r"|\w+(?:-\w+)*"                           # words, hyphenated words
    r"|\.\.\.|[^\w\s]",                        # ellipsis, any other symbol alone
    re.IGNORECASE,
)


def word_tokenize(text: str) -> list[str]:
    """Split text into word tokens (primer 3.6).

    >>> word_tokenize("Don't split https://example.com/a?b=1, please!")
    ['Do', "n't", 'split', 'https://example.com/a?b=1', ',', 'please', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text)


def sentences(text: str) -> list[list[str]]:
    """Lower-cased word tokens per sentence (split at . ! ? and blank lines), words only."""
    out = []
    for chunk in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
        words = [t.lower() for t in word_tokenize(chunk) if re.match(r"\w", t)]
        if words:
            out.append(words)
    return out


# GPT-2's pre-tokenizer, with \w standing in for \p{L}/\p{N} (the standard `re` has no \p{..})
_PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+|_+""")


class ByteBPE:
    """Byte-level BPE. Base vocabulary: the 256 bytes (ids 0-255); each merge adds one id.

    ``train`` splits the text into pre-tokens (GPT-2's pattern: words with their leading space,
    numbers, punctuation runs, whitespace), counts them, then repeatedly merges the most frequent
    adjacent pair of symbols (ties: the smallest pair of ids), updating only the words that hold
    it, until ``vocab_size`` is reached or no pair occurs twice.
    """

    def __init__(self):
        self.merges: list[tuple[int, int]] = []
        self.ranks: dict[tuple[int, int], int] = {}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def train(self, text: str | list[str], vocab_size: int) -> ByteBPE:
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be >= 256 (the byte alphabet), got {vocab_size}")
        texts = [text] if isinstance(text, str) else list(text)
        counts = Counter(tok for t in texts for tok in _PRETOKEN.findall(t))
        words = [list(w.encode("utf-8")) for w in counts]
        freqs = list(counts.values())
        pair_counts: dict[tuple[int, int], int] = defaultdict(int)
        where: dict[tuple[int, int], set[int]] = defaultdict(set)
        for wi, sym in enumerate(words):
            for a, b in zip(sym, sym[1:], strict=False):
                pair_counts[(a, b)] += freqs[wi]
                where[(a, b)].add(wi)
        self.__init__()
        next_id = 256
        while next_id < vocab_size and pair_counts:
            best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            pair, count = best
            if count < 2:
                break
            self.merges.append(pair)
            self.ranks[pair] = len(self.merges) - 1
            self.vocab[next_id] = self.vocab[pair[0]] + self.vocab[pair[1]]
            for wi in list(where[pair]):
                sym = words[wi]
                f = freqs[wi]
                for a, b in zip(sym, sym[1:], strict=False):  # remove the word's old pairs
                    pair_counts[(a, b)] -= f
                    if pair_counts[(a, b)] <= 0:
                        del pair_counts[(a, b)]
                    where[(a, b)].discard(wi)
                new, i = [], 0
                while i < len(sym):
                    if i + 1 < len(sym) and sym[i] == pair[0] and sym[i + 1] == pair[1]:
                        new.append(next_id)
                        i += 2
                    else:
                        new.append(sym[i])
                        i += 1
                words[wi] = new
                for a, b in zip(new, new[1:], strict=False):
                    pair_counts[(a, b)] += f
                    where[(a, b)].add(wi)
            where.pop(pair, None)
            next_id += 1
        return self

    def _encode_word(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        sym = list(word.encode("utf-8"))
        while len(sym) > 1:
            ranked = [(self.ranks.get(p, 1 << 60), i) for i, p in enumerate(zip(sym, sym[1:], strict=False))]
            rank, i = min(ranked)
            if rank == 1 << 60:
                break
            merged = 256 + rank
            a, b = sym[i], sym[i + 1]
            new, j = [], 0
            while j < len(sym):
                if j + 1 < len(sym) and sym[j] == a and sym[j + 1] == b:
                    new.append(merged)
                    j += 2
                else:
                    new.append(sym[j])
                    j += 1
            sym = new
        if len(self._cache) < 100_000:
            self._cache[word] = sym
        return sym

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: pre-tokens, each merged by rank (lowest first)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        out: list[int] = []
        for tok in _PRETOKEN.findall(text):
            out.extend(self._encode_word(tok))
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The text of token ids (invalid UTF-8 from arbitrary id sequences becomes U+FFFD)."""
        try:
            data = b"".join(self.vocab[int(i)] for i in ids)
        except KeyError as e:
            raise ValueError(f"unknown token id {e.args[0]}") from None
        return data.decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[str]:
        """The pieces of ``text`` as strings (bytes shown with replacement where split mid-character)."""
        return [self.vocab[i].decode("utf-8", errors="replace") for i in self.encode(text)]


class Word2Vec:
    """Skip-gram word2vec with negative sampling (Mikolov et al. 2013).

    Words become vectors such that words in similar contexts get similar vectors; similarity is
    the cosine ``u . v / (|u| |v|)`` (primer 2.2.3). Training: see ``cpp/include/grimoire/word2vec.h``.
    Frequent words are subsampled (kept with probability ``sqrt(t / f) + t / f``); negatives come
    from the unigram distribution to the power 0.75.

    ``num_threads`` defaults to 1 so that one ``seed`` gives one model: with more threads the
    workers update the shared vectors without locks (Hogwild SGD, as the original word2vec), so
    the order of the updates, and with it the result, changes from run to run. Pass
    ``num_threads=0`` (every core) or ``n`` to trade that reproducibility for speed.
    """

    def __init__(self, vector_size: int = 50, window: int = 5, negative: int = 5, min_count: int = 5,
                 epochs: int = 5, lr: float = 0.025, sample: float = 1e-3, seed: int = 1,
                 num_threads: int = 1):
        self.vector_size, self.window, self.negative = vector_size, window, negative
        self.min_count = min_count
        self.epochs, self.lr, self.sample, self.seed, self.num_threads = epochs, lr, sample, seed, num_threads

    def fit(self, corpus: str | list[list[str]]) -> Word2Vec:
        sents = sentences(corpus) if isinstance(corpus, str) else [list(s) for s in corpus]
        counts = Counter(w for s in sents for w in s)
        vocab = sorted((w for w, c in counts.items() if c >= self.min_count), key=lambda w: (-counts[w], w))
        if len(vocab) < 2:
            raise ValueError(f"fewer than 2 words occur at least min_count={self.min_count} times")
        self.index_ = {w: i for i, w in enumerate(vocab)}
        self.words_ = vocab
        freq = np.array([counts[w] for w in vocab], dtype=np.float64)
        ids = []
        for s in sents:
            ids.extend(self.index_[w] for w in s if w in self.index_)
            ids.append(-1)
        corpus_ids = np.array(ids, dtype=np.int32)
        p = freq**0.75
        p /= p.sum()
        reps = np.maximum(1, np.round(p * 1_000_000)).astype(int)
        table = np.repeat(np.arange(len(vocab), dtype=np.int32), reps)
        keep = None
        if self.sample > 0:
            f = freq / freq.sum()
            r = self.sample / f
            keep = np.minimum(1.0, np.sqrt(r) + r).astype(np.float32)
        rng = np.random.default_rng(self.seed)
        shape = (len(vocab), self.vector_size)
        self.w_in_ = ((rng.random(shape) - 0.5) / self.vector_size).astype(np.float32)
        self.w_out_ = np.zeros((len(vocab), self.vector_size), dtype=np.float32)
        self.loss_ = _core.word2vec_sgns_train(self.w_in_, self.w_out_, corpus_ids, table, keep,
                                               self.window, self.negative, self.epochs, self.lr,
                                               self.lr * 1e-4, self.seed, self.num_threads)
        return self

    @property
    def vectors(self) -> np.ndarray:
        return self.w_in_

    def __getitem__(self, word: str) -> np.ndarray:
        return self.w_in_[self._id(word)]

    def _id(self, word: str) -> int:
        if word not in self.index_:
            raise KeyError(f"word {word!r} is not in the vocabulary")
        return self.index_[word]

    def similarity(self, a: str, b: str) -> float:
        from .linalg import cosine_similarity

        return cosine_similarity(self[a].astype(np.float64), self[b].astype(np.float64))

    def _nearest(self, query: np.ndarray, exclude: set[int], topn: int) -> list[tuple[str, float]]:
        from .linalg import pairwise_distances

        sims = 1.0 - pairwise_distances(query[None, :].astype(np.float32), self.w_in_, "cosine")[0]
        order = np.argsort(-sims, kind="stable")
        out = []
        for i in order:
            if int(i) in exclude:
                continue
            out.append((self.words_[i], float(sims[i])))
            if len(out) == topn:
                break
        return out

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` words with the highest cosine similarity to ``word``."""
        i = self._id(word)
        return self._nearest(self.w_in_[i], {i}, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """``a`` is to ``b`` as ``c`` is to ?: the words nearest ``b - a + c`` (unit vectors, as
        in the original): ``analogy("man", "king", "woman")`` looks for ``queen``."""
        unit = self.w_in_ / np.maximum(np.linalg.norm(self.w_in_, axis=1, keepdims=True), 1e-12)
        q = unit[self._id(b)] - unit[self._id(a)] + unit[self._id(c)]
        return self._nearest(q, {self._id(a), self._id(b), self._id(c)}, topn)
