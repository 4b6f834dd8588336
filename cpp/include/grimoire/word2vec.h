// word2vec skip-gram with negative sampling (primer 2.2.3, 3.6): the SGD loop of Mikolov et al.
//
//   For each centre word w at position t and each context word c within a random window
//   b ~ U{1..window}: with v = W_in[w] (dim,), for the pair (w, c) with label 1 and `negative`
//   words n drawn from the unigram^0.75 table with label 0:
//       f = v . W_out[u],   g = lr * (label - sigmoid(f))
//       e += g * W_out[u];  W_out[u] += g * v            (u = c or n)
//   then W_in[w] += e. Loss: -log sigmoid(f) for c, -log sigmoid(-f) for each n.
//
//   w_in, w_out: (vocab, dim) float32, updated in place. corpus: (n_tokens,) int32 ids, with -1
//   marking sentence boundaries (windows do not cross them). keep_prob: (vocab,) probability of
//   keeping a token (frequent-word subsampling) or null. The learning rate decays linearly from
//   lr to lr_min over all epochs. Threads split the corpus and update the shared matrices without
//   locks (Hogwild, as the original): results depend on the thread count; one thread is
//   deterministic for a given seed.
#pragma once

#include <cstdint>

namespace grimoire {

// Most negatives per positive pair the binding accepts (word2vec uses 5 to 20).
constexpr int kWord2VecMaxNegative = 1000;

struct Word2VecParams {
  int64_t vocab = 0, dim = 0;
  float* w_in = nullptr;
  float* w_out = nullptr;
  const int32_t* corpus = nullptr;
  int64_t n_tokens = 0;
  const int32_t* neg_table = nullptr;
  int64_t table_size = 0;
  const float* keep_prob = nullptr;
  int window = 5, negative = 5, epochs = 1;
  float lr = 0.025f, lr_min = 0.0001f;
  uint64_t seed = 1;
  int num_threads = 0;  // 0: grimoire::num_threads()
};

// Returns the mean loss per (centre, context) pair of the last epoch.
double word2vec_sgns_train(const Word2VecParams& p);

}  // namespace grimoire
