// The gradient of a conv's bias and activation in one pass (SculptBiasActivationGrad).
//
// For y = act(z), z = conv(x, W) + b with act linear, relu or leakyrelu (slope α where
// z ≤ 0; y > 0 ⇔ z > 0 for α ≥ 0):
//   dz[r, c] = dy[r, c] · (y[r, c] > 0 ? 1 : α)      r over B·H·W, c over channels
//   db[c]    = Σ_r dz[r, c]
// tfjs runs this as Step, Multiply and a Sum over the rows: three kernels and four passes
// over the conv's output; here it is one read of dy and y and one write of dz. The rows
// are cut into a fixed number of parts (by size only, so the sums do not depend on the
// thread count); each part sums its own db, and the parts are added in order.
#include "fused_conv.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sculpt {
namespace {

float* FloatsAt(Napi::Env env, Napi::Float32Array heap, int64_t offset, int64_t count,
                const char* what) {
  if (offset < 0 || count < 0 || static_cast<uint64_t>(offset + count) > heap.ElementLength()) {
    throw Napi::RangeError::New(env, std::string("sculpt native: biasActivationGrad's ") + what +
                                         " lies outside the heap");
  }
  return heap.Data() + offset;
}

// dz rows [r0, r1) and their column sums added into acc [c].
void GradRows(const float* __restrict dy, const float* __restrict y, float* __restrict dz,
              float* __restrict acc, int64_t r0, int64_t r1, int64_t c, float alpha) {
  for (int64_t r = r0; r < r1; r++) {
    const float* dyr = dy + r * c;
    const float* yr = y + r * c;
    float* dzr = dz + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float v = yr[j] > 0.f ? dyr[j] : alpha * dyr[j];
      dzr[j] = v;
      acc[j] += v;
    }
  }
}

}  // namespace

Napi::Value BiasActivationGradJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "sculpt native: biasActivationGrad(heap, dy, y, dz, db, rows, channels, alpha)");
  }
  for (size_t i = 1; i < 8; i++) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "sculpt native: biasActivationGrad takes numbers after the heap");
  }
  Napi::Float32Array heap = info[0].As<Napi::Float32Array>();
  const int64_t rows = info[5].As<Napi::Number>().Int64Value();
  const int64_t c = info[6].As<Napi::Number>().Int64Value();
  const float alpha = info[7].As<Napi::Number>().FloatValue();
  if (rows <= 0 || c <= 0) throw Napi::RangeError::New(env, "sculpt native: biasActivationGrad dims must be positive");
  const auto at = [&](size_t i, int64_t n, const char* what) {
    return FloatsAt(env, heap, info[i].As<Napi::Number>().Int64Value(), n, what);
  };
  const float* dy = at(1, rows * c, "dy");
  const float* y = at(2, rows * c, "y");
  float* dz = at(3, rows * c, "dz");
  float* db = at(4, c, "db");
  // Parts of ≥ 64K floats (a memory-bound pass: smaller ones cost more to hand out than they take).
  const int64_t parts = std::clamp<int64_t>(rows * c / (int64_t{1} << 16), 1, std::min<int64_t>(rows, 8));
  std::vector<float> sums(parts * c, 0.f);
  PoolParallelFor(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
      GradRows(dy, y, dz, sums.data() + p * c, rows * p / parts, rows * (p + 1) / parts, c, alpha);
    }
  });
  std::fill(db, db + c, 0.f);
  for (int64_t p = 0; p < parts; p++) {
    for (int64_t j = 0; j < c; j++) db[j] += sums[p * c + j];
  }
  return env.Undefined();
}

}  // namespace sculpt
