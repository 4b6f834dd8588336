// Low-precision GEMMs (primer 6.2: quantised inference, mixed precision).
//
//   gemm_int8    C (m, n) int32 = A (m, k) int8 @ B (k, n) int8, exact integer arithmetic.
//                The result is exact whenever it fits in int32 (always for k < 2^17, since
//                |a*b| <= 2^14); otherwise it wraps modulo 2^32, as NumPy's int32 matmul does.
//                Paths: scalar reference; AVX2 (operands widened to int16 at packing, vpmaddwd,
//                exact: no saturation); AVX-512 VNNI (vpdpbusd on u8 x s8: A is packed as
//                a + 128, and 128 * colsum(B) is subtracted, so C = (A + 128) B - 128 * 1 colsum(B)).
//                The VNNI path is listed as the family's "avx512" path only on a CPU with
//                AVX512_VNNI; an AVX-512 CPU without it runs the AVX2 path.
//   linear_int8  y (m, n) float32 = (s_x[i] * s_w[j]) * (q(x) @ W^T)[i, j] + bias[j]:
//                x (m, k) float32 quantised per row on the fly (symmetric, s_x = max|x_i| / 127),
//                W (n, k) int8 quantised per output channel with scales s_w (n,), int32
//                accumulation, scales and bias applied in the epilogue.
//   pack_int8_weight / linear_int8_packed
//                linear_int8 with W packed once (the B panels of the path gemm_int8 takes now,
//                and for VNNI the -128 * colsum(W) correction): the same result bit for bit,
//                without repacking W on every call (a layer's weight is used many times).
//   conv2d_int8  y (N, O, OH, OW) float32 = (s_x * s_w[o]) * sum_{c, i, j} q(x)[n, c, ih, iw] W[o, c, i, j]
//                + bias[o] (then max(., 0) with relu), ih = oh * stride_h - pad_h + i * dil_h (likewise
//                iw), zero outside x: x quantised per tensor on the fly (symmetric, s_x = max|x| / 127,
//                as torch's dynamic quantisation), W packed once by pack_int8_conv_weight. The
//                quantised x is laid out once as padded NHWC codes, the im2col patches are copied
//                from it straight into the GEMM's packed A panels, and the epilogue writes NCHW.
//   gemm_fp8 / gemm_bf16
//                C (m, n) float32 = scale_a * scale_b * decode(A) @ decode(B): the operands are
//                decoded to float32 (exact) and multiplied by the float32 GEMM (float32 accumulation).
//
// Operands are read through element strides (a transpose is a swap of strides); C is written
// row-major with row stride c_row_stride.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

#include "grimoire/conv.h"
#include "grimoire/cpu.h"
#include "grimoire/quant.h"

namespace grimoire {

struct GemmInt8Params {
  int64_t m = 0, n = 0, k = 0;
  const int8_t* a = nullptr;  // a(i, p) = a[i * a_row_stride + p * a_col_stride]
  int64_t a_row_stride = 0, a_col_stride = 0;
  const int8_t* b = nullptr;  // b(p, j) = b[p * b_row_stride + j * b_col_stride]
  int64_t b_row_stride = 0, b_col_stride = 0;
  int32_t* c = nullptr;  // c(i, j) = c[i * c_row_stride + j]
  int64_t c_row_stride = 0;
  int num_threads = 0;  // 0: grimoire::num_threads(); 1: stay on the caller's thread
};

void gemm_int8(const GemmInt8Params& p);
void gemm_int8_reference(const GemmInt8Params& p);
// The VNNI path's driver (u8 packing of A + 128, the -128 * colsum(B) start) with a scalar
// stand-in for vpdpbusd: lets CPUs without AVX512_VNNI test everything but the instruction.
void gemm_int8_vnni_emulated(const GemmInt8Params& p);

// x (m, k), w (n, k), y (m, n): all C-contiguous. bias may be null.
struct LinearInt8Params {
  int64_t m = 0, n = 0, k = 0;
  const float* x = nullptr;
  const int8_t* w = nullptr;
  const float* w_scale = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};
// Returns false (y untouched) if x holds a NaN or an infinity, which int8 cannot represent.
bool linear_int8(const LinearInt8Params& p);

// std::allocator with 64-byte (cache line) alignment: packed panels are read by full-line loads.
template <typename T>
struct CacheAligned {
  using value_type = T;
  CacheAligned() = default;
  template <typename U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(size_t n) {
    void* p = std::aligned_alloc(64, (n * sizeof(T) + 63) & ~size_t{63});
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  // Sized construction and resize leave the values uninitialised (no memset of the buffer):
  // every buffer of the driver is written before it is read (packed panels, the zeroed C block).
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const CacheAligned<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheAligned<U>&) const { return false; }
};

// W (n, k) int8 in the layout the int8 GEMM reads as its B operand (B = W^T) on path `isa`:
//   avx512 (VNNI): panels8  [k slice][32-column panel][k/4][32][4], and col_start[j] =
//                  -128 * sum_k W[j, k] (mod 2^32), where C starts (A is packed as a + 128);
//   avx2:          panels16 [k slice][16-column panel][k/2][16][2], widened to int16;
// and raw, W itself (n, k), on every path: the scalar path's operand, and what
// linear_int8_packed falls back to (linear_int8) when the path in use is no longer `isa`.
// Zero padded to whole panels and whole k groups. Immutable once packed.
// A convolution's weight (O, C, KH, KW) is packed as W (O, KH * KW * C): its k axis in the
// (i, j, c) order that patches of channels-last codes have; raw holds that reordered copy, and
// (c, kh, kw) record the kernel (0 for a linear layer's weight).
struct PackedInt8Weight {
  Isa isa = Isa::scalar;
  int64_t n = 0, k = 0;
  int64_t c = 0, kh = 0, kw = 0;
  std::vector<int8_t, CacheAligned<int8_t>> panels8;
  std::vector<int16_t, CacheAligned<int16_t>> panels16;
  std::vector<int8_t> raw;
  std::vector<uint32_t> col_start;
};

// The path gemm_int8 / linear_int8 take now (isa_for over the family's paths).
Isa int8_isa();
// Packs w (n, k), C-contiguous, for the path int8_isa() gives now.
PackedInt8Weight pack_int8_weight(const int8_t* w, int64_t n, int64_t k);
// linear_int8 with a packed W: x (m, w.k), y (m, w.n) C-contiguous, w_scale (n,), bias (n,) or
// null. The result equals linear_int8's bit for bit; when w.isa is not int8_isa() (set_isa since
// packing) it is linear_int8 on w.raw, which repacks per call: the owner should pack again.
// Returns false (y garbage) if x holds a NaN or an infinity.
bool linear_int8_packed(const float* x, int64_t m, const PackedInt8Weight& w, const float* w_scale,
                        const float* bias, float* y);

// w (O, C, KH, KW) int8, C-contiguous, reordered to (O, KH, KW, C) and packed for int8_isa().
PackedInt8Weight pack_int8_conv_weight(const int8_t* w, int64_t o, int64_t c, int64_t kh, int64_t kw);

// x (N, C, H, W) and y (N, O, OH, OW) C-contiguous; shape.c_in/kh/kw equal w's (c, kh, kw),
// shape.c_out its n, groups 1; w_scale (O,), bias (O,) or null.
struct Conv2dInt8Params {
  Conv2dShape shape;
  const float* x = nullptr;
  const PackedInt8Weight* w = nullptr;
  const float* w_scale = nullptr;
  const float* bias = nullptr;
  bool relu = false;
  float* y = nullptr;
};
// Returns false (y garbage) if x holds a NaN or an infinity. When w.isa is not int8_isa(), w.raw
// is packed again for this call.
bool conv2d_int8(const Conv2dInt8Params& p);


// ---- the bf16 GEMM (gemm_bf16.cpp) ----------------------------------------------------------
// bf16 products summed in float32: on the AVX512_BF16 path by vdpbf16ps over k pairs packed
// once per panel (float32 denormals flushed to zero, as the instruction does); elsewhere the
// operands rounded to bf16, widened to float32 and multiplied by the float32 GEMM.

// An operand given as float32 (rounded to nearest even bf16 when packed) or as bf16 codes.
enum class Bf16Input : int { f32, bf16 };

// The path gemm_bf16 / gemm_fp8 / linear_bf16 take now: avx512 where the CPU has AVX512_BF16.
Isa bf16_isa();

// y (m, n) = bf16(x) (m, k) @ bf16(W)^T + bias, W (n, k); all C-contiguous, bias (n,) or null.
void linear_bf16(const void* x, Bf16Input x_type, int64_t m, const void* w, Bf16Input w_type, int64_t n, int64_t k,
                 const float* bias, float* y);

// W (n, k) packed once for the path `isa`: avx512: panels [k slice][32-column panel][k/2][32]
// words of two bf16 codes (k pairs); avx2 / scalar: values, W^T rounded to bf16 as float32 (k, n);
// and codes, W's bf16 codes (n, k), on every path: what linear_bf16_packed falls back to
// (linear_bf16, packing per call) when the path in use is no longer `isa`.
struct PackedBf16Weight {
  Isa isa = Isa::scalar;
  int64_t n = 0, k = 0;
  std::vector<uint32_t, CacheAligned<uint32_t>> panels;
  std::vector<float> values;
  std::vector<uint16_t> codes;
};
PackedBf16Weight pack_bf16_weight(const void* w, Bf16Input w_type, int64_t n, int64_t k);
// linear_bf16 with a packed W. When w.isa is no longer bf16_isa() (set_isa since packing) it is
// linear_bf16 on w.codes, which packs per call: the owner should pack again.
void linear_bf16_packed(const void* x, Bf16Input x_type, int64_t m, const PackedBf16Weight& w, const float* bias,
                        float* y);

// a (m, k), b (k, n) C-contiguous codes; c (m, n) C-contiguous: the bf16 GEMM (fp8 codes are
// decoded to bf16 exactly while packing; scale_a * scale_b applied to the float32 sums).
void gemm_fp8(int64_t m, int64_t n, int64_t k, const uint8_t* a, const uint8_t* b, float scale_a, float scale_b,
              Fp8Format fmt_a, Fp8Format fmt_b, float* c);
void gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, float* c);

}  // namespace grimoire
