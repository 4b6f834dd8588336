// The GEMM family on NVIDIA GPUs: the float32 SIMT kernel and the bf16/fp16 tensor-core kernel
// (both mainloops in gemm_kernels.cuh), the opt-in Hopper wgmma kernel (gemm_wgmma.cuh), their
// operand views and the dispatch between them.
#include "gemm.cuh"
#include "gemm_kernels.cuh"
#include "gemm_wgmma.cuh"

#include <cstdlib>
#include <cstring>

namespace grimoire::cuda {

namespace {

using namespace kernels;

// op(A)(i, p) (or op(B)(p, j) seen as (j, p)) through element strides: `row` steps i, `depth`
// steps p; read as float (bf16 bits and fp16 widened exactly).
template <typename T>
struct StridedOperand {
  const T* data;
  int64_t row, depth, batch;
  bool k_fast;
  __device__ __forceinline__ float operator()(int64_t z, int64_t i, int64_t p) const {
    return to_float(data[z * batch + i * row + p * depth]);
  }
};

template <typename T>
StridedOperand<T> strided(const T* data, int64_t row, int64_t depth, int64_t batch) {
  return StridedOperand<T>{data, row, depth, batch, depth == 1};
}

// C(i, j) = alpha * acc + beta * C(i, j); C is not read when beta == 0.
struct ScaledStore {
  float* c;
  int64_t row, col, batch;
  float alpha, beta;
  __device__ __forceinline__ void operator()(int64_t z, int64_t i, int64_t j, float acc) const {
    float* out = c + z * batch + i * row + j * col;
    *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
  }
};

ScaledStore scaled_store(float* c, int64_t row, int64_t col, int64_t batch, float alpha, float beta) {
  return ScaledStore{c, row, col, batch, alpha, beta};
}

GemmShape shape(int64_t m, int64_t n, int64_t k, int64_t batch) {
  GemmShape sh;
  sh.m = m; sh.n = n; sh.k = k; sh.batch = batch;
  return sh;
}

// An operand for cp.async: `contig` is the stride-1 dimension's extent, `ld` the other stride.
bool async_ok(const void* base, int64_t contig_extent, int64_t ld, int64_t batch_stride) {
  return reinterpret_cast<uintptr_t>(base) % 16 == 0 && contig_extent % 8 == 0 && ld % 8 == 0 &&
         batch_stride % 8 == 0;
}

// The layout of a 16-bit operand as the tensor-core kernel needs it: 1 = K-major (k stride 1),
// 0 = MN-major (row stride 1), -1 = neither (or misaligned): the SIMT path.
int layout16(const void* base, int64_t rows, int64_t k, int64_t row_stride, int64_t k_stride, int64_t batch_stride) {
  if (k_stride == 1 && async_ok(base, k, row_stride, batch_stride)) return 1;
  if (row_stride == 1 && async_ok(base, rows, k_stride, batch_stride)) return 0;
  return -1;
}

CpAsyncOperand async_operand(const uint16_t* base, int64_t rows, int64_t k, int64_t ld, int64_t batch_stride) {
  CpAsyncOperand op;
  op.base = reinterpret_cast<const char*>(base);
  op.ld_bytes = ld * 2;
  op.batch_bytes = batch_stride * 2;
  op.rows = rows;
  op.k_bytes = k * 2;
  return op;
}

template <class Mma, bool kAK, bool kBK>
cudaError_t launch16(const Gemm16Params& p, const GemmBatch<float>& bt, cudaStream_t stream) {
  CpAsyncLoader<kAK, kBK> load;
  load.a = async_operand(p.a, p.m, p.k, kAK ? p.a_row_stride : p.a_col_stride, bt.a_batch_stride);
  load.b = async_operand(p.b, p.n, p.k, kBK ? p.b_col_stride : p.b_row_stride, bt.b_batch_stride);
  return launch_tc<Mma, kAK, kBK>(load, scaled_store(p.c, p.c_row_stride, p.c_col_stride, bt.c_batch_stride,
                                                     p.alpha, p.beta),
                                  shape(p.m, p.n, p.k, bt.batch), stream);
}

template <class Mma>
cudaError_t launch16_layout(int la, int lb, const Gemm16Params& p, const GemmBatch<float>& bt, cudaStream_t s) {
  if (la == 1 && lb == 1) return launch16<Mma, true, true>(p, bt, s);
  if (la == 1 && lb == 0) return launch16<Mma, true, false>(p, bt, s);
  if (la == 0 && lb == 1) return launch16<Mma, false, true>(p, bt, s);
  return launch16<Mma, false, false>(p, bt, s);
}

void layouts(const Gemm16Params& p, const GemmBatch<float>& bt, int& la, int& lb) {
  la = layout16(p.a, p.m, p.k, p.a_row_stride, p.a_col_stride, bt.a_batch_stride);
  // B is seen as (n, k): its "row" stride steps j (b_col_stride), its k stride is b_row_stride.
  lb = layout16(p.b, p.n, p.k, p.b_col_stride, p.b_row_stride, bt.b_batch_stride);
}

bool wgmma_opted_in() {
  const char* v = std::getenv("GRIMOIRE_CUDA_WGMMA");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// Compute capability exactly 9.0: the only device the sm_90a cubin (where the wgmma kernel has
// a body) is loaded on. No device (or no driver): false, and the sticky error is cleared.
bool current_device_is_sm90() {
  int dev = 0, major = 0, minor = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return major == 9 && minor == 0;
}

// The one eligibility rule of the Hopper wgmma kernel: both operands K-major for cp.async (A
// row-major (m, k), B given as (n, k), i.e. trans_b of a row-major (n, k) array; k, the leading
// and batch strides multiples of 8 elements, 16-byte aligned bases: layout16 == 1 for both),
// GRIMOIRE_CUDA_WGMMA=1 in the environment (opt-in until verified against the CPU core on a
// GPU), and the current device is sm_90. Every other case takes the mma.sync or SIMT kernel.
bool use_wgmma(int la, int lb) { return la == 1 && lb == 1 && wgmma_opted_in() && current_device_is_sm90(); }

template <bool kF16>
cudaError_t launch16_wgmma(const Gemm16Params& p, const GemmBatch<float>& bt, cudaStream_t stream) {
  return wgmma::launch<kF16>(async_operand(p.a, p.m, p.k, p.a_row_stride, bt.a_batch_stride),
                             async_operand(p.b, p.n, p.k, p.b_col_stride, bt.b_batch_stride),
                             scaled_store(p.c, p.c_row_stride, p.c_col_stride, bt.c_batch_stride, p.alpha, p.beta),
                             shape(p.m, p.n, p.k, bt.batch), stream);
}

}  // namespace

cudaError_t gemm(const GemmParams<float>& p, const GemmBatch<float>& bt, cudaStream_t stream) {
  if (p.m == 0 || p.n == 0 || bt.batch == 0) return cudaSuccess;
  return launch_simt(strided(p.a, p.a_row_stride, p.a_col_stride, bt.a_batch_stride),
                     strided(p.b, p.b_col_stride, p.b_row_stride, bt.b_batch_stride),
                     scaled_store(p.c, p.c_row_stride, p.c_col_stride, bt.c_batch_stride, p.alpha, p.beta),
                     shape(p.m, p.n, p.k, bt.batch), stream);
}

const char* gemm16_path(const Gemm16Params& p, const GemmBatch<float>& bt) {
  int la, lb;
  layouts(p, bt, la, lb);
  if (la < 0 || lb < 0) return "simt";
  if (use_wgmma(la, lb)) return "wgmma";
  static const char* names[2][2] = {{"tc_mn_mn", "tc_mn_k"}, {"tc_k_mn", "tc_k_k"}};
  return names[la][lb];
}

cudaError_t gemm16(const Gemm16Params& p, const GemmBatch<float>& bt, cudaStream_t stream) {
  if (p.m == 0 || p.n == 0 || bt.batch == 0) return cudaSuccess;
  int la, lb;
  layouts(p, bt, la, lb);
  if (use_wgmma(la, lb))
    return p.type == Half::bf16 ? launch16_wgmma<false>(p, bt, stream) : launch16_wgmma<true>(p, bt, stream);
  if (la >= 0 && lb >= 0)
    return p.type == Half::bf16 ? launch16_layout<MmaBf16>(la, lb, p, bt, stream)
                                : launch16_layout<MmaF16>(la, lb, p, bt, stream);
  const auto out = scaled_store(p.c, p.c_row_stride, p.c_col_stride, bt.c_batch_stride, p.alpha, p.beta);
  const GemmShape sh = shape(p.m, p.n, p.k, bt.batch);
  if (p.type == Half::bf16)
    return launch_simt(strided(p.a, p.a_row_stride, p.a_col_stride, bt.a_batch_stride),
                       strided(p.b, p.b_col_stride, p.b_row_stride, bt.b_batch_stride), out, sh, stream);
  const __half* a = reinterpret_cast<const __half*>(p.a);
  const __half* b = reinterpret_cast<const __half*>(p.b);
  return launch_simt(strided(a, p.a_row_stride, p.a_col_stride, bt.a_batch_stride),
                     strided(b, p.b_col_stride, p.b_row_stride, bt.b_batch_stride), out, sh, stream);
}

}  // namespace grimoire::cuda
