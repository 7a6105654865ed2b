// Thin convolutions: one output channel from 16k inputs (an image decoder's last 3×3 conv,
// 16 → 1) or few outputs from one input channel (an encoder's first conv, 1 → 16). They do
// ~9 multiply-adds per float of x or y, so they are bound by the loop overhead around each
// tap and by memory, not by arithmetic. These loops work on the interior of each output line
// (pixels whose taps all lie inside the row: no bounds checks, pointers advance by a
// constant), leave the one or two edge pixels per line to the checked loops in
// sculpt_native.cc, and read x once per tap row:
// - DotInterior: 16 pixels per block, each a 16-wide sum over taps and channels; the 16
//   sums are reduced by one transposing shuffle tree instead of 16 horizontal adds.
// - SpreadInterior: 4 pixels at a time, each tap one broadcast of x times a row of w.
// - TapSumsLines: the filter gradient, its 9 tap sums kept in registers across all lines.
// AVX-512F only (function-level target); callers check the CPU.
#include "thin_conv.h"

#include <immintrin.h>

#include <algorithm>

namespace sculpt {
namespace {

constexpr int kMaxRows = 16;  // filter heights the line loops take

// Smallest z with z·s + off ≥ bound, clamped to [0, limit].
int64_t FirstAtLeast(int64_t bound, int64_t off, int64_t s, int64_t limit) {
  const int64_t need = bound - off;
  return std::min(need <= 0 ? 0 : (need + s - 1) / s, limit);
}

// rows[i] = x's input row under filter row i for output line l, or nullptr outside x.
void LineRows(const ConvDims& v, const float* x, int64_t l, const float** rows) {
  const int64_t b = l / v.oh, oy = l % v.oh;
  for (int64_t i = 0; i < v.kh; i++) {
    const int64_t iy = oy * v.sh - v.pt + i * v.dh;
    rows[i] = iy < 0 || iy >= v.h ? nullptr : x + (b * v.h + iy) * v.w * v.c;
  }
}

// GCC 12 warns that the shuffles' and the permute's _mm512_undefined_ps() pass-through (masked
// off: never read) is uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"

// out[p] = Σ lanes of a[p], p < 16: pairs of sums folded 256, 128, 64 and 32 bits at a time
// (15 shuffle pairs and adds), which leaves sum p at lane 4·(p mod 4) + ⌊p/4⌋; one permute.
__attribute__((target("avx512f"))) __m512 Reduce16(const __m512* a) {
  __m512 u[8], v[4], s[2];
  for (int k = 0; k < 8; k++) {
    u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0x44),
                         _mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0xEE));
  }
  for (int k = 0; k < 4; k++) {
    v[k] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0x88),
                         _mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0xDD));
  }
  for (int k = 0; k < 2; k++) {
    s[k] = _mm512_add_ps(_mm512_shuffle_ps(v[2 * k], v[2 * k + 1], 0x44),
                         _mm512_shuffle_ps(v[2 * k], v[2 * k + 1], 0xEE));
  }
  const __m512 t = _mm512_add_ps(_mm512_shuffle_ps(s[0], s[1], 0x88), _mm512_shuffle_ps(s[0], s[1], 0xDD));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, t);
}

// out[0 : 16] = y at interior pixels z0 … z0 + 15 of a line with input rows `rows` (co = 1).
__attribute__((target("avx512f"))) void DotBlock(const ConvDims& v, const float* const* rows,
                                                 const float* w, int64_t z0, float* out) {
  __m512 acc[16];
  for (int q = 0; q < 16; q++) acc[q] = _mm512_setzero_ps();
  const int64_t step = v.sw * v.c;  // floats from one pixel's taps to the next's
  for (int64_t i = 0; i < v.kh; i++) {
    if (rows[i] == nullptr) continue;
    for (int64_t j = 0; j < v.kw; j++) {
      const float* base = rows[i] + (z0 * v.sw - v.pl + j * v.dw) * v.c;
      const float* wt = w + (i * v.kw + j) * v.c;  // [c]
      for (int64_t cb = 0; cb < v.c; cb += 16) {
        const __m512 wv = _mm512_loadu_ps(wt + cb);
        const float* p = base + cb;
        for (int q = 0; q < 16; q++) acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(p + q * step), wv, acc[q]);
      }
    }
  }
  _mm512_storeu_ps(out, Reduce16(acc));
}

#pragma GCC diagnostic pop

// y[l, z0 : z0 + 4, 0 : 16·CO16] with c = 1 at interior pixels.
template <int CO16>
__attribute__((target("avx512f"))) void SpreadBlock(const ConvDims& v, const float* const* rows,
                                                    const float* w, int64_t z0, float* out) {
  __m512 acc[4][CO16];
  for (int q = 0; q < 4; q++) {
    for (int k = 0; k < CO16; k++) acc[q][k] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < v.kh; i++) {
    if (rows[i] == nullptr) continue;
    for (int64_t j = 0; j < v.kw; j++) {
      const float* xp = rows[i] + z0 * v.sw - v.pl + j * v.dw;
      const float* wt = w + (i * v.kw + j) * v.co;  // [co]
      __m512 wv[CO16];
      for (int k = 0; k < CO16; k++) wv[k] = _mm512_loadu_ps(wt + 16 * k);
      for (int q = 0; q < 4; q++) {
        const __m512 xv = _mm512_set1_ps(xp[q * v.sw]);
        for (int k = 0; k < CO16; k++) acc[q][k] = _mm512_fmadd_ps(xv, wv[k], acc[q][k]);
      }
    }
  }
  for (int q = 0; q < 4; q++) {
    for (int k = 0; k < CO16; k++) _mm512_storeu_ps(out + q * v.co + 16 * k, acc[q][k]);
  }
}

// acc[t] += x·dy over interior pixels [zlo, zhi) of one line for filter rows I0 … I0 + R − 1
// (all inside x): C16 (c = 16, co = 1) loads x and broadcasts dy, else the other way round.
template <bool C16, int I0, int R>
__attribute__((target("avx512f"), always_inline)) inline void TapSpan(
    const ConvDims& v, const float* const* rows, const float* dyl, int64_t zlo, int64_t zhi,
    __m512* acc) {
  __m512 sum[3 * R];  // a local copy, so that the sums stay in registers through the loop
  for (int t = 0; t < 3 * R; t++) sum[t] = acc[I0 * 3 + t];
  const float* xr[R];
  for (int r = 0; r < R; r++) xr[r] = rows[I0 + r] + (zlo * v.sw - v.pl) * v.c;
  const int64_t step = v.sw * v.c, tap = v.dw * v.c;
  for (int64_t z = zlo; z < zhi; z++) {
    const __m512 g = C16 ? _mm512_set1_ps(dyl[z]) : _mm512_loadu_ps(dyl + z * 16);
    for (int r = 0; r < R; r++) {
      for (int j = 0; j < 3; j++) {
        const float* xp = xr[r] + j * tap;
        const __m512 xv = C16 ? _mm512_loadu_ps(xp) : _mm512_set1_ps(xp[0]);
        sum[r * 3 + j] = _mm512_fmadd_ps(xv, g, sum[r * 3 + j]);
      }
      xr[r] += step;
    }
  }
  for (int t = 0; t < 3 * R; t++) acc[I0 * 3 + t] = sum[t];
}

// acc[t] += x·dy at the pixels of one line outside [zlo, zhi), checking every tap.
template <bool C16>
__attribute__((target("avx512f"))) void TapEdges(const ConvDims& v, const float* const* rows,
                                                 const float* dyl, int64_t zlo, int64_t zhi,
                                                 __m512* acc) {
  for (int64_t z = 0; z < v.ow; z++) {
    if (z == zlo) z = std::max(zhi, zlo);
    if (z >= v.ow) break;
    const __m512 g = C16 ? _mm512_set1_ps(dyl[z]) : _mm512_loadu_ps(dyl + z * 16);
    for (int64_t i = 0; i < 3; i++) {
      if (rows[i] == nullptr) continue;
      for (int64_t j = 0; j < 3; j++) {
        const int64_t ix = z * v.sw - v.pl + j * v.dw;
        if (ix < 0 || ix >= v.w) continue;
        const float* xp = rows[i] + ix * v.c;
        const __m512 xv = C16 ? _mm512_loadu_ps(xp) : _mm512_set1_ps(xp[0]);
        acc[i * 3 + j] = _mm512_fmadd_ps(xv, g, acc[i * 3 + j]);
      }
    }
  }
}

template <bool C16>
__attribute__((target("avx512f"))) void TapSums(const ConvDims& v, const float* x,
                                                const float* dy, float* dw, int64_t l0, int64_t l1) {
  __m512 acc[9];
  for (int t = 0; t < 9; t++) acc[t] = _mm512_setzero_ps();
  int64_t zlo, zhi;
  InteriorSpan(v, &zlo, &zhi);
  const float* rows[3];
  for (int64_t l = l0; l < l1; l++) {
    LineRows(v, x, l, rows);
    const float* dyl = dy + l * v.ow * v.co;
    if (rows[0] != nullptr && rows[1] != nullptr && rows[2] != nullptr) {
      TapSpan<C16, 0, 3>(v, rows, dyl, zlo, zhi, acc);  // 9 independent sums per pixel
    } else {
      if (rows[0] != nullptr) TapSpan<C16, 0, 1>(v, rows, dyl, zlo, zhi, acc);
      if (rows[1] != nullptr) TapSpan<C16, 1, 1>(v, rows, dyl, zlo, zhi, acc);
      if (rows[2] != nullptr) TapSpan<C16, 2, 1>(v, rows, dyl, zlo, zhi, acc);
    }
    TapEdges<C16>(v, rows, dyl, zlo, zhi, acc);
  }
  for (int t = 0; t < 9; t++) {
    _mm512_storeu_ps(dw + 16 * t, _mm512_add_ps(_mm512_loadu_ps(dw + 16 * t), acc[t]));
  }
}

}  // namespace

void InteriorSpan(const ConvDims& v, int64_t* zlo, int64_t* zhi) {
  *zlo = FirstAtLeast(0, -v.pl, v.sw, v.ow);
  // the first pixel whose last tap lies past the row
  *zhi = std::max(*zlo, FirstAtLeast(v.w - (v.kw - 1) * v.dw, -v.pl, v.sw, v.ow));
}

bool DotFits(const ConvDims& v) {
  int64_t zlo, zhi;
  InteriorSpan(v, &zlo, &zhi);
  return v.co == 1 && v.c % 16 == 0 && v.kh <= kMaxRows && zhi - zlo >= 16;
}

void DotInterior(const ConvDims& v, const float* x, const float* w, float* y, int64_t l,
                 int64_t zlo, int64_t zhi) {
  const float* rows[kMaxRows];
  LineRows(v, x, l, rows);
  float* out = y + l * v.ow;
  int64_t z = zlo;
  for (; z + 16 <= zhi; z += 16) DotBlock(v, rows, w, z, out + z);
  // the last pixels as a block that overlaps the one before (same values written twice)
  if (z < zhi) DotBlock(v, rows, w, zhi - 16, out + zhi - 16);
}

bool SpreadFits(const ConvDims& v) {
  int64_t zlo, zhi;
  InteriorSpan(v, &zlo, &zhi);
  return v.c == 1 && (v.co == 16 || v.co == 32) && v.kh <= kMaxRows && zhi - zlo >= 4;
}

void SpreadInterior(const ConvDims& v, const float* x, const float* w, float* y, int64_t l,
                    int64_t zlo, int64_t zhi) {
  const float* rows[kMaxRows];
  LineRows(v, x, l, rows);
  float* out = y + l * v.ow * v.co;
  const auto block = v.co == 16 ? SpreadBlock<1> : SpreadBlock<2>;
  int64_t z = zlo;
  for (; z + 4 <= zhi; z += 4) block(v, rows, w, z, out + z * v.co);
  if (z < zhi) block(v, rows, w, zhi - 4, out + (zhi - 4) * v.co);
}

bool TapSumsFit(const ConvDims& v) {
  return v.kh == 3 && v.kw == 3 && v.c * v.co == 16 && (v.c == 1 || v.co == 1);
}

void TapSumsLines(const ConvDims& v, const float* x, const float* dy, float* dw, int64_t l0,
                  int64_t l1) {
  if (v.co == 1) return TapSums<true>(v, x, dy, dw, l0, l1);
  TapSums<false>(v, x, dy, dw, l0, l1);
}

}  // namespace sculpt
