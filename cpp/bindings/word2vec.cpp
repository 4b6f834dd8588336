// Bindings for the word2vec family (skip-gram negative-sampling training loop).
#include "grimoire/word2vec.h"

#include <algorithm>
#include <cstdint>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

void bind_word2vec(py::module_& m) {
  m.def(
      "word2vec_sgns_train",
      [](py::object w_in_obj, py::object w_out_obj, py::object corpus_obj, py::object table_obj,
         py::object keep_obj, int window, int negative, int epochs, double lr, double lr_min, uint64_t seed,
         int num_threads) {
        py::array w_in_a = require_ndarray(w_in_obj, "w_in"), w_out_a = require_ndarray(w_out_obj, "w_out");
        py::array corpus_a = require_ndarray(corpus_obj, "corpus"), table_a = require_ndarray(table_obj, "neg_table");
        require_ndim(w_in_a, "w_in", 2, 2);
        require_ndim(w_out_a, "w_out", 2, 2);
        require_ndim(corpus_a, "corpus", 1, 1);
        require_ndim(table_a, "neg_table", 1, 1);
        Strided<float> w_in = contiguous_view<float>(w_in_a, "w_in", true);
        Strided<float> w_out = contiguous_view<float>(w_out_a, "w_out", true);
        require_same_shape(w_out.shape, w_in.shape, "w_out", "w_in");
        if (may_overlap(w_in_a, w_out_a)) throw py::value_error("w_in and w_out must not share memory");
        Strided<int32_t> corpus = contiguous_view<int32_t>(corpus_a, "corpus");
        Strided<int32_t> table = contiguous_view<int32_t>(table_a, "neg_table");
        const int64_t vocab = w_in.shape[0];
        if (table.shape[0] < 1) throw py::value_error("neg_table must not be empty");
        for (int64_t i = 0; i < corpus.shape[0]; ++i)
          if (corpus.data[i] < -1 || corpus.data[i] >= vocab)
            throw py::value_error("corpus ids must be in [-1, vocab), got " + std::to_string(corpus.data[i]) +
                                  " at " + std::to_string(i));
        for (int64_t i = 0; i < table.shape[0]; ++i)
          if (table.data[i] < 0 || table.data[i] >= vocab)
            throw py::value_error("neg_table ids must be in [0, vocab)");
        const float* keep = nullptr;
        if (!keep_obj.is_none()) {
          py::array keep_a = require_ndarray(keep_obj, "keep_prob");
          require_ndim(keep_a, "keep_prob", 1, 1);
          Strided<float> kv = contiguous_view<float>(keep_a, "keep_prob");
          if (kv.shape[0] != vocab)
            throw py::value_error("keep_prob must have one entry per word (" + std::to_string(vocab) + "), got " +
                                  std::to_string(kv.shape[0]));
          keep = kv.data;
        }
        // Bounds that keep the work finite: a window wider than the corpus is the whole corpus
        // (clipped, not refused); more than kMaxNegative negatives per pair is never useful and
        // 2**31 - 1 of them would loop for hours.
        checked_int(window, "window", 1, INT32_MAX);
        checked_int(negative, "negative", 0, kWord2VecMaxNegative);
        checked_int(epochs, "epochs", 1, INT32_MAX);
        checked_int(num_threads, "num_threads", 0, 1024);
        const float lr_f = checked_scalar(lr, "lr", above(0.0));
        const float lr_min_f = checked_scalar(lr_min, "lr_min", between(0.0, lr_f));
        Word2VecParams p;
        p.vocab = vocab;
        p.dim = w_in.shape[1];
        p.w_in = w_in.data;
        p.w_out = w_out.data;
        p.corpus = corpus.data;
        p.n_tokens = corpus.shape[0];
        p.neg_table = table.data;
        p.table_size = table.shape[0];
        p.keep_prob = keep;
        p.window = static_cast<int>(std::min<int64_t>(window, std::max<int64_t>(corpus.shape[0], 1)));
        p.negative = negative;
        p.epochs = epochs;
        p.lr = lr_f;
        p.lr_min = lr_min_f;
        p.seed = seed;
        p.num_threads = num_threads;
        double loss;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          loss = word2vec_sgns_train(p);
        }
        interrupt.raise_if_interrupted();
        return loss;
      },
      py::arg("w_in"), py::arg("w_out"), py::arg("corpus"), py::arg("neg_table"), py::arg("keep_prob"),
      py::arg("window") = 5, py::arg("negative") = 5, py::arg("epochs") = 1, py::arg("lr") = 0.025,
      py::arg("lr_min") = 0.0001, py::arg("seed") = 1, py::arg("num_threads") = 1,
      "Skip-gram negative-sampling SGD over the corpus; updates w_in and w_out in place and returns the "
      "mean loss per pair of the last epoch. num_threads=1 (the default) is deterministic; more threads "
      "update the shared vectors without locks (Hogwild), so results then vary from run to run.");
}
