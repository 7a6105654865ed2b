// ArgMin / ArgMax along the last axis on the addon's threads (see arg_reduce.cc).
#pragma once

#include <napi.h>

namespace sculpt {

// argReduce(heap, xOff, outOff, outer, inner, max): out (int32, at the float offset outOff) [outer]
// = the first index of the least (max: greatest) of each row of x [outer, inner], as tfjs's
// kernels compare (a NaN never wins). Export it with the addon's ParallelFor as the function's data.
Napi::Value ArgReduceJs(const Napi::CallbackInfo& info);

}  // namespace sculpt
