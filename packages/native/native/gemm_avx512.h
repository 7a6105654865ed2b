// sculpt's AVX-512 sgemm for narrow B (see gemm_avx512.cc).
#pragma once

#include <cstdint>

namespace sculpt {

// C = op(A)·op(B) + beta·C, row-major, op(A) m×k (A stored k×m when ta),
// op(B) k×n (B stored n×k when tb).
// Returns false, touching nothing, when it does not take the case (no
// AVX-512F, n above its limit, beta other than 0 or 1): the caller uses BLAS.
bool FastSgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Whether FastSgemm runs (the CPU has AVX-512F and it is switched on).
bool FastSgemmEnabled();

// Switches FastSgemm on or off (on only where the CPU has AVX-512F); returns the previous state.
bool SetFastSgemm(bool on);

}  // namespace sculpt
