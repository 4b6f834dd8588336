// Flash attention on NVIDIA GPUs in the FlashAttention-2 scheme (Dao, 2023), forward, split-K
// decode and a deterministic backward; the GPU twin of cpp/src/attention*.cpp.
//
// Rows. A block works on the query rows of ONE (batch, kv head): the `group = heads / kv_heads`
// query heads that share the key/value head are packed one after another, packed row
// r in [0, group * q_len) being query i = r % q_len of head h = hk * group + r / q_len. K and V
// are then read once for the whole group (grouped-query and multi-query attention get their
// bandwidth saving), and a decode step (q_len 1) of a GQA model still fills an m16 tile. The lse
// index of packed row r is (b * heads + hk * group) * q_len + r: lse is contiguous in r.
//
// Tensor-core path (bf16/fp16, head_dim % 8 == 0, 16-byte aligned rows): each warp owns 16 query
// rows; S = Q K^T and O += P V are mma.sync.m16n8k16 with float32 accumulators, fed by ldmatrix
// (.trans for V) from XOR-swizzled shared tiles that cp.async fills; P goes from the S
// accumulators to the A fragments of P V without leaving registers. The online softmax runs in
// the log2 domain (x = s * scale * log2 e, exp2), with l kept per thread and reduced once.
// head_dim is padded to 64, 128 or 256 (zero-filled columns add nothing to Q K^T).
// SIMT path (float32, or any layout the tensor-core path refuses): one warp per row, float32.
#include "attention.cuh"

#include <algorithm>
#include <cmath>

#include "mma.cuh"

namespace grimoire::cuda {

namespace {

using namespace grimoire::cuda::mma;

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr float kNegInf = -INFINITY;
constexpr int kSharedLimitSm80 = 163 * 1024, kSharedLimitSm90 = 227 * 1024;

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

__host__ __device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

__device__ __forceinline__ int64_t row_offset(const int64_t* s, int64_t b, int64_t h, int64_t i) {
  return b * s[0] + h * s[1] + i * s[2];
}

// The score's mask term in the log2 domain for (b, h, i, key): 0, the additive mask * log2 e, or
// -inf where a keep-mask says no. The causal rule and k_len are applied by the caller.
__device__ __forceinline__ float mask_term(const AttentionCudaParams& p, int64_t mask_row, int64_t key) {
  const int64_t at = mask_row + key * p.mask_stride[3];
  if (p.mask_kind == AttentionMask::additive) return static_cast<const float*>(p.mask)[at] * kLog2e;
  return static_cast<const uint8_t*>(p.mask)[at] ? 0.0f : kNegInf;
}
__device__ __forceinline__ int64_t mask_row(const AttentionCudaParams& p, int64_t b, int64_t h, int64_t i) {
  return b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2];
}

// The query range [i_lo, i_hi] of packed rows [r0, r_last] (a tile that wraps a head spans
// every query), and the key range the causal rule leaves them: keys < i_hi + diag + 1.
struct TileQueries {
  int64_t i_lo, i_hi;
};
__device__ __forceinline__ TileQueries tile_queries(int64_t r0, int64_t r_last, int64_t q_len) {
  if (r0 / q_len == r_last / q_len) return {r0 % q_len, r_last % q_len};
  return {0, q_len - 1};
}

// ---------------------------------------------------------------------------------------------
// Tensor-core forward.
// ---------------------------------------------------------------------------------------------

// Split-K (decode): block (x, split) covers keys [split * keys_per_split, +keys_per_split) and
// writes its normalised partial output and lse to float32 scratch, merged by the combine kernel.
struct SplitK {
  int splits = 1;
  int64_t keys_per_split = INT64_MAX;
  float* part_out = nullptr;  // [splits][batch * heads * q_len][head_dim]
  float* part_lse = nullptr;  // [splits][batch * heads * q_len]
};

template <typename T, int kD, int kBN, int kWarps>
struct FwdConfig {
  static constexpr int kBM = 16 * kWarps, kThreads = 32 * kWarps;
  // Q stays in registers (kD / 4 of them) up to head_dim 128; at 256 the O accumulators alone
  // take 128 registers, so Q is re-read from shared memory with ldmatrix.
  static constexpr bool kQInRegs = kD <= 128;
  static constexpr int kSmemQ = kBM * kD, kSmemKV = kBN * kD;
  static constexpr int kSmemBytes = (kSmemQ + 2 * kSmemKV) * 2;
  static_assert(kSmemBytes <= kSharedLimitSm80 && kSmemBytes <= kSharedLimitSm90, "shared tile too large");
  static_assert(kBN % 16 == 0 && kD % 64 == 0, "tiles are whole mma steps and swizzle groups");
};

// Copy rows [0, n_rows) x head columns of a (row -> global pointer) tile into a swizzled shared
// tile of kRows x kD, zero-filling rows past the valid ones and columns past head_dim.
template <int kRows, int kD, int kThreads, typename T, typename RowPtr>
__device__ __forceinline__ void load_tile(T* smem, RowPtr row_ptr, int valid_rows, int head_dim, const T* any) {
  constexpr int kChunks = kD / 8, kTotal = kRows * kChunks;
#pragma unroll 1  // unrolled, the hoisted row addresses of every chunk would spill
  for (int it = 0; it < (kTotal + kThreads - 1) / kThreads; ++it) {
    const int e = it * kThreads + static_cast<int>(threadIdx.x);
    if (kTotal % kThreads != 0 && e >= kTotal) break;
    const int row = e / kChunks, c = e % kChunks;
    const bool ok = row < valid_rows && c * 8 < head_dim;
    const T* src = ok ? row_ptr(row) + c * 8 : any;
    cp_async_16(smem + swizzle<kD>(row, c * 8), src, ok ? 16 : 0);
  }
}

template <typename T, int kD, int kBN, int kWarps>
__global__ void __launch_bounds__(kWarps * 32) attention_fwd_mma(AttentionCudaParams p, SplitK sk) {
  using C = FwdConfig<T, kD, kBN, kWarps>;
  constexpr int kBM = C::kBM, kSteps = kD / 16, kNTiles = kBN / 8, kOTiles = kD / 8;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sK = sQ + C::kSmemQ;
  T* sV = sK + C::kSmemKV;
  const T* q = static_cast<const T*>(p.q);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  // Block -> (row tile, batch, kv head); the last row tiles (most keys under causal) go first.
  const int64_t group = p.heads / p.kv_heads, rows = group * p.q_len, bh_count = p.batch * p.kv_heads;
  const int64_t row_tiles = (rows + kBM - 1) / kBM;
  const int64_t tile = row_tiles - 1 - static_cast<int64_t>(blockIdx.x) / bh_count;
  const int64_t bh = static_cast<int64_t>(blockIdx.x) % bh_count, b = bh / p.kv_heads, hk = bh % p.kv_heads;
  const int64_t r0 = tile * kBM, r_last = imin(r0 + kBM, rows) - 1;
  const int64_t diag = p.k_len - p.q_len;  // query i sees keys <= i + diag
  const TileQueries tq = tile_queries(r0, r_last, p.q_len);
  const int64_t key_end = p.causal ? imin(p.k_len, tq.i_hi + diag + 1) : p.k_len;
  const int64_t n_begin = static_cast<int64_t>(blockIdx.y) * sk.keys_per_split;
  const int64_t n_stop = imin(key_end, n_begin + sk.keys_per_split);  // may be <= n_begin: no keys

  const bool warp_active = r0 + warp * 16 < rows;  // warp-uniform: all 16 rows padding or not
  // This thread's two rows (g and g + 8 of the warp's 16): query, causal limit, mask row.
  int64_t limit[2], mrow[2], head[2], query[2];
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int64_t r = imin(r0 + warp * 16 + g + 8 * hf, rows - 1);
    head[hf] = hk * group + r / p.q_len;
    query[hf] = r % p.q_len;
    limit[hf] = p.causal ? imin(p.k_len, query[hf] + diag + 1) : p.k_len;
    mrow[hf] = p.mask_kind == AttentionMask::none ? 0 : mask_row(p, b, head[hf], query[hf]);
  }

  // Prologue: Q and the first K tile in one cp.async group.
  load_tile<kBM, kD, C::kThreads>(
      sQ, [&](int row) { const int64_t r = r0 + row; return q + row_offset(p.q_stride, b, hk * group + r / p.q_len, r % p.q_len); },
      static_cast<int>(imin(kBM, rows - r0)), static_cast<int>(p.head_dim), q);
  auto load_kv = [&](T* dst, const T* base, const int64_t* stride, int64_t n0) {
    load_tile<kBN, kD, C::kThreads>(
        dst, [&](int row) { return base + row_offset(stride, b, hk, n0 + row); },
        static_cast<int>(imin(kBN, p.k_len - n0)), static_cast<int>(p.head_dim), base);
  };
  if (n_begin < n_stop) load_kv(sK, k, p.k_stride, n_begin);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  uint32_t qf[C::kQInRegs ? kSteps : 1][4];
  if constexpr (C::kQInRegs) {
#pragma unroll
    for (int kk = 0; kk < kSteps; ++kk)
      ldmatrix_x4(qf[kk], sQ + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
  }

  const float sl2 = p.scale * kLog2e;
  float o[kOTiles][4] = {};
  float m[2] = {kNegInf, kNegInf}, l[2] = {0.0f, 0.0f};

  // Invariant at the top of each iteration: sK holds keys [n0, n0 + kBN) and is visible to all
  // threads; no cp.async into sV is in flight; every warp is done reading the previous sV.
  for (int64_t n0 = n_begin; n0 < n_stop; n0 += kBN) {
    load_kv(sV, v, p.v_stride, n0);
    cp_async_commit();

    float s[kNTiles][4] = {};
    if (warp_active) {
#pragma unroll
      for (int kk = 0; kk < kSteps; ++kk) {
        uint32_t a[4];
        if constexpr (C::kQInRegs) {
#pragma unroll
          for (int x = 0; x < 4; ++x) a[x] = qf[kk][x];
        } else {
          ldmatrix_x4(a, sQ + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
        }
#pragma unroll
        for (int nn = 0; nn < kBN / 16; ++nn) {
          uint32_t bk[4];
          ldmatrix_x4(bk, sK + swizzle<kD>(nn * 16 + b_row(lane), kk * 16 + b_col(lane)));
          mma_16816<T>(s[2 * nn], a, bk[0], bk[1]);
          mma_16816<T>(s[2 * nn + 1], a, bk[2], bk[3]);
        }
      }
    }

    // Scores to the log2 domain; mask only where this tile can hold a masked key.
    const bool edge = n0 + kBN > p.k_len || (p.causal && n0 + kBN - 1 > tq.i_lo + diag) ||
                      p.mask_kind != AttentionMask::none;
#pragma unroll
    for (int n = 0; n < kNTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[n][e] * sl2;
        if (edge) {
          const int hf = e / 2;
          const int64_t key = n0 + n * 8 + 2 * t + (e & 1);
          if (key >= limit[hf]) x = kNegInf;
          else if (p.mask_kind != AttentionMask::none) x += mask_term(p, mrow[hf], key);
        }
        s[n][e] = x;
      }

    // Online softmax: new running max, rescale O and l, P = exp2(x - m).
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      float mx = kNegInf;
#pragma unroll
      for (int n = 0; n < kNTiles; ++n) mx = fmaxf(mx, fmaxf(s[n][2 * hf], s[n][2 * hf + 1]));
      const float m_new = fmaxf(m[hf], quad_max(mx));
      const float m_use = m_new == kNegInf ? 0.0f : m_new;  // all masked so far: exp2(-inf - 0) = 0
      const float alpha = exp2f(m[hf] - m_use);
      m[hf] = m_new;
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < kNTiles; ++n) {
        s[n][2 * hf] = exp2f(s[n][2 * hf] - m_use);
        s[n][2 * hf + 1] = exp2f(s[n][2 * hf + 1] - m_use);
        sum += s[n][2 * hf] + s[n][2 * hf + 1];
      }
      l[hf] = l[hf] * alpha + sum;
#pragma unroll
      for (int n = 0; n < kOTiles; ++n) o[n][2 * hf] *= alpha, o[n][2 * hf + 1] *= alpha;
    }

    cp_async_wait<0>();
    __syncthreads();  // V(n0) visible; every warp is done reading K(n0)
    if (n0 + kBN < n_stop) load_kv(sK, k, p.k_stride, n0 + kBN);
    cp_async_commit();

    if (warp_active) {
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) {
        uint32_t a[4];
        c_to_a<T>(a, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
        for (int dn = 0; dn < kD / 16; ++dn) {
          uint32_t bv[4];
          ldmatrix_x4_trans(bv, sV + swizzle<kD>(kk * 16 + a_row(lane), dn * 16 + a_col(lane)));
          mma_16816<T>(o[2 * dn], a, bv[0], bv[1]);
          mma_16816<T>(o[2 * dn + 1], a, bv[2], bv[3]);
        }
      }
    }
    cp_async_wait<0>();
    __syncthreads();  // K(n0 + kBN) visible; every warp is done reading V(n0)
  }

  // Epilogue: O / l and lse = (m + log2 l) ln 2; a row with l == 0 attends to nothing.
  const int64_t lse_base = (b * p.heads + hk * group) * p.q_len;
  const int64_t total_rows = p.batch * p.heads * p.q_len;
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int64_t r = r0 + warp * 16 + g + 8 * hf;
    const float lsum = quad_sum(l[hf]);
    if (r >= rows) continue;
    const float inv = lsum > 0.0f ? 1.0f / lsum : 0.0f;
    const float lse = lsum > 0.0f ? (m[hf] + log2f(lsum)) * kLn2 : kNegInf;
    if (sk.part_out != nullptr) {
      const int64_t slot = static_cast<int64_t>(blockIdx.y) * total_rows + lse_base + r;
      float* dst = sk.part_out + slot * p.head_dim;
#pragma unroll
      for (int n = 0; n < kOTiles; ++n) {
        const int col = n * 8 + 2 * t;
        if (col < p.head_dim) *reinterpret_cast<float2*>(dst + col) = make_float2(o[n][2 * hf] * inv, o[n][2 * hf + 1] * inv);
      }
      if (t == 0) sk.part_lse[slot] = lse;
    } else {
      T* dst = static_cast<T*>(p.out) + row_offset(p.out_stride, b, head[hf], query[hf]);
#pragma unroll
      for (int n = 0; n < kOTiles; ++n) {
        const int col = n * 8 + 2 * t;
        if (col < p.head_dim)
          *reinterpret_cast<uint32_t*>(dst + col) = Half2Of<T>::pack(o[n][2 * hf] * inv, o[n][2 * hf + 1] * inv);
      }
      if (t == 0) p.lse[lse_base + r] = lse;
    }
  }
}

// Merge the split-K partials of one row: lse = log sum_s exp(lse_s), out = sum_s exp(lse_s - lse) out_s.
template <typename T>
__global__ void __launch_bounds__(128) attention_splitk_combine(AttentionCudaParams p, SplitK sk) {
  const int64_t row = blockIdx.x, total_rows = p.batch * p.heads * p.q_len;
  const int64_t i = row % p.q_len, h = (row / p.q_len) % p.heads, b = row / (p.q_len * p.heads);
  float mx = kNegInf;
  for (int s = 0; s < sk.splits; ++s) mx = fmaxf(mx, sk.part_lse[s * total_rows + row]);
  float sum = 0.0f;
  if (mx != kNegInf)
    for (int s = 0; s < sk.splits; ++s) sum += expf(sk.part_lse[s * total_rows + row] - mx);
  T* dst = static_cast<T*>(p.out) + row_offset(p.out_stride, b, h, i);
  for (int64_t c = threadIdx.x; c < p.head_dim; c += blockDim.x) {
    float acc = 0.0f;
    if (mx != kNegInf)
      for (int s = 0; s < sk.splits; ++s) {
        const float w = expf(sk.part_lse[s * total_rows + row] - mx);  // 0 for an empty split
        if (w > 0.0f) acc += w * sk.part_out[(s * total_rows + row) * p.head_dim + c];
      }
    dst[c] = from_float<T>(mx == kNegInf ? 0.0f : acc / sum);
  }
  if (threadIdx.x == 0) p.lse[row] = mx == kNegInf ? kNegInf : mx + logf(sum);
}

// ---------------------------------------------------------------------------------------------
// SIMT forward (float32, or layouts the tensor cores cannot take): one warp per query row, lane
// owning columns lane, lane + 32, ...; one key at a time with the online softmax.
// ---------------------------------------------------------------------------------------------
constexpr int kSimtUnits = static_cast<int>(kAttentionMaxHeadDim) / 32;  // columns per lane

template <typename T>
__global__ void __launch_bounds__(128) attention_fwd_simt(AttentionCudaParams p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.batch * p.heads * p.q_len) return;  // whole warps leave together
  const int64_t i = row % p.q_len, h = (row / p.q_len) % p.heads, b = row / (p.q_len * p.heads);
  const int64_t hk = h / (p.heads / p.kv_heads), d = p.head_dim;
  const T* qi = static_cast<const T*>(p.q) + row_offset(p.q_stride, b, h, i);
  float qv[kSimtUnits], acc[kSimtUnits];
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    qv[u] = c < d ? to_float(qi[c]) : 0.0f;
    acc[u] = 0.0f;
  }
  const int64_t key_end = p.causal ? imin(p.k_len, i + p.k_len - p.q_len + 1) : p.k_len;
  const int64_t mrow = p.mask_kind == AttentionMask::none ? 0 : mask_row(p, b, h, i);
  const float sl2 = p.scale * kLog2e;
  float m = kNegInf, lsum = 0.0f;
  for (int64_t j = 0; j < key_end; ++j) {
    const T* kj = static_cast<const T*>(p.k) + row_offset(p.k_stride, b, hk, j);
    float s = 0.0f;
#pragma unroll
    for (int u = 0; u < kSimtUnits; ++u) {
      const int64_t c = lane + 32 * u;
      if (c < d) s += qv[u] * to_float(kj[c]);
    }
    float x = warp_sum(s) * sl2;  // warp-uniform from here on
    if (p.mask_kind != AttentionMask::none) x += mask_term(p, mrow, j);
    if (x == kNegInf) continue;
    if (x > m) {
      const float alpha = exp2f(m - x);  // m = -inf: 0
#pragma unroll
      for (int u = 0; u < kSimtUnits; ++u) acc[u] *= alpha;
      lsum *= alpha;
      m = x;
    }
    const float w = exp2f(x - m);
    lsum += w;
    const T* vj = static_cast<const T*>(p.v) + row_offset(p.v_stride, b, hk, j);
#pragma unroll
    for (int u = 0; u < kSimtUnits; ++u) {
      const int64_t c = lane + 32 * u;
      if (c < d) acc[u] += w * to_float(vj[c]);
    }
  }
  T* oi = static_cast<T*>(p.out) + row_offset(p.out_stride, b, h, i);
  const float inv = lsum > 0.0f ? 1.0f / lsum : 0.0f;
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d) oi[c] = from_float<T>(acc[u] * inv);
  }
  if (lane == 0) p.lse[row] = lsum > 0.0f ? (m + log2f(lsum)) * kLn2 : kNegInf;
}

// ---------------------------------------------------------------------------------------------
// Backward. D = rowsum(dO * O) first (one warp per row, into scratch), then dQ per query tile
// and dK/dV per key tile, each a plain ordered sum in one thread: deterministic, no atomics.
// P = exp2(x - lse log2 e) is recomputed from Q, K and lse in both.
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(128) attention_bwd_dot_do_o(AttentionCudaParams p, float* D) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.batch * p.heads * p.q_len) return;
  const int64_t i = row % p.q_len, h = (row / p.q_len) % p.heads, b = row / (p.q_len * p.heads);
  const T* go = static_cast<const T*>(p.grad_out) + row_offset(p.grad_out_stride, b, h, i);
  const T* o = static_cast<const T*>(p.out) + row_offset(p.out_stride, b, h, i);
  float s = 0.0f;
  for (int64_t c = lane; c < p.head_dim; c += 32) s += to_float(go[c]) * to_float(o[c]);
  s = warp_sum(s);
  if (lane == 0) D[row] = s;
}

// lse in the log2 domain for P = exp2(x - lse2); +inf for a row that attends to nothing (and
// for padding rows), so that its P is exp2(-inf) = 0 even where x is -inf.
__device__ __forceinline__ float lse2_of(float lse) { return lse == kNegInf ? INFINITY : lse * kLog2e; }


// dQ: block = 16 * kWarps packed query rows of one (batch, kv head); K/V tiles of kBN keys in a
// two-stage cp.async pipeline. Per warp and key tile:
//   S = Q K^T, P = exp2(x - lse2), dP = dO V^T, dS = P (dP - D), dQ += dS K.
template <typename T, int kD, int kBN, int kWarps>
__global__ void __launch_bounds__(kWarps * 32) attention_bwd_dq_mma(AttentionCudaParams p, const float* D) {
  constexpr int kBM = 16 * kWarps, kSteps = kD / 16, kNTiles = kBN / 8, kThreads = 32 * kWarps;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sdO = sQ + kBM * kD;
  T* sK = sdO + kBM * kD;  // [2][kBN * kD]
  T* sV = sK + 2 * kBN * kD;  // [2][kBN * kD]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int64_t group = p.heads / p.kv_heads, rows = group * p.q_len, bh_count = p.batch * p.kv_heads;
  const int64_t row_tiles = (rows + kBM - 1) / kBM;
  const int64_t tile = row_tiles - 1 - static_cast<int64_t>(blockIdx.x) / bh_count;
  const int64_t bh = static_cast<int64_t>(blockIdx.x) % bh_count, b = bh / p.kv_heads, hk = bh % p.kv_heads;
  const int64_t r0 = tile * kBM, r_last = imin(r0 + kBM, rows) - 1, diag = p.k_len - p.q_len;
  const TileQueries tq = tile_queries(r0, r_last, p.q_len);
  const int64_t key_end = p.causal ? imin(p.k_len, tq.i_hi + diag + 1) : p.k_len;
  const int64_t lse_base = (b * p.heads + hk * group) * p.q_len;

  int64_t limit[2], mrow[2], head[2], query[2];
  float lse2[2], Drow[2];
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int64_t r_raw = r0 + warp * 16 + g + 8 * hf, r = imin(r_raw, rows - 1);
    head[hf] = hk * group + r / p.q_len;
    query[hf] = r % p.q_len;
    limit[hf] = p.causal ? imin(p.k_len, query[hf] + diag + 1) : p.k_len;
    mrow[hf] = p.mask_kind == AttentionMask::none ? 0 : mask_row(p, b, head[hf], query[hf]);
    lse2[hf] = r_raw < rows ? lse2_of(p.lse[lse_base + r]) : INFINITY;
    Drow[hf] = D[lse_base + r];
  }

  const T* q = static_cast<const T*>(p.q);
  const T* go = static_cast<const T*>(p.grad_out);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  const int q_rows = static_cast<int>(imin(kBM, rows - r0)), hd = static_cast<int>(p.head_dim);
  load_tile<kBM, kD, kThreads>(
      sQ, [&](int row) { const int64_t r = r0 + row; return q + row_offset(p.q_stride, b, hk * group + r / p.q_len, r % p.q_len); },
      q_rows, hd, q);
  load_tile<kBM, kD, kThreads>(
      sdO, [&](int row) { const int64_t r = r0 + row; return go + row_offset(p.grad_out_stride, b, hk * group + r / p.q_len, r % p.q_len); },
      q_rows, hd, go);
  auto load_kv = [&](int stage, int64_t n0) {
    const int valid = static_cast<int>(imin(kBN, p.k_len - n0));
    load_tile<kBN, kD, kThreads>(sK + stage * kBN * kD, [&](int row) { return k + row_offset(p.k_stride, b, hk, n0 + row); }, valid, hd, k);
    load_tile<kBN, kD, kThreads>(sV + stage * kBN * kD, [&](int row) { return v + row_offset(p.v_stride, b, hk, n0 + row); }, valid, hd, v);
  };
  if (key_end > 0) load_kv(0, 0);
  cp_async_commit();

  const float sl2 = p.scale * kLog2e;
  float dq[kD / 8][4] = {};
  // Invariant at the top of iteration j: tile j's group is committed (stage j % 2); every warp
  // is done reading stage (j + 1) % 2, which was tile j - 1's.
  for (int64_t n0 = 0, j = 0; n0 < key_end; n0 += kBN, ++j) {
    const int stage = static_cast<int>(j & 1);
    if (n0 + kBN < key_end) load_kv(stage ^ 1, n0 + kBN);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();  // tile j visible to all
    const T* tK = sK + stage * kBN * kD;
    const T* tV = sV + stage * kBN * kD;

    float s[kNTiles][4] = {}, dp[kNTiles][4] = {};
#pragma unroll
    for (int kk = 0; kk < kSteps; ++kk) {
      uint32_t aq[4], ad[4];
      ldmatrix_x4(aq, sQ + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
      ldmatrix_x4(ad, sdO + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
#pragma unroll
      for (int nn = 0; nn < kBN / 16; ++nn) {
        uint32_t bk[4], bv[4];
        ldmatrix_x4(bk, tK + swizzle<kD>(nn * 16 + b_row(lane), kk * 16 + b_col(lane)));
        ldmatrix_x4(bv, tV + swizzle<kD>(nn * 16 + b_row(lane), kk * 16 + b_col(lane)));
        mma_16816<T>(s[2 * nn], aq, bk[0], bk[1]);
        mma_16816<T>(s[2 * nn + 1], aq, bk[2], bk[3]);
        mma_16816<T>(dp[2 * nn], ad, bv[0], bv[1]);
        mma_16816<T>(dp[2 * nn + 1], ad, bv[2], bv[3]);
      }
    }
#pragma unroll
    for (int n = 0; n < kNTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int hf = e / 2;
        const int64_t key = n0 + n * 8 + 2 * t + (e & 1);
        float x = s[n][e] * sl2;
        if (key >= limit[hf]) x = kNegInf;
        else if (p.mask_kind != AttentionMask::none) x += mask_term(p, mrow[hf], key);
        const float pr = exp2f(x - lse2[hf]);
        dp[n][e] = pr * (dp[n][e] - Drow[hf]);  // dS
      }
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      uint32_t a[4];
      c_to_a<T>(a, dp[2 * kk], dp[2 * kk + 1]);
#pragma unroll
      for (int dn = 0; dn < kD / 16; ++dn) {
        uint32_t bk[4];
        ldmatrix_x4_trans(bk, tK + swizzle<kD>(kk * 16 + a_row(lane), dn * 16 + a_col(lane)));
        mma_16816<T>(dq[2 * dn], a, bk[0], bk[1]);
        mma_16816<T>(dq[2 * dn + 1], a, bk[2], bk[3]);
      }
    }
    __syncthreads();  // every warp is done with stage j % 2 before iteration j + 1 refills it
  }
  cp_async_wait<0>();

#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int64_t r = r0 + warp * 16 + g + 8 * hf;
    if (r >= rows) continue;
    float* dst = p.dq + (lse_base + r) * p.head_dim;  // dq is C-contiguous (batch, heads, q_len, d)
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) {
      const int col = n * 8 + 2 * t;
      if (col < p.head_dim) *reinterpret_cast<float2*>(dst + col) = make_float2(dq[n][2 * hf] * p.scale, dq[n][2 * hf + 1] * p.scale);
    }
  }
}

// dK, dV: block = 16 * kWarps keys of one (batch, kv head), each warp 16 of them; it walks the
// packed query rows of the whole group (so dK/dV are summed over the group's heads in one
// ordered pass) in tiles of kBM, two-stage cp.async. Per warp and query tile, transposed
// (keys are the rows of every accumulator):
//   S^T = K Q^T, P^T = exp2(x - lse2), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - D),
//   dK += dS^T Q.
template <typename T, int kD, int kBM, int kWarps>
__global__ void __launch_bounds__(kWarps * 32) attention_bwd_dkdv_mma(AttentionCudaParams p, const float* D) {
  constexpr int kBN = 16 * kWarps, kSteps = kD / 16, kQTiles = kBM / 8, kThreads = 32 * kWarps;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* sK = reinterpret_cast<T*>(smem_raw);
  T* sV = sK + kBN * kD;
  T* sQ = sV + kBN * kD;      // [2][kBM * kD]
  T* sdO = sQ + 2 * kBM * kD;  // [2][kBM * kD]
  float* sLse2 = reinterpret_cast<float*>(sdO + 2 * kBM * kD);  // [2][kBM]
  float* sD = sLse2 + 2 * kBM;                                   // [2][kBM]
  int64_t* sLimit = reinterpret_cast<int64_t*>(sD + 2 * kBM);   // [2][kBM] causal: key <= limit
  int64_t* sMrow = sLimit + 2 * kBM;                             // [2][kBM] mask row offsets
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int64_t group = p.heads / p.kv_heads, rows = group * p.q_len, bh_count = p.batch * p.kv_heads;
  const int64_t key_tile = static_cast<int64_t>(blockIdx.x) / bh_count;
  const int64_t bh = static_cast<int64_t>(blockIdx.x) % bh_count, b = bh / p.kv_heads, hk = bh % p.kv_heads;
  const int64_t n0 = key_tile * kBN, diag = p.k_len - p.q_len;
  const int64_t lse_base = (b * p.heads + hk * group) * p.q_len;
  const int64_t row_tiles = (rows + kBM - 1) / kBM;
  const T* q = static_cast<const T*>(p.q);
  const T* go = static_cast<const T*>(p.grad_out);
  const int hd = static_cast<int>(p.head_dim);

  // A query tile is skipped when the causal rule hides every key of this block from all its rows.
  auto visible = [&](int64_t qt) {
    if (!p.causal) return true;
    const int64_t r0 = qt * kBM;
    return tile_queries(r0, imin(r0 + kBM, rows) - 1, p.q_len).i_hi + diag >= n0;
  };
  auto next_visible = [&](int64_t qt) {
    while (qt < row_tiles && !visible(qt)) ++qt;
    return qt;
  };
  auto load_q = [&](int stage, int64_t qt) {
    const int64_t r0 = qt * kBM;
    const int valid = static_cast<int>(imin(kBM, rows - r0));
    load_tile<kBM, kD, kThreads>(
        sQ + stage * kBM * kD, [&](int row) { const int64_t r = r0 + row; return q + row_offset(p.q_stride, b, hk * group + r / p.q_len, r % p.q_len); },
        valid, hd, q);
    load_tile<kBM, kD, kThreads>(
        sdO + stage * kBM * kD, [&](int row) { const int64_t r = r0 + row; return go + row_offset(p.grad_out_stride, b, hk * group + r / p.q_len, r % p.q_len); },
        valid, hd, go);
    for (int c = threadIdx.x; c < kBM; c += kThreads) {  // per-column values, plain stores
      const int64_t r = r0 + c, rr = imin(r, rows - 1), h = hk * group + rr / p.q_len, i = rr % p.q_len;
      sLse2[stage * kBM + c] = r < rows ? lse2_of(p.lse[lse_base + rr]) : INFINITY;
      sD[stage * kBM + c] = D[lse_base + rr];
      sLimit[stage * kBM + c] = p.causal ? i + diag : INT64_MAX;
      sMrow[stage * kBM + c] = p.mask_kind == AttentionMask::none ? 0 : mask_row(p, b, h, i);
    }
  };

  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  const int valid_keys = static_cast<int>(imin(kBN, p.k_len - n0));
  load_tile<kBN, kD, kThreads>(sK, [&](int row) { return k + row_offset(p.k_stride, b, hk, n0 + row); }, valid_keys, hd, k);
  load_tile<kBN, kD, kThreads>(sV, [&](int row) { return v + row_offset(p.v_stride, b, hk, n0 + row); }, valid_keys, hd, v);
  int64_t qt = next_visible(0);
  if (qt < row_tiles) load_q(0, qt);
  cp_async_commit();

  const float sl2 = p.scale * kLog2e;
  float dk[kD / 8][4] = {}, dv[kD / 8][4] = {};
  int64_t key[2];
  for (int hf = 0; hf < 2; ++hf) key[hf] = n0 + warp * 16 + g + 8 * hf;
  // Invariant at the top of each iteration: tile qt's group is committed into `stage`; every warp
  // is done reading stage ^ 1 (the previous tile's), so the next tile may be loaded there.
  for (int stage = 0; qt < row_tiles; stage ^= 1) {
    const int64_t qn = next_visible(qt + 1);
    if (qn < row_tiles) load_q(stage ^ 1, qn);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const T* tQ = sQ + stage * kBM * kD;
    const T* tdO = sdO + stage * kBM * kD;
    const float* tLse2 = sLse2 + stage * kBM;
    const float* tD = sD + stage * kBM;
    const int64_t* tLimit = sLimit + stage * kBM;
    const int64_t* tMrow = sMrow + stage * kBM;

    float st[kQTiles][4] = {}, dpt[kQTiles][4] = {};
#pragma unroll
    for (int kk = 0; kk < kSteps; ++kk) {
      uint32_t ak[4], av[4];
      ldmatrix_x4(ak, sK + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
      ldmatrix_x4(av, sV + swizzle<kD>(warp * 16 + a_row(lane), kk * 16 + a_col(lane)));
#pragma unroll
      for (int nn = 0; nn < kBM / 16; ++nn) {
        uint32_t bq[4], bd[4];
        ldmatrix_x4(bq, tQ + swizzle<kD>(nn * 16 + b_row(lane), kk * 16 + b_col(lane)));
        ldmatrix_x4(bd, tdO + swizzle<kD>(nn * 16 + b_row(lane), kk * 16 + b_col(lane)));
        mma_16816<T>(st[2 * nn], ak, bq[0], bq[1]);
        mma_16816<T>(st[2 * nn + 1], ak, bq[2], bq[3]);
        mma_16816<T>(dpt[2 * nn], av, bd[0], bd[1]);
        mma_16816<T>(dpt[2 * nn + 1], av, bd[2], bd[3]);
      }
    }
    // P^T and dS^T; element (key row key[e / 2], query column c).
#pragma unroll
    for (int n = 0; n < kQTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = n * 8 + 2 * t + (e & 1);
        const int64_t kr = key[e / 2];
        float x = st[n][e] * sl2;
        if (kr >= p.k_len || kr > tLimit[c]) x = kNegInf;
        else if (p.mask_kind != AttentionMask::none) x += mask_term(p, tMrow[c], kr);
        const float pr = exp2f(x - tLse2[c]);
        st[n][e] = pr;
        dpt[n][e] = pr * (dpt[n][e] - tD[c]);
      }
#pragma unroll
    for (int kk = 0; kk < kBM / 16; ++kk) {
      uint32_t ap[4], as[4];
      c_to_a<T>(ap, st[2 * kk], st[2 * kk + 1]);
      c_to_a<T>(as, dpt[2 * kk], dpt[2 * kk + 1]);
#pragma unroll
      for (int dn = 0; dn < kD / 16; ++dn) {
        uint32_t bd[4], bq[4];
        ldmatrix_x4_trans(bd, tdO + swizzle<kD>(kk * 16 + a_row(lane), dn * 16 + a_col(lane)));
        ldmatrix_x4_trans(bq, tQ + swizzle<kD>(kk * 16 + a_row(lane), dn * 16 + a_col(lane)));
        mma_16816<T>(dv[2 * dn], ap, bd[0], bd[1]);
        mma_16816<T>(dv[2 * dn + 1], ap, bd[2], bd[3]);
        mma_16816<T>(dk[2 * dn], as, bq[0], bq[1]);
        mma_16816<T>(dk[2 * dn + 1], as, bq[2], bq[3]);
      }
    }
    __syncthreads();  // every warp is done with `stage` before the next iteration refills it
    qt = qn;
  }
  cp_async_wait<0>();

#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    if (key[hf] >= p.k_len) continue;
    const int64_t at = ((b * p.kv_heads + hk) * p.k_len + key[hf]) * p.head_dim;  // C-contiguous
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) {
      const int col = n * 8 + 2 * t;
      if (col < p.head_dim) {
        *reinterpret_cast<float2*>(p.dk + at + col) = make_float2(dk[n][2 * hf] * p.scale, dk[n][2 * hf + 1] * p.scale);
        *reinterpret_cast<float2*>(p.dv + at + col) = make_float2(dv[n][2 * hf], dv[n][2 * hf + 1]);
      }
    }
  }
}

// SIMT backward: dQ one warp per query row, dK/dV one warp per key row (summed over the group's
// query heads), the CPU reference's loops in float32.
template <typename T>
__global__ void __launch_bounds__(128) attention_bwd_dq_simt(AttentionCudaParams p, const float* D) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.batch * p.heads * p.q_len) return;
  const int64_t i = row % p.q_len, h = (row / p.q_len) % p.heads, b = row / (p.q_len * p.heads);
  const int64_t hk = h / (p.heads / p.kv_heads), d = p.head_dim;
  const T* qi = static_cast<const T*>(p.q) + row_offset(p.q_stride, b, h, i);
  const T* gi = static_cast<const T*>(p.grad_out) + row_offset(p.grad_out_stride, b, h, i);
  float qv[kSimtUnits], gv[kSimtUnits], acc[kSimtUnits];
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    qv[u] = c < d ? to_float(qi[c]) : 0.0f;
    gv[u] = c < d ? to_float(gi[c]) : 0.0f;
    acc[u] = 0.0f;
  }
  const float lse2 = lse2_of(p.lse[row]), Dr = D[row], sl2 = p.scale * kLog2e;
  const int64_t key_end = lse2 == INFINITY ? 0 : p.causal ? imin(p.k_len, i + p.k_len - p.q_len + 1) : p.k_len;
  const int64_t mrow = p.mask_kind == AttentionMask::none ? 0 : mask_row(p, b, h, i);
  for (int64_t j = 0; j < key_end; ++j) {
    const T* kj = static_cast<const T*>(p.k) + row_offset(p.k_stride, b, hk, j);
    const T* vj = static_cast<const T*>(p.v) + row_offset(p.v_stride, b, hk, j);
    float s = 0.0f, dp = 0.0f;
#pragma unroll
    for (int u = 0; u < kSimtUnits; ++u) {
      const int64_t c = lane + 32 * u;
      if (c < d) s += qv[u] * to_float(kj[c]), dp += gv[u] * to_float(vj[c]);
    }
    float x = warp_sum(s) * sl2;
    dp = warp_sum(dp);
    if (p.mask_kind != AttentionMask::none) x += mask_term(p, mrow, j);
    if (x == kNegInf) continue;
    const float ds = exp2f(x - lse2) * (dp - Dr);
#pragma unroll
    for (int u = 0; u < kSimtUnits; ++u) {
      const int64_t c = lane + 32 * u;
      if (c < d) acc[u] += ds * to_float(kj[c]);
    }
  }
  float* dst = p.dq + row * d;
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d) dst[c] = acc[u] * p.scale;
  }
}

template <typename T>
__global__ void __launch_bounds__(128) attention_bwd_dkdv_simt(AttentionCudaParams p, const float* D) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.batch * p.kv_heads * p.k_len) return;
  const int64_t j = row % p.k_len, hk = (row / p.k_len) % p.kv_heads, b = row / (p.k_len * p.kv_heads);
  const int64_t group = p.heads / p.kv_heads, d = p.head_dim, diag = p.k_len - p.q_len;
  const T* kj = static_cast<const T*>(p.k) + row_offset(p.k_stride, b, hk, j);
  const T* vj = static_cast<const T*>(p.v) + row_offset(p.v_stride, b, hk, j);
  float kv[kSimtUnits], vv[kSimtUnits], dk[kSimtUnits], dv[kSimtUnits];
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    kv[u] = c < d ? to_float(kj[c]) : 0.0f;
    vv[u] = c < d ? to_float(vj[c]) : 0.0f;
    dk[u] = dv[u] = 0.0f;
  }
  const float sl2 = p.scale * kLog2e;
  const int64_t i_begin = p.causal ? imax(0, j - diag) : 0;  // causal: j <= i + diag
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i = i_begin; i < p.q_len; ++i) {
      const int64_t qr = (b * p.heads + h) * p.q_len + i;
      const float lse2 = lse2_of(p.lse[qr]);
      if (lse2 == INFINITY) continue;
      const T* qi = static_cast<const T*>(p.q) + row_offset(p.q_stride, b, h, i);
      const T* gi = static_cast<const T*>(p.grad_out) + row_offset(p.grad_out_stride, b, h, i);
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int u = 0; u < kSimtUnits; ++u) {
        const int64_t c = lane + 32 * u;
        if (c < d) s += kv[u] * to_float(qi[c]), dp += vv[u] * to_float(gi[c]);
      }
      float x = warp_sum(s) * sl2;
      dp = warp_sum(dp);
      if (p.mask_kind != AttentionMask::none) x += mask_term(p, mask_row(p, b, h, i), j);
      if (x == kNegInf) continue;
      const float pr = exp2f(x - lse2), ds = pr * (dp - D[qr]);
#pragma unroll
      for (int u = 0; u < kSimtUnits; ++u) {
        const int64_t c = lane + 32 * u;
        if (c < d) dv[u] += pr * to_float(gi[c]), dk[u] += ds * to_float(qi[c]);
      }
    }
  float* dkr = p.dk + row * d;
  float* dvr = p.dv + row * d;
#pragma unroll
  for (int u = 0; u < kSimtUnits; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d) dkr[c] = dk[u] * p.scale, dvr[c] = dv[u];
  }
}

// ---------------------------------------------------------------------------------------------
// Host side: which path, which tile variant, the launches.
// ---------------------------------------------------------------------------------------------

// The tensor cores take 16-bit inputs whose rows are 16-byte aligned: head_dim % 8 == 0 and
// every pointer and (batch, head, row) stride a multiple of 8 elements.
bool rows_aligned(const void* ptr, const int64_t* stride) {
  if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0) return false;
  return stride[0] % 8 == 0 && stride[1] % 8 == 0 && stride[2] % 8 == 0;
}
bool mma_forward_ok(const AttentionCudaParams& p) {
  return p.dtype != AttentionDtype::f32 && p.head_dim % 8 == 0 && p.head_dim <= 256 &&
         rows_aligned(p.q, p.q_stride) && rows_aligned(p.k, p.k_stride) && rows_aligned(p.v, p.v_stride);
}
bool mma_backward_ok(const AttentionCudaParams& p) {
  return mma_forward_ok(p) && p.head_dim <= 128 && rows_aligned(p.grad_out, p.grad_out_stride);
}

// Split-K (the decode step: few packed rows, many keys): when the (row tile, batch, kv head)
// blocks do not fill the device once, the keys are split so that about two waves of blocks run;
// each split at least 2 key tiles. Warps whose 16 rows are all padding skip their mma work, so a
// decode block costs its K/V loads, not 8 warps of tensor-core work.
struct FwdShape {
  int kD, kBN, kWarps;
};
FwdShape fwd_shape(int64_t head_dim) {
  if (head_dim <= 64) return {64, 64, 8};
  if (head_dim <= 128) return {128, 64, 8};
  return {256, 16, 4};
}
SplitK split_plan(const AttentionCudaParams& p, int device) {
  SplitK sk;
  if (!mma_forward_ok(p)) return sk;
  const FwdShape f = fwd_shape(p.head_dim);
  const int64_t rows = p.heads / p.kv_heads * p.q_len, bm = 16 * f.kWarps;
  const int64_t blocks = (rows + bm - 1) / bm * p.batch * p.kv_heads, tiles = (p.k_len + f.kBN - 1) / f.kBN;
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) sms = 108;
  if (blocks >= sms || tiles < 4) return sk;
  const int64_t want = std::min<int64_t>({tiles / 2, 128, (2 * sms + blocks - 1) / blocks});
  if (want <= 1) return sk;
  const int64_t tiles_per_split = (tiles + want - 1) / want;
  sk.keys_per_split = tiles_per_split * f.kBN;
  sk.splits = static_cast<int>((tiles + tiles_per_split - 1) / tiles_per_split);
  return sk;
}

int64_t split_bytes(const AttentionCudaParams& p, int splits) {
  return splits <= 1 ? 0 : int64_t{splits} * p.batch * p.heads * p.q_len * (p.head_dim + 1) * int64_t{sizeof(float)};
}

template <typename Kernel>
cudaError_t opt_in_smem(Kernel kernel, int bytes) {
  if (bytes <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

template <typename T, int kD, int kBN, int kWarps>
cudaError_t launch_fwd(const AttentionCudaParams& p, SplitK sk, cudaStream_t stream) {
  using C = FwdConfig<T, kD, kBN, kWarps>;
  auto kernel = attention_fwd_mma<T, kD, kBN, kWarps>;
  if (cudaError_t e = opt_in_smem(kernel, C::kSmemBytes); e != cudaSuccess) return e;
  const int64_t rows = p.heads / p.kv_heads * p.q_len;
  const int64_t blocks = (rows + C::kBM - 1) / C::kBM * p.batch * p.kv_heads;
  if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  kernel<<<dim3(static_cast<unsigned>(blocks), sk.splits), C::kThreads, C::kSmemBytes, stream>>>(p, sk);
  return cudaGetLastError();
}

template <typename T>
cudaError_t forward_mma(const AttentionCudaParams& p, AttentionWorkspace ws, int device, cudaStream_t stream) {
  SplitK sk = split_plan(p, device);
  if (sk.splits > 1) {
    if (ws.bytes < split_bytes(p, sk.splits)) return cudaErrorInvalidValue;
    sk.part_out = static_cast<float*>(ws.data);
    sk.part_lse = sk.part_out + int64_t{sk.splits} * p.batch * p.heads * p.q_len * p.head_dim;
  }
  cudaError_t e;
  if (p.head_dim <= 64) e = launch_fwd<T, 64, 64, 8>(p, sk, stream);
  else if (p.head_dim <= 128) e = launch_fwd<T, 128, 64, 8>(p, sk, stream);
  else e = launch_fwd<T, 256, 16, 4>(p, sk, stream);
  if (e != cudaSuccess || sk.splits <= 1) return e;
  attention_splitk_combine<T><<<static_cast<unsigned>(p.batch * p.heads * p.q_len), 128, 0, stream>>>(p, sk);
  return cudaGetLastError();
}

unsigned warp_rows_grid(int64_t rows) { return static_cast<unsigned>((rows + 3) / 4); }

template <typename T>
cudaError_t forward_simt(const AttentionCudaParams& p, cudaStream_t stream) {
  attention_fwd_simt<T><<<warp_rows_grid(p.batch * p.heads * p.q_len), 128, 0, stream>>>(p);
  return cudaGetLastError();
}

// Shared bytes: dQ = Q, dO tiles + two stages of K, V; dK/dV = K, V tiles + two stages of Q, dO
// and of the per-column lse2, D (float) and causal limit, mask row (int64).
template <int kD, int kBN, int kWarps>
constexpr int dq_smem() { return (2 * (16 * kWarps) * kD + 4 * kBN * kD) * 2; }
template <int kD, int kBM, int kWarps>
constexpr int dkdv_smem() {
  return (2 * (16 * kWarps) * kD + 4 * kBM * kD) * 2 + 2 * kBM * (4 + 4 + 8 + 8);
}

template <typename T, int kD, int kBNdq, int kBMdkdv, int kWarps>
cudaError_t backward_mma_d(const AttentionCudaParams& p, const float* D, cudaStream_t stream) {
  constexpr int kDq = dq_smem<kD, kBNdq, kWarps>(), kDkdv = dkdv_smem<kD, kBMdkdv, kWarps>();
  static_assert(kDq <= kSharedLimitSm80 && kDkdv <= kSharedLimitSm80, "shared tiles fit sm_80 (and so sm_90)");
  const int64_t bh = p.batch * p.kv_heads, rows = p.heads / p.kv_heads * p.q_len, tile = 16 * kWarps;
  const int64_t dq_blocks = (rows + tile - 1) / tile * bh, dkdv_blocks = (p.k_len + tile - 1) / tile * bh;
  if (dq_blocks > INT32_MAX || dkdv_blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  auto dq_kernel = attention_bwd_dq_mma<T, kD, kBNdq, kWarps>;
  auto dkdv_kernel = attention_bwd_dkdv_mma<T, kD, kBMdkdv, kWarps>;
  if (cudaError_t e = opt_in_smem(dq_kernel, kDq); e != cudaSuccess) return e;
  if (cudaError_t e = opt_in_smem(dkdv_kernel, kDkdv); e != cudaSuccess) return e;
  if (dq_blocks > 0) dq_kernel<<<static_cast<unsigned>(dq_blocks), 32 * kWarps, kDq, stream>>>(p, D);
  if (dkdv_blocks > 0) dkdv_kernel<<<static_cast<unsigned>(dkdv_blocks), 32 * kWarps, kDkdv, stream>>>(p, D);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_typed(const AttentionCudaParams& p, float* D, cudaStream_t stream) {
  const int64_t q_rows = p.batch * p.heads * p.q_len, k_rows = p.batch * p.kv_heads * p.k_len;
  if (q_rows > 0) attention_bwd_dot_do_o<T><<<warp_rows_grid(q_rows), 128, 0, stream>>>(p, D);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if constexpr (!std::is_same_v<T, float>) {
    if (mma_backward_ok(p)) {
      if (p.head_dim <= 64) return backward_mma_d<T, 64, 64, 64, 4>(p, D, stream);
      return backward_mma_d<T, 128, 32, 32, 4>(p, D, stream);
    }
  }
  if (q_rows > 0) attention_bwd_dq_simt<T><<<warp_rows_grid(q_rows), 128, 0, stream>>>(p, D);
  if (k_rows > 0) attention_bwd_dkdv_simt<T><<<warp_rows_grid(k_rows), 128, 0, stream>>>(p, D);
  return cudaGetLastError();
}

}  // namespace

int64_t attention_forward_workspace(const AttentionCudaParams& p, int device) {
  return split_bytes(p, split_plan(p, device).splits);
}

int64_t attention_backward_workspace(const AttentionCudaParams& p) {
  return p.batch * p.heads * p.q_len * int64_t{sizeof(float)};
}

const char* attention_forward_path(const AttentionCudaParams& p, int device) {
  if (!mma_forward_ok(p) || p.k_len == 0) return "simt";
  return split_plan(p, device).splits > 1 ? "mma_splitk" : "mma";
}

const char* attention_backward_path(const AttentionCudaParams& p) { return mma_backward_ok(p) ? "mma" : "simt"; }

cudaError_t attention_forward(const AttentionCudaParams& p, AttentionWorkspace ws, int device, cudaStream_t stream) {
  const int64_t rows = p.batch * p.heads * p.q_len;
  if (rows == 0) return cudaSuccess;
  if (p.k_len == 0) {  // nothing to attend to: out = 0, lse = -inf (the SIMT kernel does exactly that)
    switch (p.dtype) {
      case AttentionDtype::bf16: return forward_simt<__nv_bfloat16>(p, stream);
      case AttentionDtype::f16: return forward_simt<__half>(p, stream);
      default: return forward_simt<float>(p, stream);
    }
  }
  switch (p.dtype) {
    case AttentionDtype::bf16:
      return mma_forward_ok(p) ? forward_mma<__nv_bfloat16>(p, ws, device, stream) : forward_simt<__nv_bfloat16>(p, stream);
    case AttentionDtype::f16:
      return mma_forward_ok(p) ? forward_mma<__half>(p, ws, device, stream) : forward_simt<__half>(p, stream);
    default: return forward_simt<float>(p, stream);
  }
}

cudaError_t attention_backward(const AttentionCudaParams& p, AttentionWorkspace ws, cudaStream_t stream) {
  if (ws.bytes < attention_backward_workspace(p)) return cudaErrorInvalidValue;
  float* D = static_cast<float*>(ws.data);
  switch (p.dtype) {
    case AttentionDtype::bf16: return backward_typed<__nv_bfloat16>(p, D, stream);
    case AttentionDtype::f16: return backward_typed<__half>(p, D, stream);
    default: return backward_typed<float>(p, D, stream);
  }
}

}  // namespace grimoire::cuda
