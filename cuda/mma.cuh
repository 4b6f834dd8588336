// Warp-level tensor-core building blocks shared by the CUDA kernel families (sm_80+):
// cp.async global->shared copies, ldmatrix shared->register fragment loads, and
// mma.sync.m16n8k16 with bf16 or fp16 inputs and float32 accumulators.
//
// Fragment layouts of mma.m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with
// g = lane / 4 and t = lane % 4:
//   A (16x16, row-major)  a[0]: (g,   2t..2t+1)   a[1]: (g+8, 2t..2t+1)
//                         a[2]: (g,   2t+8..+9)   a[3]: (g+8, 2t+8..+9)
//   B (16x8, k x n)       b[0]: (k 2t..2t+1, n g) b[1]: (k 2t+8..+9, n g)
//   C (16x8, float)       c[0], c[1]: (g, 2t..2t+1)   c[2], c[3]: (g+8, 2t..2t+1)
// So the accumulators of two adjacent n8 tiles, packed to 16-bit pairs, are exactly the A
// fragment of one k16 step (c_to_a): FlashAttention's P stays in registers between its two GEMMs.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace grimoire::cuda::mma {

// The 16-bit element types of the tensor-core paths. bf16 arrives as uint16 bits (CuPy has no
// bfloat16), fp16 as __half; both are 2 bytes, so a 16-byte chunk is 8 elements.
template <typename T>
struct Half2Of;
template <>
struct Half2Of<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&v);
  }
};
template <>
struct Half2Of<__half> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&v);
  }
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, asynchronously; src_bytes < 16 zero-fills the rest (0: all zeros,
// `src` is then not read but must still be a valid address).
__device__ __forceinline__ void cp_async_16(void* dst_smem, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst_smem)), "l"(src),
               "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Wait until at most N committed groups of this thread are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Four 8x8 16-bit matrices; lanes 8m..8m+7 give the row addresses of matrix m, register m
// receives matrix m in the A/B fragment layout (.trans: transposed on the way).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(smem_row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(smem_row)));
}

// c += a * b on one 16x8x16 tile (float32 accumulators).
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma_16816<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The A fragment of one k16 step from the float accumulators of n8 tiles `lo` (columns 0..7)
// and `hi` (columns 8..15), rounded to T (see the layout table above).
template <typename T>
__device__ __forceinline__ void c_to_a(uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = Half2Of<T>::pack(lo[0], lo[1]);
  a[1] = Half2Of<T>::pack(lo[2], lo[3]);
  a[2] = Half2Of<T>::pack(hi[0], hi[1]);
  a[3] = Half2Of<T>::pack(hi[2], hi[3]);
}

// Element offset of (row, col) in a shared tile of rows of kCols 16-bit elements, with the
// 16-byte chunks of each row XOR-swizzled by (row % 8): the 8 row addresses of one ldmatrix
// matrix (8 consecutive rows, one chunk column) then hit 8 different bank groups, and a
// cp.async of one chunk lands where ldmatrix looks for it. Needs kCols >= 64 (8 chunks).
template <int kCols>
__device__ __forceinline__ int swizzle(int row, int col) {
  static_assert(kCols % 64 == 0, "the XOR swizzle permutes 8 chunks of 8 elements");
  return row * kCols + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7);
}

// ldmatrix addresses for the fragments a warp reads from a swizzled [rows][kCols] tile:
// a_row/a_col: the 16x16 A block at (r0, c0), or, with .trans, two n8 B tiles (k rows r0..r0+15,
//   n columns c0..c0+15) of a k-major operand (V in P V).
// b_row/b_col: two n8 B tiles (n rows r0..r0+15) x k16 (c0..c0+15) of an n-major operand (K in Q K^T):
//   registers 0,1 = b0,b1 of n rows r0..r0+7, registers 2,3 = b0,b1 of rows r0+8..r0+15.
__device__ __forceinline__ int a_row(int lane) { return lane & 15; }
__device__ __forceinline__ int a_col(int lane) { return (lane >> 4) << 3; }
__device__ __forceinline__ int b_row(int lane) { return (lane & 7) + ((lane >> 4) << 3); }
__device__ __forceinline__ int b_col(int lane) { return ((lane >> 3) & 1) << 3; }

}  // namespace grimoire::cuda::mma
