"""grimoire.text: the tokenizer on hand-checked cases, byte BPE against HuggingFace `tokenizers`,
word2vec on corpora with known structure."""

import numpy as np
import pytest
from grimoire import _core, text
from grimoire.datasets import text_corpus
from hypothesis import given, settings
from hypothesis import strategies as st


def test_word_tokenize():
    assert text.word_tokenize("don't") == ["do", "n't"]
    assert text.word_tokenize("I can't, won't; it's done.") == [
        "I",
        "ca",
        "n't",
        ",",
        "wo",
        "n't",
        ";",
        "it",
        "'s",
        "done",
        ".",
    ]
    assert text.word_tokenize("See https://x.org/a?b=1. Or www.y.com!") == [
        "See",
        "https://x.org/a?b=1",
        ".",
        "Or",
        "www.y.com",
        "!",
    ]
    assert text.word_tokenize("pi is 3.14; mail a.b@c.org... ok") == [
        "pi",
        "is",
        "3.14",
        ";",
        "mail",
        "a.b@c.org",
        "...",
        "ok",
    ]
    assert text.word_tokenize("state-of-the-art (really)") == ["state-of-the-art", "(", "really", ")"]
    assert text.word_tokenize("") == []
    with pytest.raises(TypeError):
        text.word_tokenize(None)


@pytest.fixture(scope="module")
def bpe():
    return text.ByteBPE().train(text_corpus(120_000), 500)


@settings(max_examples=60, deadline=None)
@given(s=st.text(max_size=60))
def test_bpe_round_trip(bpe, s):
    ids = bpe.encode(s)
    assert bpe.decode(ids) == s
    assert all(0 <= i < bpe.vocab_size for i in ids)


def test_bpe_vocab_and_tokenizers_oracle(bpe):
    import tokenizers
    assert bpe.vocab_size == 500 and len(bpe.merges) == 244
    corpus = text_corpus(120_000)
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=500, show_progress=False, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([corpus], trainer)
    assert tok.get_vocab_size() == bpe.vocab_size
    # the same most frequent merges, in the same order (HF writes bytes through GPT-2's byte->unicode map)
    import json

    byte_map = {v: k for k, v in _gpt2_bytes_to_unicode().items()}
    hf = [bytes(byte_map[ch] for ch in a + b) for a, b in json.loads(tok.to_str())["model"]["merges"][:15]]
    ours = [bpe.vocab[a] + bpe.vocab[b] for a, b in bpe.merges[:15]]
    assert ours == hf
    held = text_corpus()[300_000:310_000]
    n_hf, n_ours = len(tok.encode(held).ids), len(bpe.encode(held))
    assert abs(n_ours - n_hf) / n_hf < 0.05
    assert n_ours < 0.6 * len(held.encode())  # it compresses
    with pytest.raises(ValueError, match="vocab_size"):
        text.ByteBPE().train("abc", 100)
    with pytest.raises(ValueError, match="unknown token"):
        bpe.decode([10_000])


def _gpt2_bytes_to_unicode():
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _topic_corpus(seed=0):
    rng = np.random.default_rng(seed)
    animals = ["cat", "dog", "horse", "cow", "sheep", "goat"]
    tools = ["hammer", "saw", "drill", "wrench", "pliers", "chisel"]
    out = []
    for _ in range(1500):
        group = animals if rng.random() < 0.5 else tools
        out.append(list(rng.choice(group, 8)))
    return out, animals, tools


def test_word2vec_topics():
    corpus, animals, tools = _topic_corpus()
    m = text.Word2Vec(
        vector_size=16, window=3, negative=5, min_count=1, epochs=5, sample=0, num_threads=1
    ).fit(corpus)
    for w in animals:
        near = [x for x, _ in m.most_similar(w, topn=5)]
        assert set(near) <= set(animals)
    assert m.similarity("cat", "dog") > m.similarity("cat", "hammer")
    again = text.Word2Vec(
        vector_size=16, window=3, negative=5, min_count=1, epochs=5, sample=0, num_threads=1
    ).fit(corpus)
    np.testing.assert_array_equal(m.vectors, again.vectors)  # one thread: deterministic
    short = text.Word2Vec(vector_size=16, window=3, min_count=1, epochs=1, sample=0, num_threads=1).fit(
        corpus
    )
    assert m.loss_ < short.loss_


def test_word2vec_analogy_on_planted_vectors():
    m = text.Word2Vec()
    m.words_ = ["man", "woman", "king", "queen", "apple"]
    m.index_ = {w: i for i, w in enumerate(m.words_)}
    m.w_in_ = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0.2]], dtype=np.float32)
    assert m.analogy("man", "king", "woman")[0][0] == "queen"
    assert m.most_similar("king", topn=1)[0][0] in ("man", "queen")
    with pytest.raises(KeyError, match="vocabulary"):
        m.most_similar("banana")


def test_word2vec_bad_input():
    with pytest.raises(ValueError, match="min_count"):
        text.Word2Vec(min_count=5).fit([["a", "b"]])
    w = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="corpus ids"):
        _core.word2vec_sgns_train(w, w.copy(), np.array([0, 7], np.int32), np.array([0], np.int32), None)
    with pytest.raises(TypeError, match="float32"):
        _core.word2vec_sgns_train(
            w.astype(np.float64), w.copy(), np.array([0], np.int32), np.array([0], np.int32), None
        )
    with pytest.raises(ValueError, match="window"):
        _core.word2vec_sgns_train(
            w, w.copy(), np.array([0], np.int32), np.array([0], np.int32), None, window=0
        )
