// Nearest-neighbour resizing of NHWC images in place in the wasm heap: tfjs's
// ResizeNearestNeighbor, and its gradient as that forward op's exact adjoint.
// A decoder's 2× upsampling is pure memory traffic, so the forward pass copies
// each source pixel's c floats and then whole output rows (an output row whose
// source row is the previous one's is one memcpy); the gradient walks dy once,
// adding each pixel's c floats into its source pixel. Images are independent,
// so both split over images (or image rows) on the addon's threads.
#include "upsample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace sculpt {
namespace {

// Elements below which a memory-bound loop stays on the calling thread (as the addon's kGrain).
constexpr int64_t kGrain = int64_t{1} << 18;

// Source index of output index i along one axis, as tfjs's forward kernels compute it:
// ratio·i (ratio·(i + ½) with half-pixel centres), rounded with alignCorners, else floored.
std::vector<int64_t> NearestAxis(int64_t in, int64_t out, bool alignCorners, bool halfPixel) {
  const bool aligned = alignCorners && out > 1;
  const double ratio = static_cast<double>(aligned ? in - 1 : in) / static_cast<double>(aligned ? out - 1 : out);
  std::vector<int64_t> src(out);
  for (int64_t i = 0; i < out; i++) {
    const double frac = halfPixel ? ratio * (i + 0.5) : ratio * static_cast<double>(i);
    const double pick = alignCorners ? std::round(frac) : std::floor(frac);
    src[i] = std::max<int64_t>(0, std::min<int64_t>(in - 1, static_cast<int64_t>(pick)));
  }
  return src;
}

// The heap operand [offset, offset + count), checked to lie inside the heap.
float* HeapRange(const Napi::CallbackInfo& info, size_t index, int64_t count, const char* what) {
  Napi::Float32Array heap = info[0].As<Napi::Float32Array>();
  const int64_t offset = info[index].As<Napi::Number>().Int64Value();
  if (offset < 0 || count < 0 || static_cast<uint64_t>(offset + count) > heap.ElementLength()) {
    throw Napi::RangeError::New(info.Env(), std::string("sculpt native: resizeNearest ") + what +
                                                " lies outside the heap");
  }
  return heap.Data() + offset;
}

struct Dims {
  int64_t b, h, w, c, oh, ow;
};

Dims GetDims(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsTypedArray() ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[3].As<Napi::Int32Array>().ElementLength() != 6) {
    throw Napi::TypeError::New(env, "sculpt native: resizeNearest(heap, xOff, yOff, Int32Array(6) dims, …)");
  }
  const int32_t* d = info[3].As<Napi::Int32Array>().Data();
  const Dims dims{d[0], d[1], d[2], d[3], d[4], d[5]};
  if (dims.b <= 0 || dims.h <= 0 || dims.w <= 0 || dims.c <= 0 || dims.oh <= 0 || dims.ow <= 0) {
    throw Napi::RangeError::New(env, "sculpt native: resize dims must be positive");
  }
  return dims;
}

// y lines lo..hi (line = image·oh + output row) of the forward resize.
void Forward(const Dims& d, const float* x, float* y, const std::vector<int64_t>& rows,
             const std::vector<int64_t>& cols, int64_t lo, int64_t hi) {
  const int64_t rowFloats = d.ow * d.c;
  for (int64_t l = lo; l < hi; l++) {
    float* out = y + l * rowFloats;
    const int64_t r = l % d.oh;
    if (l > lo && r > 0 && rows[r] == rows[r - 1]) {
      std::memcpy(out, out - rowFloats, sizeof(float) * rowFloats);  // same source row
      continue;
    }
    const float* line = x + ((l / d.oh) * d.h + rows[r]) * d.w * d.c;
    for (int64_t j = 0; j < d.ow; j++) std::memcpy(out + j * d.c, line + cols[j] * d.c, sizeof(float) * d.c);
  }
}

// dx images lo..hi: zeroed, then dx[b, rows[y], cols[x]] += dy[b, y, x] for every dy pixel.
void Gradient(const Dims& d, const float* dy, float* dx, const std::vector<int64_t>& rows,
              const std::vector<int64_t>& cols, int64_t lo, int64_t hi) {
  const int64_t image = d.h * d.w * d.c;
  std::memset(dx + lo * image, 0, sizeof(float) * (hi - lo) * image);
  for (int64_t b = lo; b < hi; b++) {
    for (int64_t r = 0; r < d.oh; r++) {
      float* line = dx + b * image + rows[r] * d.w * d.c;
      const float* g = dy + (b * d.oh + r) * d.ow * d.c;
      for (int64_t j = 0; j < d.ow; j++, g += d.c) {
        float* dst = line + cols[j] * d.c;
        for (int64_t k = 0; k < d.c; k++) dst[k] += g[k];
      }
    }
  }
}

}  // namespace

Napi::Value ResizeNearestJs(const Napi::CallbackInfo& info) {
  const Dims d = GetDims(info);
  const bool align = info[4].ToBoolean(), half = info[5].ToBoolean(), grad = info[6].ToBoolean();
  const int64_t small = d.b * d.h * d.w * d.c, large = d.b * d.oh * d.ow * d.c;
  const float* x = HeapRange(info, 1, grad ? large : small, "x");
  float* y = HeapRange(info, 2, grad ? small : large, "output");
  const std::vector<int64_t> rows = NearestAxis(d.h, d.oh, align, half);
  const std::vector<int64_t> cols = NearestAxis(d.w, d.ow, align, half);
  const auto parallelFor = reinterpret_cast<ParallelForFn>(info.Data());
  if (grad) {
    parallelFor(d.b, std::max<int64_t>(1, kGrain / (d.oh * d.ow * d.c)),
                [&](int64_t lo, int64_t hi) { Gradient(d, x, y, rows, cols, lo, hi); });
  } else {
    parallelFor(d.b * d.oh, std::max<int64_t>(1, kGrain / (d.ow * d.c)),
                [&](int64_t lo, int64_t hi) { Forward(d, x, y, rows, cols, lo, hi); });
  }
  return info.Env().Undefined();
}

}  // namespace sculpt
