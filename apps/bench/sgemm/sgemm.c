/*
 * The machine's limit for matMul 512: OpenBLAS's sgemm called directly from C,
 * with nothing between the caller and the BLAS (no tensors, no JavaScript, no
 * copies). sculpt's matMul512 workload is measured against it.
 *
 *   cc -O3 -fno-math-errno -fno-trapping-math -o sgemm sgemm.c -lopenblas && ./sgemm [n] [reps]
 *
 * (the optimisation flags and the -lopenblas of @sculpt/native's binding.gyp).
 * Prints one JSON line per thread count: the median and the best of `reps`
 * timed calls (after 5 warm-up calls) and the GFLOP/s each means (2·n³ flops
 * per call).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median and best milliseconds of `reps` calls of C = A·B on n×n row-major matrices. */
static double time_sgemm(int n, int reps, const float *a, const float *b, float *c, double *best) {
  double *ms = malloc(sizeof(double) * reps);
  for (int i = 0; i < 5; i++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  for (int i = 0; i < reps; i++) {
    double t0 = now_ms();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    ms[i] = now_ms() - t0;
  }
  qsort(ms, reps, sizeof(double), cmp);
  double median = ms[reps / 2];
  *best = ms[0];
  free(ms);
  return median;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 512;
  int reps = argc > 2 ? atoi(argv[2]) : 50;
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
  float *c = malloc(sizeof(float) * n * n);
  srand(0);
  for (int i = 0; i < n * n; i++) {
    a[i] = (float)rand() / RAND_MAX - 0.5f;
    b[i] = (float)rand() / RAND_MAX - 0.5f;
  }
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  for (int threads = 1; threads <= 2; threads++) {
    openblas_set_num_threads(threads);
    double best;
    double ms = time_sgemm(n, reps, a, b, c, &best);
    double flops = 2.0 * n * n * n;
    printf("{\"n\":%d,\"threads\":%d,\"ms\":%.4f,\"gflops\":%.1f,\"bestMs\":%.4f,\"bestGflops\":%.1f,"
           "\"core\":\"%s\",\"OPENBLAS_CORETYPE\":\"%s\"}\n",
           n, threads, ms, flops / (ms * 1e6), best, flops / (best * 1e6), openblas_get_corename(),
           coretype ? coretype : "");
  }
  free(a);
  free(b);
  free(c);
  return 0;
}
