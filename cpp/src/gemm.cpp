// GEMM driver. The scalar reference path lives here; the packed, cache-blocked SIMD paths are
// added beside it (gemm_avx2.cpp, gemm_avx512.cpp) and chosen at run time by isa_for().
#include "grimoire/gemm.h"

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

template <typename T>
void scale_c(const GemmParams<T>& p, int64_t row_begin, int64_t row_end) {
  for (int64_t i = row_begin; i < row_end; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      T& cij = p.c[i * p.c_row_stride + j * p.c_col_stride];
      cij = p.beta == T(0) ? T(0) : p.beta * cij;
    }
}

// Rows [row_begin, row_end) of C: C = beta*C, then C += alpha * A[i,:] * B, accumulating each
// row in i-p-j order so the inner loop walks a row of B and a row of C.
template <typename T>
void reference_rows(const GemmParams<T>& p, int64_t row_begin, int64_t row_end) {
  scale_c(p, row_begin, row_end);
  if (p.alpha == T(0)) return;
  for (int64_t i = row_begin; i < row_end; ++i) {
    T* c_row = p.c + i * p.c_row_stride;
    for (int64_t q = 0; q < p.k; ++q) {
      const T a_iq = p.alpha * p.a[i * p.a_row_stride + q * p.a_col_stride];
      const T* b_row = p.b + q * p.b_row_stride;
      for (int64_t j = 0; j < p.n; ++j) c_row[j * p.c_col_stride] += a_iq * b_row[j * p.b_col_stride];
    }
  }
}

template <typename T>
void reference(const GemmParams<T>& p) {
  if (p.m <= 0 || p.n <= 0) return;
  const int threads = p.num_threads == 1 ? 1 : num_threads();
  if (threads == 1) {
    reference_rows(p, 0, p.m);
    return;
  }
  const int64_t flops_per_row = p.n * (p.k + 1);
  parallel_for(p.m, std::max<int64_t>(1, 65536 / std::max<int64_t>(flops_per_row, 1)),
               [&](int64_t b, int64_t e) { reference_rows(p, b, e); });
}

template <typename T>
void batched(const GemmParams<T>& p, const GemmBatch<T>& batch) {
  for (int64_t i = 0; i < batch.batch; ++i) {
    GemmParams<T> q = p;
    q.a += i * batch.a_batch_stride;
    q.b += i * batch.b_batch_stride;
    q.c += i * batch.c_batch_stride;
    gemm(q);
  }
}

const bool registered = (register_family("gemm", {Isa::scalar}), true);

}  // namespace

void gemm_reference(const GemmParams<float>& p) { reference(p); }
void gemm_reference(const GemmParams<double>& p) { reference(p); }
void gemm(const GemmParams<float>& p) { reference(p); }
void gemm(const GemmParams<double>& p) { reference(p); }
void gemm_batched(const GemmParams<float>& p, const GemmBatch<float>& b) { batched(p, b); }
void gemm_batched(const GemmParams<double>& p, const GemmBatch<double>& b) { batched(p, b); }

}  // namespace grimoire
