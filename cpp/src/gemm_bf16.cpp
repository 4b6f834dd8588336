// The bf16 GEMM: C = alpha * bf16(A) @ bf16(B) (+ bias), float32 accumulation, for float32, bf16
// and fp8 operands (gemm_bf16, gemm_fp8, linear_bf16, linear_bf16_packed).
//
// Paths (family "gemm_bf16"):
//   avx512 (where the CPU has AVX512_BF16): the blocked driver of lowp_driver.h over k pairs, A
//     and B packed into k-paired bf16 words once per panel (float32 rounded, fp8 decoded there),
//     the 12 x 32 vdpbf16ps microkernel (gemm_bf16_avx512bf16.cpp);
//   avx2 / scalar: the operands rounded to bf16 and widened to float32 (exact), then the float32
//     GEMM; B in blocks of k that stay in cache, so that a skinny product decodes B once and
//     reads it once.
// Both give bf16 products summed in float32; they differ only in the order of the sums and in
// vdpbf16ps flushing float32 denormals to zero.
#include <algorithm>
#include <array>
#include <vector>

#include "gemm_bf16_kernels.h"
#include "grimoire/cpu.h"
#include "grimoire/gemm.h"
#include "grimoire/gemm_int8.h"
#include "grimoire/quant.h"
#include "grimoire/quant_bits.h"
#include "lowp_driver.h"

namespace grimoire {

namespace {

namespace kern = gemm_bf16_kernels;
using kern::Operand;
using kern::Source;

std::vector<Isa> bf16_paths() {
  std::vector<Isa> paths = {Isa::scalar, Isa::avx2};
  if (cpu_features().avx512bf16) paths.push_back(Isa::avx512);
  return paths;
}
const std::vector<Isa>& paths() {
  static const std::vector<Isa> p = bf16_paths();
  return p;
}
const bool registered = (register_family("gemm_bf16", paths()), true);

// k is counted in pairs: KG = 1 pair per packed word, KC pairs per slice (A micro-panel
// 12 x 256 words = 12 KiB in L1; a task's B, 8 panels x 256 x 32 words = 256 KiB, in L2).
struct Bf16Traits {
  using AT = uint32_t;
  using BT = uint32_t;
  using CT = float;
  static constexpr int MR = kern::kMR, NR = kern::kNR, KG = 1;
  static constexpr int64_t KC = 256;
  static void kernel(int64_t kg, const AT* a, const BT* b, float* c, int64_t ldc, int mr, int nr) {
    kern::kernel(kg, a, b, c, ldc, mr, nr);
  }
};
using Tr = Bf16Traits;
using Plan = lowp::Plan<Tr>;

// k values [q0, q0 + kc) of slice s (k counted in values, not pairs).
inline int64_t slice_q0(int64_t s) { return s * 2 * Tr::KC; }
inline int64_t slice_kc(int64_t k, int64_t s) { return std::min(k, slice_q0(s + 1)) - slice_q0(s); }

// B panels packed by each task, slice by slice, from the operand (element (j, q)).
class PackPerCall {
 public:
  PackPerCall(const Plan& plan, const Operand& b, int64_t k)
      : plan_(plan), b_(b), k_(k), buf_((lowp::kNCB / Tr::NR) * plan.b_panel(0)) {}
  void begin_task() {}
  const uint32_t* slice(int64_t s, int64_t j_begin, int64_t j_end) {
    for (int64_t j = j_begin; j < j_end; j += Tr::NR)
      kern::pack_pairs(b_, j, std::min<int64_t>(Tr::NR, plan_.n - j), slice_q0(s), slice_kc(k_, s), Tr::NR,
                       buf_.data() + ((j - j_begin) / Tr::NR) * plan_.b_panel(s));
    return buf_.data();
  }
  const uint32_t* start(int64_t, int64_t) const { return nullptr; }

 private:
  const Plan& plan_;
  Operand b_;
  int64_t k_;
  std::vector<uint32_t, CacheAligned<uint32_t>> buf_;
};

// B packed whole beforehand ([slice][panel], pack_bf16_weight).
class Prepacked {
 public:
  Prepacked(const Plan& plan, const uint32_t* panels) : plan_(plan), panels_(panels) {}
  void begin_task() {}
  const uint32_t* slice(int64_t s, int64_t j_begin, int64_t) const {
    return panels_ + plan_.b_slice_start(s) + (j_begin / Tr::NR) * plan_.b_panel(s);
  }
  const uint32_t* start(int64_t, int64_t) const { return nullptr; }

 private:
  const Plan& plan_;
  const uint32_t* panels_;
};

// The AVX512_BF16 path: c (m, n), row stride n, = alpha * A @ B + bias.
template <typename MakeB>
void packed(int64_t m, int64_t n, int64_t k, const Operand& a, MakeB&& make_b, const Plan& plan, float alpha,
            const float* bias, float* c) {
  lowp::drive(
      plan, make_b,
      [&](int64_t ip, uint32_t* dst) {
        const int64_t i0 = ip * Tr::MR, rows = std::min<int64_t>(Tr::MR, m - i0);
        for (int64_t s = 0; s < plan.n_slices; ++s)
          kern::pack_pairs(a, i0, rows, slice_q0(s), slice_kc(k, s), Tr::MR, dst + s * plan.a_panel);
      },
      [&](int64_t i_begin, int64_t, int64_t j_begin, int64_t) {
        return std::pair<float*, int64_t>(c + i_begin * n + j_begin, n);
      },
      [&](int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, const float*, int64_t, const uint32_t*) {
        if (alpha == 1.0f && bias == nullptr) return;
        for (int64_t i = i_begin; i < i_end; ++i)
          for (int64_t j = j_begin; j < j_end; ++j) c[i * n + j] = alpha * c[i * n + j] + (bias ? bias[j] : 0.0f);
      });
}

Plan plan_for(int64_t m, int64_t n, int64_t k) { return Plan(m, n, (k + 1) / 2, 0); }

// B (element (j, q) of `b`) packed whole: [slice][panel], plan.b_size() words.
void pack_b(const Plan& plan, const Operand& b, int64_t k, uint32_t* dst) {
  parallel_for(plan.n_panels, std::max<int64_t>(1, 65536 / (k * Tr::NR)), [&](int64_t jb, int64_t je) {
    for (int64_t jp = jb; jp < je; ++jp)
      for (int64_t s = 0; s < plan.n_slices; ++s)
        kern::pack_pairs(b, jp * Tr::NR, std::min<int64_t>(Tr::NR, plan.n - jp * Tr::NR), slice_q0(s),
                         slice_kc(k, s), Tr::NR, dst + plan.b_slice_start(s) + jp * plan.b_panel(s));
  });
}

// ---- the avx2 / scalar path ----------------------------------------------------------------

// Elements (r, q), r in [r0, r0 + rows), q in [q0, q0 + kc), of `op` as bf16 values in float32:
// dst[(r - r0) * ldr + (q - q0) * ldq].
template <typename T, typename Value>
void decode_typed(const T* p, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float* dst, int64_t ldr, int64_t ldq,
                  Value value) {
  if (cs == 1) {  // rows along k in memory (A, W): read them in order
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < kc; ++q) dst[r * ldr + q * ldq] = value(p[r * rs + q]);
    return;
  }
  for (int64_t q = 0; q < kc; ++q)  // B (k, n): row q of B at a time
    for (int64_t r = 0; r < rows; ++r) dst[r * ldr + q * ldq] = value(p[r * rs + q * cs]);
}
void decode(const Operand& op, int64_t r0, int64_t rows, int64_t q0, int64_t kc, float* dst, int64_t ldr, int64_t ldq) {
  const int64_t off = r0 * op.rs + q0 * op.cs;
  if (op.type == Source::f32 && op.cs == 1 && ldq == 1) {  // rows in place: the SIMD conversions
    std::vector<uint16_t> codes(kc);
    for (int64_t r = 0; r < rows; ++r) {
      to_bf16(static_cast<const float*>(op.p) + off + r * op.rs, codes.data(), kc);
      from_bf16(codes.data(), dst + r * ldr, kc);
    }
    return;
  }
  const auto bf = [](uint16_t code) { return quant_bits::decode_bf16(code); };
  switch (op.type) {
    case Source::f32:
      return decode_typed(static_cast<const float*>(op.p) + off, op.rs, op.cs, rows, kc, dst, ldr, ldq,
                          [&](float x) { return bf(quant_bits::encode_bf16(x)); });
    case Source::bf16:
      return decode_typed(static_cast<const uint16_t*>(op.p) + off, op.rs, op.cs, rows, kc, dst, ldr, ldq, bf);
    case Source::fp8: {
      const uint16_t* t = op.table;
      return decode_typed(static_cast<const uint8_t*>(op.p) + off, op.rs, op.cs, rows, kc, dst, ldr, ldq,
                          [&](uint8_t x) { return bf(t[x]); });
    }
  }
}

// c (m, n), row stride ldc, = alpha * A_f32 (m, k) @ B + beta * c with B's element (j, q) at
// b[j * b_rs + q * b_cs]: the float32 GEMM.
void gemm_f32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t b_rs,
              int64_t b_cs, float alpha, float beta, float* c, int64_t ldc) {
  GemmParams<float> g;
  g.m = m; g.n = n; g.k = k;
  g.a = a; g.a_row_stride = lda; g.a_col_stride = 1;
  g.b = b; g.b_row_stride = b_cs; g.b_col_stride = b_rs;
  g.c = c; g.c_row_stride = ldc; g.c_col_stride = 1;
  g.alpha = alpha;
  g.beta = beta;
  gemm(g);
}

void add_bias(int64_t m, int64_t n, const float* bias, float* c) {
  if (bias == nullptr) return;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * n + j] += bias[j];
}

// B decoded a block at a time into float32 (~512 KiB, in L2, for m <= 16; whole otherwise), each
// block multiplied into C at once: blocks of columns of C when B's rows along k are contiguous
// (W (n, k)), else blocks of k (B (k, n)), so that the decoding reads B in order.
void fallback(int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float alpha, const float* bias,
              float* c) {
  // float32 values per decoded block of B: blocks only for skinny products, where B's traffic is
  // the cost; otherwise each block's GEMM would repack all of A (32 times at 2048).
  const int64_t kBlock = m <= 16 ? int64_t{1} << 17 : n * k;
  std::vector<float> af(m * k);
  decode(a, 0, m, 0, k, af.data(), k, 1);
  if (b.cs == 1) {
    const int64_t nb = std::min(n, std::max<int64_t>(16, kBlock / k));
    std::vector<float> bf(nb * k);
    for (int64_t j0 = 0; j0 < n; j0 += nb) {
      const int64_t nc = std::min(nb, n - j0);
      decode(b, j0, nc, 0, k, bf.data(), k, 1);
      gemm_f32(m, nc, k, af.data(), k, bf.data(), k, 1, alpha, 0.0f, c + j0, n);
    }
  } else {
    const int64_t kb = std::min(k, std::max<int64_t>(16, kBlock / n));
    std::vector<float> bf(kb * n);
    for (int64_t q0 = 0; q0 < k; q0 += kb) {
      const int64_t kc = std::min(kb, k - q0);
      decode(b, 0, n, q0, kc, bf.data(), 1, n);
      gemm_f32(m, n, kc, af.data() + q0, k, bf.data(), 1, n, alpha, q0 == 0 ? 0.0f : 1.0f, c, n);
    }
  }
  add_bias(m, n, bias, c);
}

void zero_product(int64_t m, int64_t n, const float* bias, float* c) {
  std::fill(c, c + m * n, 0.0f);
  add_bias(m, n, bias, c);
}

// alpha * A @ B + bias on the path in use.
void product(int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float alpha, const float* bias,
             float* c) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return zero_product(m, n, bias, c);
  if (bf16_isa() != Isa::avx512) return fallback(m, n, k, a, b, alpha, bias, c);
  const Plan plan = plan_for(m, n, k);
  if (plan.tasks == plan.n_blocks)  // one row chunk: each task packs its own columns of B, once
    return packed(m, n, k, a, [&] { return PackPerCall(plan, b, k); }, plan, alpha, bias, c);
  // Several row chunks would each pack (and round) the same B again: pack it once, whole.
  std::vector<uint32_t, CacheAligned<uint32_t>> panels(plan.b_size());
  pack_b(plan, b, k, panels.data());
  packed(m, n, k, a, [&] { return Prepacked(plan, panels.data()); }, plan, alpha, bias, c);
}

Operand operand(const void* p, Bf16Input type, int64_t rs, int64_t cs) {
  Operand op;
  op.type = type == Bf16Input::f32 ? Source::f32 : Source::bf16;
  op.p = p;
  op.rs = rs;
  op.cs = cs;
  return op;
}

// The bf16 code of each fp8 code (exact: every fp8 value is a bf16 value).
const uint16_t* fp8_bf16_table(Fp8Format fmt) {
  static const auto make = [](Fp8Format f) {
    std::array<uint16_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = quant_bits::encode_bf16(from_fp8_ref(static_cast<uint8_t>(c), f));
    return t;
  };
  static const std::array<uint16_t, 256> e4m3 = make(Fp8Format::e4m3), e5m2 = make(Fp8Format::e5m2);
  return (fmt == Fp8Format::e4m3 ? e4m3 : e5m2).data();
}

}  // namespace

Isa bf16_isa() { return isa_for(paths()); }

void linear_bf16(const void* x, Bf16Input x_type, int64_t m, const void* w, Bf16Input w_type, int64_t n, int64_t k,
                 const float* bias, float* y) {
  product(m, n, k, operand(x, x_type, k, 1), operand(w, w_type, k, 1), 1.0f, bias, y);
}

PackedBf16Weight pack_bf16_weight(const void* w, Bf16Input w_type, int64_t n, int64_t k) {
  PackedBf16Weight out;
  out.isa = bf16_isa();
  out.n = n;
  out.k = k;
  if (n <= 0 || k <= 0) return out;
  out.codes.resize(n * k);
  if (w_type == Bf16Input::bf16) std::copy_n(static_cast<const uint16_t*>(w), n * k, out.codes.data());
  else to_bf16(static_cast<const float*>(w), out.codes.data(), n * k);
  const Operand op = operand(w, w_type, k, 1);
  if (out.isa != Isa::avx512) {  // decoded once: W^T rounded to bf16, as float32 (k, n)
    out.values.resize(n * k);
    decode(op, 0, n, 0, k, out.values.data(), 1, n);
    return out;
  }
  const Plan plan = plan_for(1, n, k);
  out.panels.resize(plan.b_size());
  pack_b(plan, op, k, out.panels.data());
  return out;
}

void linear_bf16_packed(const void* x, Bf16Input x_type, int64_t m, const PackedBf16Weight& w, const float* bias,
                        float* y) {
  const int64_t n = w.n, k = w.k;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return zero_product(m, n, bias, y);
  if (w.isa != bf16_isa())  // packed for another path: the one in use, packing per call
    return linear_bf16(x, x_type, m, w.codes.data(), Bf16Input::bf16, n, k, bias, y);
  const Operand a = operand(x, x_type, k, 1);
  if (w.isa != Isa::avx512) {
    std::vector<float> af(m * k);
    decode(a, 0, m, 0, k, af.data(), k, 1);
    gemm_f32(m, n, k, af.data(), k, w.values.data(), 1, n, 1.0f, 0.0f, y, n);
    return add_bias(m, n, bias, y);
  }
  const Plan plan = plan_for(m, n, k);
  packed(m, n, k, a, [&] { return Prepacked(plan, w.panels.data()); }, plan, 1.0f, bias, y);
}

void gemm_fp8(int64_t m, int64_t n, int64_t k, const uint8_t* a, const uint8_t* b, float scale_a, float scale_b,
              Fp8Format fmt_a, Fp8Format fmt_b, float* c) {
  Operand oa, ob;
  oa.type = ob.type = Source::fp8;
  oa.p = a; oa.rs = k; oa.cs = 1; oa.table = fp8_bf16_table(fmt_a);
  ob.p = b; ob.rs = 1; ob.cs = n; ob.table = fp8_bf16_table(fmt_b);
  product(m, n, k, oa, ob, scale_a * scale_b, nullptr, c);
}

void gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, float* c) {
  product(m, n, k, operand(a, Bf16Input::bf16, k, 1), operand(b, Bf16Input::bf16, 1, n), 1.0f, nullptr, c);
}

}  // namespace grimoire
