// ArgMin and ArgMax over the last axis, in place in the wasm heap: a VQ-VAE's nearest-code
// search (argMin over [N, K] distances) runs on tfjs-wasm's single thread otherwise. Rows
// split over the addon's threads; within a row, the same strict comparison as tfjs's kernels
// (value < best, or >), so ties keep the first index and a NaN never replaces the best.
#include "arg_reduce.h"
#include "upsample.h"  // ParallelForFn

#include <algorithm>
#include <cstdint>
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
  parallelFor(outer, std::max<int64_t>(1, kGrain / inner), [&](int64_t lo, int64_t hi) {
    if (max) return Rows<true>(x, out, inner, lo, hi);
    Rows<false>(x, out, inner, lo, hi);
  });
  return env.Undefined();
}

}  // namespace sculpt
