// Nearest-neighbour resizing (tfjs's ResizeNearestNeighbor and its gradient) on the addon's
// threads (see upsample.cc).
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>

namespace sculpt {

// The addon's ParallelFor(n, grain, fn): runs fn(lo, hi) over [0, n) on its threads.
using ParallelForFn = void (*)(int64_t, int64_t, const std::function<void(int64_t, int64_t)>&);

// resizeNearest(heap, xOff, yOff, dims [b, h, w, c, oh, ow], alignCorners, halfPixelCenters,
// grad). Export it with the addon's ParallelFor as the function's data.
Napi::Value ResizeNearestJs(const Napi::CallbackInfo& info);

}  // namespace sculpt
