// Normalisation driver and scalar reference paths (see norm.h for the maths and the choice of
// statistics). The driver owns threading and the fixed-order reductions; the per-ISA
// microkernels (norm_avx2.cpp / norm_avx512.cpp, from norm_simd.h) work on rows or blocks.
#include "grimoire/norm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"
#include "norm_kernels.h"

namespace grimoire {

using norm_detail::NormKernels;

namespace {

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("norm", kPaths), true);

// ---- LayerNorm / RMSNorm: scalar reference rows (statistics in double) ----

void layer_norm_rows_ref(const LayerNormParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float* x = p.x + r * d;
    float* y = p.y + r * d;
    double s = 0.0;
    for (int64_t i = 0; i < d; ++i) s += x[i];
    const double mean = s / static_cast<double>(d);
    double q = 0.0;
    for (int64_t i = 0; i < d; ++i) q += (x[i] - mean) * (x[i] - mean);
    const double rstd = 1.0 / std::sqrt(q / static_cast<double>(d) + static_cast<double>(p.eps));
    p.mean[r] = static_cast<float>(mean);
    p.rstd[r] = static_cast<float>(rstd);
    for (int64_t i = 0; i < d; ++i) {
      double v = (x[i] - mean) * rstd;
      if (p.weight) v *= p.weight[i];
      if (p.bias) v += p.bias[i];
      y[i] = static_cast<float>(v);
    }
  }
}

void rms_norm_rows_ref(const LayerNormParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float* x = p.x + r * d;
    float* y = p.y + r * d;
    double q = 0.0;
    for (int64_t i = 0; i < d; ++i) q += static_cast<double>(x[i]) * x[i];
    const double rstd = 1.0 / std::sqrt(q / static_cast<double>(d) + static_cast<double>(p.eps));
    p.rstd[r] = static_cast<float>(rstd);
    for (int64_t i = 0; i < d; ++i) {
      double v = x[i] * rstd;
      if (p.weight) v *= p.weight[i];
      y[i] = static_cast<float>(v);
    }
  }
}

// grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = grad_y * w, xhat = (x - mean) * rstd.
template <bool Centered>
void backward_rows_ref(const LayerNormBackwardParams& p, int64_t begin, int64_t end, float* dw, float* db) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float* gy = p.grad_y + r * d;
    const float* x = p.x + r * d;
    const double rstd = p.rstd[r];
    const double mean = Centered ? p.mean[r] : 0.0;
    double sg = 0.0, sgx = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      const double xhat = (x[i] - mean) * rstd;
      const double g = p.weight ? static_cast<double>(gy[i]) * p.weight[i] : gy[i];
      sg += g;
      sgx += g * xhat;
      if (dw) dw[i] += static_cast<float>(gy[i] * xhat);
      if (db) db[i] += gy[i];
    }
    const double mg = Centered ? sg / static_cast<double>(d) : 0.0;
    const double mgx = sgx / static_cast<double>(d);
    for (int64_t i = 0; i < d; ++i) {
      const double xhat = (x[i] - mean) * rstd;
      const double g = p.weight ? static_cast<double>(gy[i]) * p.weight[i] : gy[i];
      p.grad_x[r * d + i] = static_cast<float>(rstd * (g - mg - xhat * mgx));
    }
  }
}

void layer_norm_backward_rows_ref(const LayerNormBackwardParams& p, int64_t b, int64_t e, float* dw, float* db) {
  backward_rows_ref<true>(p, b, e, dw, db);
}
void rms_norm_backward_rows_ref(const LayerNormBackwardParams& p, int64_t b, int64_t e, float* dw) {
  backward_rows_ref<false>(p, b, e, dw, nullptr);
}

// The reference table carries only the row kernels; the batch-norm reference is separate code.
const NormKernels kReference = {&layer_norm_rows_ref, &rms_norm_rows_ref, &layer_norm_backward_rows_ref,
                                &rms_norm_backward_rows_ref, nullptr, nullptr, nullptr, nullptr,
                                nullptr, nullptr, nullptr, nullptr};

const NormKernels& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return norm_detail::kernels_avx512;
    case Isa::avx2: return norm_detail::kernels_avx2;
    default: return kReference;
  }
}

// At least ~16k elements per thread, so small inputs stay on one thread.
int64_t row_grain(int64_t dim) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)); }

std::atomic<int64_t> g_stream_threshold{int64_t{64} << 20};

template <typename RowFn>
void forward_rows(const LayerNormParams& p, RowFn fn) {
  if (p.rows <= 0 || p.dim <= 0) return;
  LayerNormParams q = p;
  q.stream_y = p.rows * p.dim * static_cast<int64_t>(sizeof(float)) >= norm_stream_threshold() &&
               reinterpret_cast<uintptr_t>(p.y) % sizeof(float) == 0;
  parallel_for(q.rows, row_grain(q.dim), [&](int64_t b, int64_t e) { fn(q, b, e); });
}

// Backward: grad_x row by row; grad_weight / grad_bias as per-chunk partial sums over a fixed
// partition of the rows (independent of the thread count), added in chunk order.
template <typename RowFn>
void backward_rows(const LayerNormBackwardParams& p, RowFn fn) {
  const int64_t rows = p.rows, d = p.dim;
  if (d <= 0) return;
  const bool need_w = p.grad_weight != nullptr, need_b = p.grad_bias != nullptr;
  if (!need_w && !need_b) {
    if (rows > 0) parallel_for(rows, row_grain(d), [&](int64_t b, int64_t e) { fn(p, b, e, nullptr, nullptr); });
    return;
  }
  const int64_t chunks = std::clamp<int64_t>(rows * d / 32768, 1, 64);
  const int64_t stride = d * ((need_w ? 1 : 0) + (need_b ? 1 : 0));
  std::vector<float> partial(static_cast<size_t>(chunks * stride), 0.0f);
  parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      float* dw = need_w ? partial.data() + c * stride : nullptr;
      float* db = need_b ? partial.data() + c * stride + (need_w ? d : 0) : nullptr;
      const int64_t r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
      if (r0 < r1) fn(p, r0, r1, dw, db);
    }
  });
  parallel_for(d, 4096, [&](int64_t jb, int64_t je) {
    for (int64_t j = jb; j < je; ++j) {
      float sw = 0.0f, sb = 0.0f;
      for (int64_t c = 0; c < chunks; ++c) {
        if (need_w) sw += partial[c * stride + j];
        if (need_b) sb += partial[c * stride + (need_w ? d : 0) + j];
      }
      if (need_w) p.grad_weight[j] = sw;
      if (need_b) p.grad_bias[j] = sb;
    }
  });
}

// ---- BatchNorm ----

// Chan et al.'s merge of (count, mean, M2) statistics.
struct Moments {
  double n = 0.0, mean = 0.0, m2 = 0.0;
  void merge(double nb, double mean_b, double m2_b) {
    if (nb <= 0.0) return;
    const double total = n + nb, delta = mean_b - mean;
    mean += delta * nb / total;
    m2 += m2_b + delta * delta * n * nb / total;
    n = total;
  }
};

// Rows per (N, C) tile and columns per tile: a tile of about 32 KiB stays in L1 for its second pass.
constexpr int64_t kColBlock = 256;
int64_t tile_rows(int64_t cols) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)); }
constexpr int64_t kBlockLen = 8192;  // longest contiguous block reduced two-pass at once

void batch_stats_fast(const NormKernels& k, const BatchNormParams& p, std::vector<double>& mean,
                      std::vector<double>& var) {
  const int64_t N = p.n, C = p.channels, S = p.spatial;
  if (S > 1) {
    parallel_for(C, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c) {
        Moments mo;
        for (int64_t i = 0; i < N; ++i)
          for (int64_t s0 = 0; s0 < S; s0 += kBlockLen) {
            const int64_t len = std::min(kBlockLen, S - s0);
            float bm, bm2;
            k.block_mean_m2(p.x + (i * C + c) * S + s0, len, &bm, &bm2);
            mo.merge(static_cast<double>(len), bm, bm2);
          }
        mean[c] = mo.mean;
        var[c] = mo.m2 / mo.n;
      }
    });
    return;
  }
  const int64_t blocks = (C + kColBlock - 1) / kColBlock;
  parallel_for(blocks, 1, [&](int64_t bb, int64_t be) {
    std::vector<float> tm(kColBlock), tm2(kColBlock);
    std::vector<Moments> mo(kColBlock);
    for (int64_t blk = bb; blk < be; ++blk) {
      const int64_t c0 = blk * kColBlock, cols = std::min(kColBlock, C - c0);
      const int64_t tr = tile_rows(cols);
      std::fill(mo.begin(), mo.end(), Moments{});
      for (int64_t r0 = 0; r0 < N; r0 += tr) {
        const int64_t rows = std::min(tr, N - r0);
        k.cols_mean_m2(p.x + r0 * C + c0, rows, C, cols, tm.data(), tm2.data());
        for (int64_t j = 0; j < cols; ++j) mo[j].merge(static_cast<double>(rows), tm[j], tm2[j]);
      }
      for (int64_t j = 0; j < cols; ++j) {
        mean[c0 + j] = mo[j].mean;
        var[c0 + j] = mo[j].m2 / mo[j].n;
      }
    }
  });
}

void batch_stats_reference(const BatchNormParams& p, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t N = p.n, C = p.channels, S = p.spatial;
  const double count = static_cast<double>(N) * static_cast<double>(S);
  parallel_for(C, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double s = 0.0;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < S; ++j) s += p.x[(i * C + c) * S + j];
      const double m = s / count;
      double q = 0.0;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < S; ++j) {
          const double dlt = p.x[(i * C + c) * S + j] - m;
          q += dlt * dlt;
        }
      mean[c] = m;
      var[c] = q / count;
    }
  });
}

// y = (x - mean_c) * scale_c + shift_c over every channel.
void channel_affine(const NormKernels* k, const BatchNormParams& p, const float* mean, const std::vector<float>& scale,
                    const std::vector<float>& shift) {
  const int64_t N = p.n, C = p.channels, S = p.spatial;
  if (k == nullptr) {
    parallel_for(N * C, std::max<int64_t>(1, 16384 / S), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = i % C;
        for (int64_t j = 0; j < S; ++j)
          p.y[i * S + j] = static_cast<float>((static_cast<double>(p.x[i * S + j]) - mean[c]) * scale[c] + shift[c]);
      }
    });
  } else if (S > 1) {
    parallel_for(N * C, std::max<int64_t>(1, 16384 / S), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) k->block_affine(p.x + i * S, p.y + i * S, S, mean[i % C], scale[i % C], shift[i % C]);
    });
  } else {
    parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
      k->rows_affine(p.x + b * C, p.y + b * C, e - b, C, C, mean, scale.data(), shift.data());
    });
  }
}

void batch_norm_forward_impl(const NormKernels* k, const BatchNormParams& p) {
  const int64_t C = p.channels;
  if (C <= 0) return;
  std::vector<double> mean(C), var(C);
  std::vector<float> rstd(C);
  const int64_t count = p.n * p.spatial;
  if (p.training) {
    if (count > 0) {
      if (k) batch_stats_fast(*k, p, mean, var);
      else batch_stats_reference(p, mean, var);
    } else {
      std::fill(mean.begin(), mean.end(), std::nan(""));
      std::fill(var.begin(), var.end(), std::nan(""));
    }
    const double m = p.momentum;
    for (int64_t c = 0; c < C; ++c) {
      rstd[c] = static_cast<float>(1.0 / std::sqrt(var[c] + static_cast<double>(p.eps)));
      if (p.running_mean) p.running_mean[c] = static_cast<float>((1.0 - m) * p.running_mean[c] + m * mean[c]);
      if (p.running_var) {
        const double unbiased = count > 1 ? var[c] * static_cast<double>(count) / static_cast<double>(count - 1)
                                          : std::nan("");
        p.running_var[c] = static_cast<float>((1.0 - m) * p.running_var[c] + m * unbiased);
      }
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = p.running_mean[c];
      rstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.running_var[c]) + p.eps));
    }
  }
  std::vector<float> scale(C), shift(C);
  for (int64_t c = 0; c < C; ++c) {
    p.save_mean[c] = static_cast<float>(mean[c]);
    p.save_rstd[c] = rstd[c];
    const double sc = static_cast<double>(rstd[c]) * (p.weight ? p.weight[c] : 1.0f);
    scale[c] = static_cast<float>(sc);
    shift[c] = p.bias ? p.bias[c] : 0.0f;
  }
  if (count > 0) channel_affine(k, p, p.save_mean, scale, shift);
}

// Per channel: sum(dy) and sum(dy * (x - mean)).
void batch_sums(const NormKernels* k, const BatchNormBackwardParams& p, std::vector<double>& sdy,
                std::vector<double>& sdyx) {
  const int64_t N = p.n, C = p.channels, S = p.spatial;
  if (k == nullptr || S > 1) {
    parallel_for(C, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c) {
        const double m = p.save_mean[c];
        double a = 0.0, b = 0.0;
        for (int64_t i = 0; i < N; ++i) {
          const int64_t off = (i * C + c) * S;
          if (k) {
            for (int64_t s0 = 0; s0 < S; s0 += kBlockLen) {
              float ba, bb;
              k->block_dot(p.grad_y + off + s0, p.x + off + s0, std::min(kBlockLen, S - s0), p.save_mean[c], &ba, &bb);
              a += ba;
              b += bb;
            }
          } else {
            for (int64_t j = 0; j < S; ++j) {
              a += p.grad_y[off + j];
              b += p.grad_y[off + j] * (p.x[off + j] - m);
            }
          }
        }
        sdy[c] = a;
        sdyx[c] = b;
      }
    });
    return;
  }
  const int64_t blocks = (C + kColBlock - 1) / kColBlock;
  parallel_for(blocks, 1, [&](int64_t bb, int64_t be) {
    std::vector<float> ta(kColBlock), tb(kColBlock);
    for (int64_t blk = bb; blk < be; ++blk) {
      const int64_t c0 = blk * kColBlock, cols = std::min(kColBlock, C - c0);
      const int64_t tr = tile_rows(cols);
      for (int64_t j = 0; j < cols; ++j) sdy[c0 + j] = sdyx[c0 + j] = 0.0;
      for (int64_t r0 = 0; r0 < N; r0 += tr) {
        const int64_t rows = std::min(tr, N - r0);
        k->cols_dot(p.grad_y + r0 * C + c0, p.x + r0 * C + c0, rows, C, cols, p.save_mean + c0, ta.data(), tb.data());
        for (int64_t j = 0; j < cols; ++j) {
          sdy[c0 + j] += ta[j];
          sdyx[c0 + j] += tb[j];
        }
      }
    }
  });
}

void batch_norm_backward_impl(const NormKernels* k, const BatchNormBackwardParams& p) {
  const int64_t N = p.n, C = p.channels, S = p.spatial;
  if (C <= 0) return;
  const int64_t count = N * S;
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  if (count > 0) batch_sums(k, p, sdy, sdyx);
  // grad_x = ka*dy + kb*(x - mean) + c per channel: with k = w * rstd, xhat = (x - mean) * rstd,
  // training: k * (dy - mean(dy) - xhat * mean(dy * xhat)); inference: k * dy.
  std::vector<float> ka(C), kb(C), kc(C);
  for (int64_t c = 0; c < C; ++c) {
    const double rstd = p.save_rstd[c];
    const double w = p.weight ? p.weight[c] : 1.0;
    const double kk = w * rstd;
    if (p.grad_weight) p.grad_weight[c] = static_cast<float>(sdyx[c] * rstd);
    if (p.grad_bias) p.grad_bias[c] = static_cast<float>(sdy[c]);
    ka[c] = static_cast<float>(kk);
    if (p.training) {
      const double mdy = sdy[c] / static_cast<double>(count);
      const double mdyx = sdyx[c] * rstd / static_cast<double>(count);  // mean(dy * xhat)
      const double q = -kk * mdyx * rstd;
      kb[c] = static_cast<float>(q);
      kc[c] = static_cast<float>(-kk * mdy);
    } else {
      kb[c] = 0.0f;
      kc[c] = 0.0f;
    }
  }
  if (count == 0) return;
  if (k == nullptr) {
    parallel_for(N * C, std::max<int64_t>(1, 16384 / S), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = i % C;
        for (int64_t j = 0; j < S; ++j)
          p.grad_x[i * S + j] = static_cast<float>(static_cast<double>(ka[c]) * p.grad_y[i * S + j] +
                                                   static_cast<double>(kb[c]) * (p.x[i * S + j] - p.save_mean[c]) + kc[c]);
      }
    });
  } else if (S > 1) {
    parallel_for(N * C, std::max<int64_t>(1, 16384 / S), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = i % C;
        k->block_affine2(p.grad_y + i * S, p.x + i * S, p.grad_x + i * S, S, ka[c], kb[c], p.save_mean[c], kc[c]);
      }
    });
  } else {
    parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
      k->rows_affine2(p.grad_y + b * C, p.x + b * C, p.grad_x + b * C, e - b, C, C, ka.data(), kb.data(), p.save_mean, kc.data());
    });
  }
}

const NormKernels* fast_kernels() {
  const Isa isa = isa_for(kPaths);
  return isa == Isa::scalar ? nullptr : &kernels_for(isa);
}

}  // namespace

int64_t norm_stream_threshold() { return g_stream_threshold.load(std::memory_order_relaxed); }
int64_t set_norm_stream_threshold(int64_t bytes) { return g_stream_threshold.exchange(bytes); }

void layer_norm_forward(const LayerNormParams& p) { forward_rows(p, kernels_for(isa_for(kPaths)).layer_norm_rows); }
void rms_norm_forward(const LayerNormParams& p) { forward_rows(p, kernels_for(isa_for(kPaths)).rms_norm_rows); }
void layer_norm_backward(const LayerNormBackwardParams& p) {
  backward_rows(p, kernels_for(isa_for(kPaths)).layer_norm_backward_rows);
}
void rms_norm_backward(const LayerNormBackwardParams& p) {
  auto fn = kernels_for(isa_for(kPaths)).rms_norm_backward_rows;
  LayerNormBackwardParams q = p;
  q.grad_bias = nullptr;
  backward_rows(q, [fn](const LayerNormBackwardParams& a, int64_t b, int64_t e, float* dw, float*) { fn(a, b, e, dw); });
}
void batch_norm_forward(const BatchNormParams& p) { batch_norm_forward_impl(fast_kernels(), p); }
void batch_norm_backward(const BatchNormBackwardParams& p) { batch_norm_backward_impl(fast_kernels(), p); }

void layer_norm_forward_reference(const LayerNormParams& p) { forward_rows(p, kReference.layer_norm_rows); }
void rms_norm_forward_reference(const LayerNormParams& p) { forward_rows(p, kReference.rms_norm_rows); }
void layer_norm_backward_reference(const LayerNormBackwardParams& p) {
  backward_rows(p, kReference.layer_norm_backward_rows);
}
void rms_norm_backward_reference(const LayerNormBackwardParams& p) {
  LayerNormBackwardParams q = p;
  q.grad_bias = nullptr;
  backward_rows(q, [](const LayerNormBackwardParams& a, int64_t b, int64_t e, float* dw, float*) {
    rms_norm_backward_rows_ref(a, b, e, dw);
  });
}
void batch_norm_forward_reference(const BatchNormParams& p) { batch_norm_forward_impl(nullptr, p); }
void batch_norm_backward_reference(const BatchNormBackwardParams& p) { batch_norm_backward_impl(nullptr, p); }

}  // namespace grimoire
