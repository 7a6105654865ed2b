// ArgMin and ArgMax over the last axis, in place in the wasm heap: a VQ-VAE's nearest-code
// search (argMin over [N, K] distances) runs on tfjs-wasm's single thread otherwise. Rows
// split over the addon's threads; within a row, the same strict comparison as tfjs's kernels
// (value < best, or >), so ties keep the first index and a NaN never replaces the best; rows
// of 16k floats by AVX-512 vector min/max where the CPU has it (SCULPT_NATIVE_AVX512=0: not).
#include "arg_reduce.h"
#include "upsample.h"  // ParallelForFn

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace sculpt {
namespace {

constexpr int64_t kGrain = int64_t{1} << 18;  // elements a thread takes at least (as the addon's)

template <bool Max>
void Rows(const float* x, int32_t* out, int64_t inner, int64_t lo, int64_t hi) {
  for (int64_t r = lo; r < hi; r++) {
    const float* row = x + r * inner;
    float best = row[0];
    int32_t at = 0;
    for (int64_t k = 1; k < inner; k++) {
      if (Max ? row[k] > best : row[k] < best) {
        best = row[k];
        at = static_cast<int32_t>(k);
      }
    }
    out[r] = at;
  }
}

// The same for rows of 16k floats with AVX-512: the row's least (greatest) value by vector
// min (max), then the first index holding it. A row with a NaN goes to the scalar loop (vector
// min/max would not skip it the way the strict comparison does); ±0 compare equal in both.
// GCC 12 warns that min/max's _mm512_undefined_ps() pass-through (masked off: never read) is
// uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <bool Max>
__attribute__((target("avx512f"))) void Rows512(const float* x, int32_t* out, int64_t inner,
                                                int64_t lo, int64_t hi) {
  for (int64_t r = lo; r < hi; r++) {
    const float* row = x + r * inner;
    __m512 best = _mm512_loadu_ps(row);
    __mmask16 nan = _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);
    for (int64_t k = 16; k < inner; k += 16) {
      const __m512 v = _mm512_loadu_ps(row + k);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      best = Max ? _mm512_max_ps(best, v) : _mm512_min_ps(best, v);
    }
    if (nan != 0) {
      Rows<Max>(x, out, inner, r, r + 1);
      continue;
    }
    alignas(64) float lanes[16];  // not _mm512_reduce_*: GCC 12 warns inside it
    _mm512_store_ps(lanes, best);
    float target = lanes[0];
    for (int i = 1; i < 16; i++) target = Max ? std::max(target, lanes[i]) : std::min(target, lanes[i]);
    const __m512 t = _mm512_set1_ps(target);
    for (int64_t k = 0; k < inner; k += 16) {
      const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + k), t, _CMP_EQ_OQ);
      if (hit != 0) {
        out[r] = static_cast<int32_t>(k + __builtin_ctz(hit));
        break;
      }
    }
  }
}

#pragma GCC diagnostic pop

bool HasAvx512() {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  const char* env = std::getenv("SCULPT_NATIVE_AVX512");
  return cpu && !(env != nullptr && env[0] == '0');
}

}  // namespace

Napi::Value ArgReduceJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber()) {
    throw Napi::TypeError::New(env, "sculpt native: argReduce(heap, xOff, outOff, outer, inner, max)");
  }
  Napi::Float32Array heap = info[0].As<Napi::Float32Array>();
  const int64_t xOff = info[1].As<Napi::Number>().Int64Value();
  const int64_t outOff = info[2].As<Napi::Number>().Int64Value();
  const int64_t outer = info[3].As<Napi::Number>().Int64Value();
  const int64_t inner = info[4].As<Napi::Number>().Int64Value();
  const uint64_t length = heap.ElementLength();
  if (outer <= 0 || inner <= 0 || xOff < 0 || outOff < 0 ||
      static_cast<uint64_t>(xOff + outer * inner) > length ||
      static_cast<uint64_t>(outOff + outer) > length) {
    throw Napi::RangeError::New(env, "sculpt native: argReduce operands lie outside the heap");
  }
  const float* x = heap.Data() + xOff;
  // the output is an int32 tensor: 4-byte elements at the same offsets
  int32_t* out = reinterpret_cast<int32_t*>(heap.Data() + outOff);
  const bool max = info[5].ToBoolean();
  const auto parallelFor = reinterpret_cast<ParallelForFn>(info.Data());
  const bool simd = inner % 16 == 0 && HasAvx512();
  parallelFor(outer, std::max<int64_t>(1, kGrain / inner), [&](int64_t lo, int64_t hi) {
    if (simd) return max ? Rows512<true>(x, out, inner, lo, hi) : Rows512<false>(x, out, inner, lo, hi);
    if (max) return Rows<true>(x, out, inner, lo, hi);
    Rows<false>(x, out, inner, lo, hi);
  });
  return env.Undefined();
}

}  // namespace sculpt
