// CUDA quant families: int8 quantise/dequantise (per tensor and per channel), FP8 E4M3/E5M2 and
// bf16 conversions, the twins of cpp/include/grimoire/quant.h on device pointers. Every value
// goes through grimoire/quant_bits.h, the same bit logic as the CPU core's references, so the
// codes are bit-identical to the CPU core (and so to ml_dtypes). The int8/FP8 GEMMs are the
// GEMM family's.
#pragma once

#include <cuda_runtime.h>

#include "grimoire/quant.h"

namespace grimoire::cuda {

cudaError_t to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate, cudaStream_t stream);
cudaError_t from_fp8(const uint8_t* codes, float* out, int64_t n, Fp8Format fmt, cudaStream_t stream);
cudaError_t to_bf16(const float* x, uint16_t* out, int64_t n, cudaStream_t stream);
cudaError_t from_bf16(const uint16_t* x, float* out, int64_t n, cudaStream_t stream);

// Floats of scratch choose_qparams_int8 needs (per-block partial minima/maxima).
int64_t qparams_scratch(const QuantInt8Params& shape);
// The CPU's choose_qparams_int8 on the device: writes scale/zero_point (channels,) and
// *nonfinite = 1 when x holds a NaN or an infinity (then scale/zero_point are meaningless).
cudaError_t choose_qparams_int8(const float* x, const QuantInt8Params& shape, bool symmetric, float* scale,
                                int32_t* zero_point, int32_t* nonfinite, float* scratch, cudaStream_t stream);
// p.scale / p.zero_point are device pointers here.
cudaError_t quantize_int8(const float* x, int8_t* q, const QuantInt8Params& p, cudaStream_t stream);
cudaError_t dequantize_int8(const int8_t* q, float* x, const QuantInt8Params& p, cudaStream_t stream);

}  // namespace grimoire::cuda
