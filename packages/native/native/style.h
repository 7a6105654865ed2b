// sculpt's fused StyleGAN epilogue kernels (see style.cc).
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>

namespace sculpt {

// Runs fn(lo, hi) over [0, n) in chunks of at least `grain` on the addon's threads.
using ParallelFn = void (*)(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Adds `styleEpilogue`, `styleEpilogueGrad`, `modulateGrad`, `demodulate` and `demodulateGrad` to the addon's exports, split over `parallel`.
void RegisterStyle(Napi::Env env, Napi::Object exports, ParallelFn parallel);

}  // namespace sculpt
