// The fused epilogue of a StyleGAN2 styled conv layer (Karras et al. 2020),
// after the convolution y = conv(x·s, w) [B, P = H·W, C]:
//
//   z = y·d[b, c] + n[b, p]·strength + bias[c]      (demodulation, noise, bias)
//   out = leakyRelu(z, α)·gain                      (α = 0.2, gain = √2)
//
// in one pass over memory instead of six kernels (and their gradients in one
// pass instead of ~12), with the float32 roundings of the tfjs ops in their
// order: ((y·d) + (n·strength)) + bias, then the leaky ReLU, then ·gain.
// The noise is optional (left out: z = y·d + bias).
//
// Gradient, from the saved output (out > 0 exactly where z > 0):
//   dz = dout·gain, ·α where out ≤ 0;  dy = dz·d;  dd[b, c] = Σ_p dz·y;
//   dbias[c] = Σ_{b,p} dz;  dstrength = Σ_{b,p,c} dz·n.
//
// And the gradient of the modulation x·s before the convolution (s [B, C] per
// image and input channel) in one pass: dx = dy·s, ds[b, c] = Σ_p dy·x; and
// the demodulation factors d[b, o] = 1/√(Σ_i s[b, i]²·Σ_k w[k, i, o]² + ε) with
// their gradient, one call each way in place of ~7 forward and ~15 backward.
#include "style.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace sculpt {
namespace {

// Elements below which a loop stays on the calling thread (as the addon's other loops).
constexpr int64_t kStyleGrain = int64_t{1} << 18;

struct StyleDims {
  int64_t b, p, c;
};

// The float32 heap and the Int32Array arguments of one call, range-checked.
class StyleArgs {
 public:
  // dims [B, H·W, C] (with `taps`, a fourth: [B, Cin, Cout, k·k] for the demodulation).
  StyleArgs(const Napi::CallbackInfo& info, size_t offsetCount, bool taps = false)
      : env_(info.Env()) {
    if (!info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env_, "sculpt native: expected the wasm heap as a Float32Array");
    }
    Napi::Float32Array heap = info[0].As<Napi::Float32Array>();
    heap_ = heap.Data();
    length_ = heap.ElementLength();
    offsets_ = Ints(info, 1, offsetCount, "offsets");
    const int32_t* d = Ints(info, 2, taps ? 4 : 3, "dims");
    dims_ = {d[0], d[1], d[2]};
    taps_ = taps ? d[3] : 1;
    if (dims_.b < 1 || dims_.p < 1 || dims_.c < 1 || taps_ < 1) {
      throw Napi::RangeError::New(env_, "sculpt native: styleEpilogue dims must be positive");
    }
    if (info.Length() > 4) {
      alpha_ = static_cast<float>(info[3].As<Napi::Number>().DoubleValue());
      gain_ = static_cast<float>(info[4].As<Napi::Number>().DoubleValue());
    }
  }

  const StyleDims& dims() const { return dims_; }
  int64_t taps() const { return taps_; }
  float alpha() const { return alpha_; }
  float gain() const { return gain_; }

  // Operand `i` of `count` floats, or nullptr where its offset is −1 (left out).
  float* At(size_t i, int64_t count, const char* what) const {
    const int64_t offset = offsets_[i];
    if (offset == -1) return nullptr;
    if (offset < 0 || static_cast<uint64_t>(offset + count) > length_) {
      throw Napi::RangeError::New(env_, std::string("sculpt native: styleEpilogue ") + what +
                                            " lies outside the heap");
    }
    return heap_ + offset;
  }

 private:
  const int32_t* Ints(const Napi::CallbackInfo& info, size_t index, size_t count,
                      const char* what) const {
    if (!info[index].IsTypedArray() ||
        info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        info[index].As<Napi::Int32Array>().ElementLength() != count) {
      throw Napi::TypeError::New(env_, std::string("sculpt native: styleEpilogue expected ") +
                                           what + " as an Int32Array(" +
                                           std::to_string(count) + ")");
    }
    return info[index].As<Napi::Int32Array>().Data();
  }

  Napi::Env env_;
  float* heap_ = nullptr;
  size_t length_ = 0;
  const int32_t* offsets_ = nullptr;
  StyleDims dims_{};
  int64_t taps_ = 1;
  float alpha_ = 0.f, gain_ = 1.f;
};

// One image's epilogue: y, out [P, C]; d, bias [C]; n [P] or nullptr.
void ForwardImage(const StyleDims& s, const float* __restrict__ y, const float* __restrict__ d,
                  const float* __restrict__ n, float strength, const float* __restrict__ bias,
                  float alpha, float gain, float* __restrict__ out) {
  for (int64_t p = 0; p < s.p; p++) {
    const float noise = n != nullptr ? n[p] * strength : 0.f;
    const float* __restrict__ yp = y + p * s.c;
    float* __restrict__ op = out + p * s.c;
    for (int64_t ch = 0; ch < s.c; ch++) {
      float z = yp[ch] * d[ch];
      if (n != nullptr) z = z + noise;
      z = z + bias[ch];
      z = z > 0.f ? z : alpha * z;
      op[ch] = z * gain;
    }
  }
}

// One image's gradient: dy [P, C]; per channel Σ dz·y into dd and Σ dz into db; returns Σ dz·n.
float BackwardImage(const StyleDims& s, const float* __restrict__ dout,
                    const float* __restrict__ out, const float* __restrict__ y,
                    const float* __restrict__ d, const float* __restrict__ n, float alpha,
                    float gain, float* __restrict__ dy, float* __restrict__ dd,
                    float* __restrict__ db) {
  std::fill(dd, dd + s.c, 0.f);
  std::fill(db, db + s.c, 0.f);
  double dstrength = 0.0;
  for (int64_t p = 0; p < s.p; p++) {
    const int64_t at = p * s.c;
    float rowSum = 0.f;
    for (int64_t ch = 0; ch < s.c; ch++) {
      const float g = dout[at + ch] * gain;
      const float dz = out[at + ch] > 0.f ? g : g * alpha;
      dy[at + ch] = dz * d[ch];
      dd[ch] += dz * y[at + ch];
      db[ch] += dz;
      rowSum += dz;
    }
    if (n != nullptr) dstrength += static_cast<double>(rowSum) * n[p];
  }
  return static_cast<float>(dstrength);
}

// styleEpilogue(heap, offsets [y, d, noise, strength, bias, out], dims [B, P, C], alpha, gain)
// (noise and strength −1 when there is no noise).
Napi::Value Forward(const Napi::CallbackInfo& info, ParallelFn parallel) {
  const StyleArgs a(info, 6);
  const StyleDims s = a.dims();
  const int64_t size = s.b * s.p * s.c;
  const float* y = a.At(0, size, "y");
  const float* d = a.At(1, s.b * s.c, "d");
  const float* n = a.At(2, s.b * s.p, "noise");
  const float* strength = a.At(3, 1, "strength");
  const float* bias = a.At(4, s.c, "bias");
  float* out = a.At(5, size, "output");
  if (y == nullptr || d == nullptr || bias == nullptr || out == nullptr ||
      (n == nullptr) != (strength == nullptr)) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: styleEpilogue needs y, d, bias, out (and noise with strength)");
  }
  const float st = strength != nullptr ? *strength : 0.f;
  parallel(s.b, std::max<int64_t>(1, kStyleGrain / (s.p * s.c)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const int64_t at = i * s.p * s.c;
      ForwardImage(s, y + at, d + i * s.c, n != nullptr ? n + i * s.p : nullptr, st,
                   bias, a.alpha(), a.gain(), out + at);
    }
  });
  return info.Env().Undefined();
}

// styleEpilogueGrad(heap, offsets [dout, out, y, d, noise, dy, dd, dstrength, dbias],
//                   dims [B, P, C], alpha, gain) (noise and dstrength −1 without noise).
Napi::Value Backward(const Napi::CallbackInfo& info, ParallelFn parallel) {
  const StyleArgs a(info, 9);
  const StyleDims s = a.dims();
  const int64_t size = s.b * s.p * s.c;
  const float* dout = a.At(0, size, "dout");
  const float* out = a.At(1, size, "out");
  const float* y = a.At(2, size, "y");
  const float* d = a.At(3, s.b * s.c, "d");
  const float* n = a.At(4, s.b * s.p, "noise");
  float* dy = a.At(5, size, "dy");
  float* dd = a.At(6, s.b * s.c, "dd");
  float* dstrength = a.At(7, 1, "dstrength");
  float* dbias = a.At(8, s.c, "dbias");
  if (dout == nullptr || out == nullptr || y == nullptr || d == nullptr || dy == nullptr ||
      dd == nullptr || dbias == nullptr || (n == nullptr) != (dstrength == nullptr)) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: styleEpilogueGrad needs dout, out, y, d, dy, dd, dbias (and noise with dstrength)");
  }
  std::vector<float> perImage(s.b * (s.c + 1));  // Σ dz per channel, then Σ dz·n, per image
  parallel(s.b, std::max<int64_t>(1, kStyleGrain / (4 * s.p * s.c)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const int64_t at = i * s.p * s.c;
      float* db = perImage.data() + i * (s.c + 1);
      db[s.c] = BackwardImage(s, dout + at, out + at, y + at, d + i * s.c,
                              n != nullptr ? n + i * s.p : nullptr, a.alpha(), a.gain(),
                              dy + at, dd + i * s.c, db);
    }
  });
  for (int64_t ch = 0; ch < s.c; ch++) {
    double sum = 0.0;
    for (int64_t i = 0; i < s.b; i++) sum += perImage[i * (s.c + 1) + ch];
    dbias[ch] = static_cast<float>(sum);
  }
  double total = 0.0;
  for (int64_t i = 0; i < s.b; i++) total += perImage[i * (s.c + 1) + s.c];
  if (dstrength != nullptr) *dstrength = static_cast<float>(total);
  return info.Env().Undefined();
}

// modulateGrad(heap, offsets [dy, x, styles, dx, dstyles], dims [B, P, C]): the gradient of
// x·s (s broadcast over the pixels) in one pass: dx = dy·s, dstyles[b, c] = Σ_p dy·x.
Napi::Value ModulateGrad(const Napi::CallbackInfo& info, ParallelFn parallel) {
  const StyleArgs a(info, 5);
  const StyleDims s = a.dims();
  const int64_t size = s.b * s.p * s.c;
  const float* dy = a.At(0, size, "dy");
  const float* x = a.At(1, size, "x");
  const float* styles = a.At(2, s.b * s.c, "styles");
  float* dx = a.At(3, size, "dx");
  float* ds = a.At(4, s.b * s.c, "dstyles");
  if (dy == nullptr || x == nullptr || styles == nullptr || dx == nullptr || ds == nullptr) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: modulateGrad needs dy, x, styles, dx, dstyles");
  }
  parallel(s.b, std::max<int64_t>(1, kStyleGrain / (3 * s.p * s.c)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const int64_t at = i * s.p * s.c;
      const float* __restrict__ si = styles + i * s.c;
      float* __restrict__ dsi = ds + i * s.c;
      std::fill(dsi, dsi + s.c, 0.f);
      for (int64_t p = 0; p < s.p; p++) {
        const float* __restrict__ dyp = dy + at + p * s.c;
        const float* __restrict__ xp = x + at + p * s.c;
        float* __restrict__ dxp = dx + at + p * s.c;
        for (int64_t ch = 0; ch < s.c; ch++) {
          dxp[ch] = dyp[ch] * si[ch];
          dsi[ch] += dyp[ch] * xp[ch];
        }
      }
    }
  });
  return info.Env().Undefined();
}

// The filter's energy per input and output channel, E[i, o] = Σ_k w[k, i, o]², into `energy`.
void Energy(int64_t taps, int64_t cin, int64_t cout, const float* w, std::vector<float>& energy) {
  energy.assign(cin * cout, 0.f);
  for (int64_t k = 0; k < taps; k++) {
    for (int64_t j = 0; j < cin * cout; j++) energy[j] += w[k * cin * cout + j] * w[k * cin * cout + j];
  }
}

// demodulate(heap, offsets [styles, filter, d], dims [B, Cin, Cout, k·k], epsilon):
// d[b, o] = 1/√(Σ_i s[b, i]²·E[i, o] + ε) (StyleGAN2 eq. 3), in float as the tfjs ops.
Napi::Value Demodulate(const Napi::CallbackInfo& info) {
  const StyleArgs a(info, 3, true);
  const int64_t b = a.dims().b, cin = a.dims().p, cout = a.dims().c, taps = a.taps();
  const float eps = static_cast<float>(info[3].As<Napi::Number>().DoubleValue());
  const float* s = a.At(0, b * cin, "styles");
  const float* w = a.At(1, taps * cin * cout, "filter");
  float* d = a.At(2, b * cout, "d");
  if (s == nullptr || w == nullptr || d == nullptr) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: demodulate needs styles, filter, d");
  }
  std::vector<float> energy;
  Energy(taps, cin, cout, w, energy);
  std::vector<float> q(cout);
  for (int64_t i = 0; i < b; i++) {
    std::fill(q.begin(), q.end(), 0.f);
    for (int64_t c = 0; c < cin; c++) {
      const float s2 = s[i * cin + c] * s[i * cin + c];
      for (int64_t o = 0; o < cout; o++) q[o] += s2 * energy[c * cout + o];
    }
    for (int64_t o = 0; o < cout; o++) d[i * cout + o] = 1.f / std::sqrt(q[o] + eps);
  }
  return info.Env().Undefined();
}

// demodulateGrad(heap, offsets [dd, styles, filter, d, dstyles, dfilter], dims as demodulate's):
// with t = dd·d³: dstyles[b, i] = −s[b, i]·Σ_o t[b, o]·E[i, o] and
// dfilter[k, i, o] = −w[k, i, o]·Σ_b t[b, o]·s[b, i]².
Napi::Value DemodulateGrad(const Napi::CallbackInfo& info) {
  const StyleArgs a(info, 6, true);
  const int64_t b = a.dims().b, cin = a.dims().p, cout = a.dims().c, taps = a.taps();
  const float* dd = a.At(0, b * cout, "dd");
  const float* s = a.At(1, b * cin, "styles");
  const float* w = a.At(2, taps * cin * cout, "filter");
  const float* d = a.At(3, b * cout, "d");
  float* ds = a.At(4, b * cin, "dstyles");
  float* dw = a.At(5, taps * cin * cout, "dfilter");
  if (dd == nullptr || s == nullptr || w == nullptr || d == nullptr || ds == nullptr || dw == nullptr) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: demodulateGrad needs dd, styles, filter, d, dstyles, dfilter");
  }
  std::vector<float> energy, t(b * cout), m(cin * cout, 0.f);
  Energy(taps, cin, cout, w, energy);
  for (int64_t j = 0; j < b * cout; j++) t[j] = dd[j] * d[j] * d[j] * d[j];
  for (int64_t i = 0; i < b; i++) {
    for (int64_t c = 0; c < cin; c++) {
      const float si = s[i * cin + c];
      float acc = 0.f;
      for (int64_t o = 0; o < cout; o++) {
        acc += t[i * cout + o] * energy[c * cout + o];
        m[c * cout + o] += t[i * cout + o] * si * si;
      }
      ds[i * cin + c] = -si * acc;
    }
  }
  for (int64_t k = 0; k < taps; k++) {
    for (int64_t j = 0; j < cin * cout; j++) dw[k * cin * cout + j] = -w[k * cin * cout + j] * m[j];
  }
  return info.Env().Undefined();
}

}  // namespace

void RegisterStyle(Napi::Env env, Napi::Object exports, ParallelFn parallel) {
  exports.Set("styleEpilogue",
              Napi::Function::New(
                  env, [parallel](const Napi::CallbackInfo& info) { return Forward(info, parallel); },
                  "styleEpilogue"));
  exports.Set("styleEpilogueGrad",
              Napi::Function::New(
                  env, [parallel](const Napi::CallbackInfo& info) { return Backward(info, parallel); },
                  "styleEpilogueGrad"));
  exports.Set("modulateGrad",
              Napi::Function::New(
                  env, [parallel](const Napi::CallbackInfo& info) { return ModulateGrad(info, parallel); },
                  "modulateGrad"));
  exports.Set("demodulate", Napi::Function::New(env, Demodulate, "demodulate"));
  exports.Set("demodulateGrad", Napi::Function::New(env, DemodulateGrad, "demodulateGrad"));
}

}  // namespace sculpt
