// A conv with its bias and activation applied block by block, and the fused gradient of
// the bias and activation (see fused_conv.cc).
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>

namespace sculpt {

// fn(lo, hi) over [0, n) on sculpt_native.cc's thread pool, in chunks of at least `grain`.
void PoolParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// y = conv(x, w) for conv dims [n, h, w, c, kh, kw, co, sh, sw, dh, dw, pt, pl, oh, ow], over
// the pool (sculpt_native.cc's ForwardConv).
void ConvForward(const int32_t* dims, const float* x, const float* w, float* y);

// fusedConv2d(heap, xOff, wOff, yOff, dims Int32Array(15), biasOff|-1, act 0|1|4, alpha)
Napi::Value FusedConv2dJs(const Napi::CallbackInfo& info);

// biasActivationGrad(heap, dyOff, yOff, dzOff, dbOff, rows, channels, alpha)
Napi::Value BiasActivationGradJs(const Napi::CallbackInfo& info);

}  // namespace sculpt
