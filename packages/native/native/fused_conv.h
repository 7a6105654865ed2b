// The fused gradient of a conv's bias and activation (see fused_conv.cc).
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>

namespace sculpt {

// fn(lo, hi) over [0, n) on sculpt_native.cc's thread pool, in chunks of at least `grain`.
void PoolParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// biasActivationGrad(heap, dyOff, yOff, dzOff, dbOff, rows, channels, alpha)
Napi::Value BiasActivationGradJs(const Napi::CallbackInfo& info);

}  // namespace sculpt
