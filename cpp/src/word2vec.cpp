// word2vec skip-gram negative-sampling SGD (scalar; the inner loops are dim-long dot products
// and axpys that the compiler vectorises). See word2vec.h for the update.
#include "grimoire/word2vec.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

struct Rng {  // splitmix64: small, fast, good enough for window sizes and negative draws
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
};

inline float sigmoid(float x) {
  if (x > 30.f) return 1.f;
  if (x < -30.f) return 0.f;
  return 1.f / (1.f + std::exp(-x));
}

const bool registered = (register_family("word2vec", {Isa::scalar}), true);

}  // namespace

double word2vec_sgns_train(const Word2VecParams& p) {
  if (p.n_tokens <= 0 || p.vocab <= 0 || p.dim <= 0 || p.epochs <= 0) return 0.0;
  const int threads = std::max(1, p.num_threads > 0 ? p.num_threads : num_threads());
  const int64_t dim = p.dim;
  const double total = double(p.epochs) * double(p.n_tokens);
  double last_loss_sum = 0.0;
  int64_t last_pairs = 0;
  for (int epoch = 0; epoch < p.epochs; ++epoch) {
    std::vector<double> loss(threads, 0.0);
    std::vector<int64_t> pairs(threads, 0);
#pragma omp parallel num_threads(threads)
    {
      const int tid = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      const int64_t begin = p.n_tokens * tid / nt, end = p.n_tokens * (tid + 1) / nt;
      Rng rng{p.seed * 0x100000001B3ull + uint64_t(epoch) * 7919u + uint64_t(tid) * 104729u + 1};
      std::vector<float> e(dim);
      double my_loss = 0.0;
      int64_t my_pairs = 0;
      for (int64_t t = begin; t < end; ++t) {
        if ((t - begin) % 4096 == 0 && interrupted()) break;  // Ctrl-C (the binding raises)
        const int32_t w = p.corpus[t];
        if (w < 0) continue;
        if (p.keep_prob && rng.uniform() >= p.keep_prob[w]) continue;
        const double progress = (double(epoch) * p.n_tokens + double(t)) / total;
        const float lr = std::max(p.lr_min, float(p.lr * (1.0 - progress)));
        const int b = 1 + int(rng.next() % uint64_t(p.window));
        float* v = p.w_in + int64_t(w) * dim;
        // The context [lo, hi] around t: at most b tokens each side, stopping at a -1 (a
        // sentence boundary). Found by one scan outwards, so the work is O(b), not O(b^2).
        int64_t lo = std::max<int64_t>(t - b, 0), hi = std::min<int64_t>(t + b, p.n_tokens - 1);
        for (int64_t q = t - 1; q >= lo; --q)
          if (p.corpus[q] < 0) { lo = q + 1; break; }
        for (int64_t q = t + 1; q <= hi; ++q)
          if (p.corpus[q] < 0) { hi = q - 1; break; }
        for (int64_t ct = lo; ct <= hi; ++ct) {
          if (ct == t) continue;
          const int32_t c = p.corpus[ct];
          std::fill(e.begin(), e.end(), 0.f);
          for (int64_t d = 0; d <= int64_t{p.negative}; ++d) {
            int32_t u;
            float label;
            if (d == 0) {
              u = c;
              label = 1.f;
            } else {
              u = p.neg_table[rng.next() % uint64_t(p.table_size)];
              if (u == c) continue;
              label = 0.f;
            }
            float* o = p.w_out + int64_t(u) * dim;
            float f = 0.f;
            for (int64_t k = 0; k < dim; ++k) f += v[k] * o[k];
            const float s = sigmoid(f);
            my_loss -= std::log(std::max(label > 0 ? s : 1.f - s, 1e-7f));
            const float g = lr * (label - s);
            for (int64_t k = 0; k < dim; ++k) {
              e[k] += g * o[k];
              o[k] += g * v[k];
            }
          }
          for (int64_t k = 0; k < dim; ++k) v[k] += e[k];
          ++my_pairs;
        }
      }
      loss[tid] = my_loss;
      pairs[tid] = my_pairs;
    }
    if (interrupted()) return 0.0;
    last_loss_sum = 0.0;
    last_pairs = 0;
    for (int i = 0; i < threads; ++i) {
      last_loss_sum += loss[i];
      last_pairs += pairs[i];
    }
  }
  return last_pairs ? last_loss_sum / double(last_pairs) : 0.0;
}

}  // namespace grimoire
