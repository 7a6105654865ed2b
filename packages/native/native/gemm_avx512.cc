// An AVX-512 sgemm for the narrow products of convolutions and small layers:
// C = op(A)·B + beta·C with B row-major and at most kMaxN columns (a conv's
// output channels, a layer's units). OpenBLAS runs these shapes with the
// kernels the environment selects (`OPENBLAS_CORETYPE`, Haswell's AVX2 here)
// and packs both operands for every call; a register tile over B's rows needs
// no packing when B is narrow: each step of k loads one row of B (1–4 vectors
// of 16 floats) and broadcasts one element of A per row of the tile.
//
// Compiled for AVX-512F with a function-level target, so the addon still loads
// on CPUs without it: FastSgemm declines (returns false) and the caller uses
// OpenBLAS.
#include "gemm_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace sculpt {
namespace {

constexpr int64_t kMaxN = 4096;  // wider B: OpenBLAS's packed kernels win
constexpr int64_t kPanelK = 512;  // rows of B per pass: a panel of A and B stays in L2

std::atomic<int> enabled{-1};  // -1: not decided yet

bool CpuHasAvx512() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)

// One tile: rows R of C, NB vectors of 16 columns (the last masked by `tail`).
// A[i, p] = a[i·sm + p·sk]; B[p, j] = b[p·ldb + j]; C[i, j] = c[i·ldc + j].
template <int NB, int R>
__attribute__((target("avx512f"))) void Tile(int64_t k, const float* a, int64_t sm, int64_t sk,
                                             const float* b, int64_t ldb, float* c, int64_t ldc,
                                             __mmask16 tail, bool accumulate) {
  __m512 acc[R][NB];
#pragma GCC unroll 32
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
    for (int v = 0; v < NB; v++) acc[i][v] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < k; p++) {
    const float* row = b + p * ldb;
    __m512 bv[NB];
#pragma GCC unroll 4
    for (int v = 0; v < NB; v++) {
      bv[v] = v == NB - 1 ? _mm512_maskz_loadu_ps(tail, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
    }
    const float* ap = a + p * sk;
  #pragma GCC unroll 32
  for (int i = 0; i < R; i++) {
      const __m512 ai = _mm512_set1_ps(ap[i * sm]);
  #pragma GCC unroll 4
    for (int v = 0; v < NB; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < R; i++) {
    float* out = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NB; v++) {
      const __mmask16 m = v == NB - 1 ? tail : static_cast<__mmask16>(0xffff);
      __m512 r = acc[i][v];
      if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, out + 16 * v));
      _mm512_mask_storeu_ps(out + 16 * v, m, r);
    }
  }
}

// Tile<NB, rows> for 1 ≤ rows ≤ R (the last rows of C).
template <int NB, int R>
void EdgeTile(int rows, int64_t k, const float* a, int64_t sm, int64_t sk, const float* b,
              int64_t ldb, float* c, int64_t ldc, __mmask16 tail, bool accumulate) {
  if constexpr (R > 0) {
    if (rows == R) return Tile<NB, R>(k, a, sm, sk, b, ldb, c, ldc, tail, accumulate);
    EdgeTile<NB, R - 1>(rows, k, a, sm, sk, b, ldb, c, ldc, tail, accumulate);
  }
}

// Rows per tile: ~24 accumulators (of 32 vector registers) hide the FMA latency.
template <int NB>
constexpr int kRows = NB == 1 ? 12 : 24 / NB;

// C[0:m, 0:cols] over one panel of k, `cols` ≤ 16·NB.
template <int NB>
void Panel(int64_t m, int64_t cols, int64_t k, const float* a, int64_t sm, int64_t sk,
           const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  constexpr int R = kRows<NB>;
  const int64_t rem = cols - 16 * (NB - 1);
  const __mmask16 tail = static_cast<__mmask16>((1u << rem) - 1u);
  int64_t i = 0;
  for (; i + R <= m; i += R) Tile<NB, R>(k, a + i * sm, sm, sk, b, ldb, c + i * ldc, ldc, tail, accumulate);
  if (i < m) {
    EdgeTile<NB, R>(static_cast<int>(m - i), k, a + i * sm, sm, sk, b, ldb, c + i * ldc, ldc, tail,
                    accumulate);
  }
}

void Columns(int64_t m, int64_t cols, int64_t k, const float* a, int64_t sm, int64_t sk,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  switch ((cols + 15) / 16) {
    case 1: return Panel<1>(m, cols, k, a, sm, sk, b, ldb, c, ldc, accumulate);
    case 2: return Panel<2>(m, cols, k, a, sm, sk, b, ldb, c, ldc, accumulate);
    case 3: return Panel<3>(m, cols, k, a, sm, sk, b, ldb, c, ldc, accumulate);
    default: return Panel<4>(m, cols, k, a, sm, sk, b, ldb, c, ldc, accumulate);
  }
}

#endif

}  // namespace

bool FastSgemmEnabled() {
  int state = enabled.load(std::memory_order_relaxed);
  if (state < 0) {
    state = CpuHasAvx512() ? 1 : 0;
    enabled.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

bool SetFastSgemm(bool on) {
  const bool was = FastSgemmEnabled();
  enabled.store(on && CpuHasAvx512() ? 1 : 0, std::memory_order_relaxed);
  return was;
}

bool FastSgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (n > kMaxN || n < 1 || m < 1 || !FastSgemmEnabled()) return false;
  if (tb && m < 8) return false;  // packing Bᵀ would cost about as much as the product
  if (beta != 0.f && beta != 1.f) return false;
  const int64_t sm = ta ? 1 : lda, sk = ta ? lda : 1;
  if (k < 1) {
    if (beta == 0.f) {
      for (int64_t i = 0; i < m; i++) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
    }
    return true;
  }
  for (int64_t p0 = 0; p0 < k; p0 += kPanelK) {
    const int64_t kc = std::min(kPanelK, k - p0);
    const bool accumulate = beta != 0.f || p0 > 0;
    for (int64_t j0 = 0; j0 < n; j0 += 64) {
      const int64_t cols = std::min<int64_t>(64, n - j0);
      if (tb) {
        // Bᵀ's panel packed row-major: rows p0 … p0 + kc, columns j0 … j0 + cols.
        thread_local std::vector<float> packed;
        packed.resize(kc * 64);
        for (int64_t j = 0; j < cols; j++) {
          const float* src = b + (j0 + j) * ldb + p0;
          for (int64_t p = 0; p < kc; p++) packed[p * 64 + j] = src[p];
        }
        Columns(m, cols, kc, a + p0 * sk, sm, sk, packed.data(), 64, c + j0, ldc, accumulate);
      } else {
        Columns(m, cols, kc, a + p0 * sk, sm, sk, b + p0 * ldb + j0, ldb, c + j0, ldc, accumulate);
      }
    }
  }
  return true;
#else
  (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta;
  (void)c, (void)ldc;
  return false;
#endif
}

}  // namespace sculpt
