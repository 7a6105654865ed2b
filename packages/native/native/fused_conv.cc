// A conv with its bias and activation (FusedConv2D), and the gradient of the bias and
// activation in one pass (SculptBiasActivationGrad).
//
// FusedConv2D with bias and linear, relu or leakyrelu: the images are cut into blocks whose
// output is ~1 MB; each block is convolved (over the pool) and then biased and activated
// while it is still in cache, instead of one more pass over the whole output after the conv.
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
    throw Napi::RangeError::New(env, std::string("sculpt native: ") + what + " lies outside the heap");
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

// out[r, :] = act(out[r, :] + bias) for rows [r0, r1); act 0 linear, 1 relu, 4 leakyrelu.
void BiasActivateRows(float* __restrict out, const float* __restrict bias, int64_t r0, int64_t r1,
                      int64_t c, int act, float alpha) {
  const float slope = act == 1 ? 0.f : alpha;
  for (int64_t r = r0; r < r1; r++) {
    float* row = out + r * c;
    if (bias != nullptr) {
      for (int64_t j = 0; j < c; j++) row[j] += bias[j];
    }
    if (act == 0) continue;
    for (int64_t j = 0; j < c; j++) row[j] = row[j] > 0.f ? row[j] : slope * row[j];
  }
}

int64_t Arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: fusedConv2d argument " + std::to_string(i) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

}  // namespace

Napi::Value FusedConv2dJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[4].IsTypedArray() ||
      info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[4].As<Napi::Int32Array>().ElementLength() != 15) {
    throw Napi::TypeError::New(env, "sculpt native: fusedConv2d(heap, x, w, y, dims Int32Array(15), bias|-1, act, alpha)");
  }
  Napi::Float32Array heap = info[0].As<Napi::Float32Array>();
  const int32_t* d = info[4].As<Napi::Int32Array>().Data();
  for (int i = 0; i < 15; i++) {
    if (d[i] < (i == 11 || i == 12 ? 0 : 1)) throw Napi::RangeError::New(env, "sculpt native: fusedConv2d dims must be positive");
  }
  const int64_t n = d[0], image = int64_t{d[1]} * d[2] * d[3], co = d[6], outImage = int64_t{d[13]} * d[14] * co;
  const float* x = FloatsAt(env, heap, Arg(info, 1), n * image, "x");
  const float* w = FloatsAt(env, heap, Arg(info, 2), int64_t{d[4]} * d[5] * d[3] * co, "filter");
  float* y = FloatsAt(env, heap, Arg(info, 3), n * outImage, "output");
  const int64_t biasOff = Arg(info, 5);
  const float* bias = biasOff < 0 ? nullptr : FloatsAt(env, heap, biasOff, co, "bias");
  const int act = static_cast<int>(Arg(info, 6));
  const float alpha = info[7].As<Napi::Number>().FloatValue();
  if (act != 0 && act != 1 && act != 4) throw Napi::RangeError::New(env, "sculpt native: fusedConv2d act must be 0, 1 or 4");
  // Images per block: ~1 MB of output (at least one image).
  const int64_t per = std::max<int64_t>(1, (int64_t{1} << 18) / outImage);
  int32_t block[15];
  std::copy(d, d + 15, block);
  for (int64_t b0 = 0; b0 < n; b0 += per) {
    const int64_t nb = std::min(per, n - b0);
    block[0] = static_cast<int32_t>(nb);
    float* yb = y + b0 * outImage;
    ConvForward(block, x + b0 * image, w, yb);
    if (bias == nullptr && act == 0) continue;
    const int64_t rows = nb * d[13] * d[14];
    PoolParallelFor(rows, std::max<int64_t>(1, (int64_t{1} << 16) / co), [&](int64_t r0, int64_t r1) {
      BiasActivateRows(yb, bias, r0, r1, co, act, alpha);
    });
  }
  return env.Undefined();
}

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
