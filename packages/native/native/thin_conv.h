// Convolutions with one input or one output channel (an image model's first and last 3×3
// convs) as AVX-512 loops over whole output lines (see thin_conv.cc). Callers check
// AVX-512F (HasAvx512 in sculpt_native.cc) and the shape predicates below.
#pragma once

#include <cstdint>

namespace sculpt {

// A 2D convolution, NHWC input [n, h, w, c], HWIO filter [kh, kw, c, co], output [n, oh, ow, co].
struct ConvDims {
  int64_t n, h, w, c, kh, kw, co, sh, sw, dh, dw, pt, pl, oh, ow;
};

// Output pixels [*zlo, *zhi) of every output line whose kw taps all lie inside x's row.
void InteriorSpan(const ConvDims& v, int64_t* zlo, int64_t* zhi);

// co = 1, c = 16k, kh ≤ 16 and at least 16 interior pixels: DotInterior takes the conv.
bool DotFits(const ConvDims& v);

// y[l, zlo : zhi] (co = 1) for output line l = b·oh + y: 16 pixels per block, each a 16-wide
// sum over taps and channels, and one transposing reduction per block.
void DotInterior(const ConvDims& v, const float* x, const float* w, float* y, int64_t l,
                 int64_t zlo, int64_t zhi);

// c = 1, co = 16 or 32, kh ≤ 16 and at least 4 interior pixels: SpreadInterior takes the conv.
bool SpreadFits(const ConvDims& v);

// y[l, zlo : zhi, :] (c = 1): 4 pixels at a time, per tap one broadcast of x times a filter row.
void SpreadInterior(const ConvDims& v, const float* x, const float* w, float* y, int64_t l,
                    int64_t zlo, int64_t zhi);

// A 3×3 filter with c·co = 16 (c = 16, co = 1 or c = 1, co = 16): TapSumsLines takes its gradient.
bool TapSumsFit(const ConvDims& v);

// dw [3, 3, c, co] += Σ patches(x)ᵀ · dy over output lines l0..l1, the 9 tap sums (16 floats
// each) kept in registers across all the lines.
void TapSumsLines(const ConvDims& v, const float* x, const float* dy, float* dw, int64_t l0,
                  int64_t l1);

}  // namespace sculpt
