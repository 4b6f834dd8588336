// Packs of V consecutive floats (V = 4: one 16-byte float4 access; V = 1: scalar), so one kernel
// body serves aligned rows (vectorised) and any other row (scalar) as two instantiations.
#pragma once

#include <cuda_runtime.h>

namespace grimoire::cuda {

template <int V>
struct Vec {
  float v[V];
};

template <int V>
__device__ __forceinline__ Vec<V> load(const float* p) {
  Vec<V> r;
  if constexpr (V == 4) {
    const float4 t = __ldg(reinterpret_cast<const float4*>(p));
    r.v[0] = t.x, r.v[1] = t.y, r.v[2] = t.z, r.v[3] = t.w;
  } else {
    r.v[0] = __ldg(p);
  }
  return r;
}

// A pack from the shared-memory row cache (16-byte aligned: the cache is float4[] and i % V == 0).
template <int V>
__device__ __forceinline__ Vec<V> load_shared(const float* p) {
  Vec<V> r;
  if constexpr (V == 4) {
    const float4 t = *reinterpret_cast<const float4*>(p);
    r.v[0] = t.x, r.v[1] = t.y, r.v[2] = t.z, r.v[3] = t.w;
  } else {
    r.v[0] = *p;
  }
  return r;
}

template <int V>
__device__ __forceinline__ void store(float* p, const Vec<V>& r) {
  if constexpr (V == 4) *reinterpret_cast<float4*>(p) = make_float4(r.v[0], r.v[1], r.v[2], r.v[3]);
  else *p = r.v[0];
}

}  // namespace grimoire::cuda
