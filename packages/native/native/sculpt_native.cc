// sculpt's native CPU kernels: matMul and 2D convolutions (forward, input and
// filter gradients) over OpenBLAS's sgemm, working in place on tensors that
// live in tfjs's wasm heap (a Float32Array over the WebAssembly memory).
//
// Every entry point takes the heap and float offsets into it, checks that each
// operand lies inside the heap, and writes only the output range. Convolutions
// are NHWC with HWIO filters (tfjs's layout): im2col of a chunk of output rows
// into a scratch buffer, one sgemm, and col2im for the input gradient.
#include <napi.h>
#include <cblas.h>
#include <immintrin.h>

#include "arg_reduce.h"
#include "gemm_avx512.h"
#include "fused_conv.h"
#include "thin_conv.h"
#include "upsample.h"
#include "style.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

struct Heap {
  float* data;
  size_t length;
};

Heap GetHeap(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (!info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "sculpt native: expected the wasm heap as a Float32Array");
  }
  Napi::Float32Array heap = info[index].As<Napi::Float32Array>();
  return {heap.Data(), heap.ElementLength()};
}

int64_t Int(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: argument " + std::to_string(index) +
                                               " must be a number");
  }
  return info[index].As<Napi::Number>().Int64Value();
}

double Num(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "sculpt native: argument " + std::to_string(index) +
                                               " must be a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

// Checks that [offset, offset + count) lies in the heap and returns its start.
float* Range(Napi::Env env, const Heap& heap, int64_t offset, int64_t count, const char* what) {
  if (offset < 0 || count < 0 || static_cast<uint64_t>(offset + count) > heap.length) {
    throw Napi::RangeError::New(
        env, std::string("sculpt native: ") + what + " [" + std::to_string(offset) + ", " +
                 std::to_string(offset + count) + ") lies outside the heap of " +
                 std::to_string(heap.length) + " floats");
  }
  return heap.data + offset;
}

// ------------------------------------------------------------------ threads

// A fixed pool of worker threads. Work is cut into chunks that the calling
// thread and the workers claim one at a time, so a worker that wakes late (the
// other core busy with another process) costs its share of the chunks, not a
// stall: the caller simply takes more. Workers sleep on a condition between
// tasks; a late worker that finds every chunk claimed goes back to sleep.
class Pool {
 public:
  explicit Pool(int threads) { Resize(threads); }
  ~Pool() { Stop(); }

  int Size() const { return static_cast<int>(workers_.size()) + 1; }

  void Resize(int threads) {
    Stop();
    stop_ = false;
    const uint64_t now = generation_;  // new workers wait for the next task, not the last
    for (int i = 1; i < threads; i++) workers_.emplace_back([this, now] { Work(now); });
  }

  // Runs fn(c) once for each c < chunks, on whichever thread claims it; returns when all are done.
  void Run(int64_t chunks, const std::function<void(int64_t)>& fn) {
    if (Size() == 1 || chunks <= 1) {
      for (int64_t c = 0; c < chunks; c++) fn(c);
      return;
    }
    auto task = std::make_shared<Task>();
    task->fn = &fn;
    task->chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = task;
      generation_++;
    }
    wake_.notify_all();
    Drain(*task);
    while (task->done.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
  }

 private:
  struct Task {
    const std::function<void(int64_t)>* fn = nullptr;  // valid while chunks remain unclaimed
    int64_t chunks = 0;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
  };

  static void Drain(Task& task) {
    for (;;) {
      const int64_t c = task.next.fetch_add(1, std::memory_order_relaxed);
      if (c >= task.chunks) return;
      (*task.fn)(c);
      task.done.fetch_add(1, std::memory_order_release);
    }
  }

  void Work(uint64_t seen) {
    for (;;) {
      std::shared_ptr<Task> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        task = task_;
      }
      Drain(*task);
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Task> task_;
  uint64_t generation_ = 0;  // guarded by mutex_
  bool stop_ = false;        // guarded by mutex_
};

Pool& ThePool() {
  static Pool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return pool;
}

// Elements below which a memory-bound loop stays on the calling thread: waking a
// worker costs ~10 µs, about what 256K elements take on one core.
constexpr int64_t kGrain = int64_t{1} << 18;

// Chunks per thread: enough that a late worker costs little, few enough that
// each chunk stays large.
constexpr int kChunksPerThread = 4;

// Runs fn(lo, hi) over [0, n) in chunks of at least `grain` (inline when n is small).
void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  Pool& pool = ThePool();
  if (pool.Size() == 1 || n < 2 * grain) return fn(0, n);
  const int64_t chunks = std::min<int64_t>(n / grain, kChunksPerThread * pool.Size());
  pool.Run(chunks, [&](int64_t c) { fn(n * c / chunks, n * (c + 1) / chunks); });
}

// Scratch space per thread, reused across calls.
float* Scratch(size_t floats) {
  thread_local std::vector<float> scratch;
  if (scratch.size() < floats) scratch.resize(floats);
  return scratch.data();
}

// Single-threaded sgemm (OpenBLAS runs on one thread; the pool splits the work).
inline void Sgemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (sculpt::FastSgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, 1.f, a, lda, b, ldb, beta, c, ldc);
}

// C = op(A)·op(B) + beta·C split over the pool along the longer of M and N.
void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const double flops = 2.0 * m * n * k;
  if (flops < 4e6) return Sgemm1(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  // Two chunks per thread: each chunk re-packs the other operand, so fewer and larger.
  const int64_t parts = 2 * ThePool().Size();
  if (m >= n) {
    ParallelFor(m, std::max<int64_t>(32, m / parts), [&](int64_t r0, int64_t r1) {
      Sgemm1(ta, tb, r1 - r0, n, k, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc,
             ldc);
    });
  } else {
    ParallelFor(n, std::max<int64_t>(32, n / parts), [&](int64_t c0, int64_t c1) {
      Sgemm1(ta, tb, m, c1 - c0, k, a, lda, tb ? b + c0 * ldb : b + c0, ldb, beta, c + c0, ldc);
    });
  }
}

// ---------------------------------------------------------------- activations

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kLeakyRelu = 4, kPrelu = 5, kSigmoid = 6 };

// out[r, c] = act(out[r, c] + bias[c or 0]) for r < rows, c < cols.
void Epilogue(float* out, int64_t rows, int64_t cols, const float* bias, int64_t biasLen,
              int act, float alpha, const float* prelu, int64_t preluLen) {
  for (int64_t r = 0; r < rows; r++) {
    float* row = out + r * cols;
    if (bias != nullptr) {
      if (biasLen == 1) {
        const float b = bias[0];
        for (int64_t c = 0; c < cols; c++) row[c] += b;
      } else {
        for (int64_t c = 0; c < cols; c++) row[c] += bias[c];
      }
    }
    switch (act) {
      case kLinear:
        break;
      case kRelu:
        for (int64_t c = 0; c < cols; c++) row[c] = row[c] > 0.f ? row[c] : 0.f;
        break;
      case kRelu6:
        for (int64_t c = 0; c < cols; c++) row[c] = std::min(6.f, std::max(0.f, row[c]));
        break;
      case kElu:
        for (int64_t c = 0; c < cols; c++) row[c] = row[c] > 0.f ? row[c] : std::expm1(row[c]);
        break;
      case kLeakyRelu:
        for (int64_t c = 0; c < cols; c++) row[c] = row[c] > 0.f ? row[c] : alpha * row[c];
        break;
      case kPrelu:
        for (int64_t c = 0; c < cols; c++) {
          const float a = preluLen == 1 ? prelu[0] : prelu[c];
          row[c] = row[c] > 0.f ? row[c] : a * row[c];
        }
        break;
      case kSigmoid:
        for (int64_t c = 0; c < cols; c++) row[c] = 1.f / (1.f + std::exp(-row[c]));
        break;
    }
  }
}

// epilogue(heap, outOff, rows, cols, biasOff|-1, biasLen, act, alpha, preluOff|-1, preluLen)
Napi::Value EpilogueJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t rows = Int(info, 2), cols = Int(info, 3);
  float* out = Range(env, heap, Int(info, 1), rows * cols, "output");
  const int64_t biasOff = Int(info, 4), biasLen = Int(info, 5);
  const float* bias = biasOff < 0 ? nullptr : Range(env, heap, biasOff, biasLen, "bias");
  const int act = static_cast<int>(Int(info, 6));
  const float alpha = static_cast<float>(Num(info, 7));
  const int64_t preluOff = Int(info, 8), preluLen = Int(info, 9);
  const float* prelu = preluOff < 0 ? nullptr : Range(env, heap, preluOff, preluLen, "prelu weights");
  if (act == kPrelu && prelu == nullptr) {
    throw Napi::TypeError::New(env, "sculpt native: prelu activation needs its weights");
  }
  ParallelFor(rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t lo, int64_t hi) {
    Epilogue(out + lo * cols, hi - lo, cols, bias, biasLen, act, alpha, prelu, preluLen);
  });
  return env.Undefined();
}

// ---------------------------------------------------------------------- gemm

// gemm(heap, transA, transB, m, n, k, aOff, bOff, cOff, beta, batch, strideA, strideB, strideC)
// C[i] = op(A[i]) · op(B[i]) + beta · C[i], row-major, op(A) m×k, op(B) k×n.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const bool ta = info[1].ToBoolean(), tb = info[2].ToBoolean();
  const int64_t m = Int(info, 3), n = Int(info, 4), k = Int(info, 5);
  const int64_t aOff = Int(info, 6), bOff = Int(info, 7), cOff = Int(info, 8);
  const float beta = static_cast<float>(Num(info, 9));
  const int64_t batch = Int(info, 10);
  const int64_t sa = Int(info, 11), sb = Int(info, 12), sc = Int(info, 13);
  const float* a = Range(env, heap, aOff, sa * (batch - 1) + m * k, "a");
  const float* b = Range(env, heap, bOff, sb * (batch - 1) + k * n, "b");
  float* c = Range(env, heap, cOff, sc * (batch - 1) + m * n, "output");
  if (batch >= 2 * ThePool().Size() && 2.0 * m * n * k * batch >= 4e6) {
    // Many products (attention heads): whole products per chunk.
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(1e6 / (2.0 * m * n * k)));
    ParallelFor(batch, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; i++) {
        Sgemm1(ta, tb, m, n, k, a + i * sa, ta ? m : k, b + i * sb, tb ? k : n, beta, c + i * sc, n);
      }
    });
  } else {
    for (int64_t i = 0; i < batch; i++) {
      Sgemm(ta, tb, m, n, k, a + i * sa, ta ? m : k, b + i * sb, tb ? k : n, beta, c + i * sc, n);
    }
  }
  return env.Undefined();
}

// ---------------------------------------------------------------- convolution

struct Conv {
  int64_t n, h, w, c;         // input NHWC
  int64_t kh, kw, co;         // filter HWIO: [kh, kw, c, co]
  int64_t sh, sw, dh, dw;     // strides, dilations
  int64_t pt, pl;             // padding top, left
  int64_t oh, ow;             // output spatial size
  int64_t Rows() const { return n * oh * ow; }
  int64_t Patch() const { return kh * kw * c; }
  bool Pointwise() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w;
  }
};

Conv GetConv(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (!info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[index].As<Napi::Int32Array>().ElementLength() != 15) {
    throw Napi::TypeError::New(env, "sculpt native: expected conv dims as an Int32Array(15)");
  }
  const int32_t* d = info[index].As<Napi::Int32Array>().Data();
  Conv v{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (v.n <= 0 || v.h <= 0 || v.w <= 0 || v.c <= 0 || v.kh <= 0 || v.kw <= 0 || v.co <= 0 ||
      v.sh <= 0 || v.sw <= 0 || v.dh <= 0 || v.dw <= 0 || v.oh <= 0 || v.ow <= 0) {
    throw Napi::RangeError::New(env, "sculpt native: conv dims must be positive");
  }
  return v;
}

// Rows per chunk so that one chunk of patches stays within ~4 MB.
int64_t ChunkRows(const Conv& v) {
  const int64_t budget = int64_t{1} << 20;  // floats (4 MB: measured best of 256 KB … 16 MB)
  return std::max<int64_t>(1, std::min(v.Rows(), budget / v.Patch()));
}

// cols[r - r0, (i·kw + j)·c + ch] = x[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, ch] (0 outside).
void Im2col(const Conv& v, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t patch = v.Patch();
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / (v.oh * v.ow), rem = r % (v.oh * v.ow);
    const int64_t y = rem / v.ow, z = rem % v.ow;
    float* dst = cols + (r - r0) * patch;
    for (int64_t i = 0; i < v.kh; i++) {
      const int64_t iy = y * v.sh - v.pt + i * v.dh;
      for (int64_t j = 0; j < v.kw; j++, dst += v.c) {
        const int64_t ix = z * v.sw - v.pl + j * v.dw;
        if (iy < 0 || iy >= v.h || ix < 0 || ix >= v.w) {
          std::memset(dst, 0, sizeof(float) * v.c);
        } else {
          std::memcpy(dst, x + ((b * v.h + iy) * v.w + ix) * v.c, sizeof(float) * v.c);
        }
      }
    }
  }
}

// dx[n, iy, ix, ch] += cols[...]: the adjoint of Im2col.
void Col2im(const Conv& v, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t patch = v.Patch();
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / (v.oh * v.ow), rem = r % (v.oh * v.ow);
    const int64_t y = rem / v.ow, z = rem % v.ow;
    const float* src = cols + (r - r0) * patch;
    for (int64_t i = 0; i < v.kh; i++) {
      const int64_t iy = y * v.sh - v.pt + i * v.dh;
      for (int64_t j = 0; j < v.kw; j++, src += v.c) {
        const int64_t ix = z * v.sw - v.pl + j * v.dw;
        if (iy < 0 || iy >= v.h || ix < 0 || ix >= v.w) continue;
        float* dst = dx + ((b * v.h + iy) * v.w + ix) * v.c;
        for (int64_t ch = 0; ch < v.c; ch++) dst[ch] += src[ch];
      }
    }
  }
}

// ------------------------------------------------------- thin convolutions

// A conv with one input channel (an image layer: c = 1) or one output channel
// (co = 1) is a matrix–vector product per output pixel: im2col would copy single
// floats (c = 1) or patches that one dot product then reads once (co = 1), and
// sgemm with a dimension of 1 runs at a fraction of its speed. These loops walk
// the taps directly: per tap, an axpy over the other channel dimension or one
// dot product, in the same order for every thread count.
// With one input channel and many outputs (a DCGAN critic's 1 → 64 first conv), sgemm's
// AVX2 kernels win again: measured faster than the taps from co = 64, slower at co = 16.
bool Thin(const Conv& v) { return v.co == 1 || (v.c == 1 && v.co <= 16); }

// Σ a[i]·b[i] with 8 independent sums, so the loop vectorises without -ffast-math.
inline float Dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
  }
  float total = 0.f;
  for (; i < n; i++) total += a[i] * b[i];
  for (int l = 0; l < 8; l++) total += acc[l];
  return total;
}

// y[i] += s · x[i].
inline void Axpy(float s, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += s * x[i];
}

// fn(tap, pixel) for every tap (tap = i·kw + j) of output row r that lands inside x; pixel
// indexes x's rows of c floats (b·h + iy)·w + ix.
template <typename F>
inline void ForTaps(const Conv& v, int64_t r, F&& fn) {
  const int64_t b = r / (v.oh * v.ow), rem = r % (v.oh * v.ow);
  const int64_t y = rem / v.ow, z = rem % v.ow;
  for (int64_t i = 0; i < v.kh; i++) {
    const int64_t iy = y * v.sh - v.pt + i * v.dh;
    if (iy < 0 || iy >= v.h) continue;
    for (int64_t j = 0; j < v.kw; j++) {
      const int64_t ix = z * v.sw - v.pl + j * v.dw;
      if (ix < 0 || ix >= v.w) continue;
      fn(i * v.kw + j, (b * v.h + iy) * v.w + ix);
    }
  }
}

// y rows r0..r1 of conv(x, w). With c or co = 1 the filter's tap t is w + t·c·co, [c] or [co].
void ThinForward(const Conv& v, const float* x, const float* w, float* y, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    float* yr = y + r * v.co;
    if (v.co == 1) {
      // 8 running sums over every tap, added up once per output
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      float tail = 0.f;
      ForTaps(v, r, [&](int64_t t, int64_t p) {
        const float *a = x + p * v.c, *b = w + t * v.c;
        int64_t i = 0;
        for (; i + 8 <= v.c; i += 8) {
          for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
        }
        for (; i < v.c; i++) tail += a[i] * b[i];
      });
      for (int l = 0; l < 8; l++) tail += acc[l];
      yr[0] = tail;
    } else {
      std::memset(yr, 0, sizeof(float) * v.co);
      ForTaps(v, r, [&](int64_t t, int64_t p) { Axpy(x[p], w + t * v.co, yr, v.co); });
    }
  }
}

// dx += convᵀ(dy, w) over output rows r0..r1 (dx zeroed by the caller).
void ThinBackpropInput(const Conv& v, const float* dy, const float* w, float* dx, int64_t r0,
                       int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const float* dyr = dy + r * v.co;
    if (v.co == 1) {
      ForTaps(v, r, [&](int64_t t, int64_t p) { Axpy(dyr[0], w + t * v.c, dx + p * v.c, v.c); });
    } else {
      ForTaps(v, r, [&](int64_t t, int64_t p) { dx[p] += Dot(dyr, w + t * v.co, v.co); });
    }
  }
}

// dw += Σ_r patch(x, r)ᵀ · dy[r] over output rows r0..r1.
void ThinBackpropFilter(const Conv& v, const float* x, const float* dy, float* dw, int64_t r0,
                        int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    if (v.co == 1) {
      const float g = dy[r];
      ForTaps(v, r, [&](int64_t t, int64_t p) { Axpy(g, x + p * v.c, dw + t * v.c, v.c); });
    } else {
      const float* dyr = dy + r * v.co;
      ForTaps(v, r, [&](int64_t t, int64_t p) { Axpy(x[p], dyr, dw + t * v.co, v.co); });
    }
  }
}

// ------------------------------------------------------ direct convolutions

// Convolutions with few output channels (co a multiple of 8, up to 32: a small
// generator's or VAE's 3×3 layers) through im2col + sgemm spend most of their
// time writing and re-reading the patch matrix (kh·kw copies of x) and run
// sgemm with N = co, where its packing is not repaid. These loops read x in
// place: per output pixel, co/8 AVX2 sums over the taps and input channels
// (an 8-wide broadcast of x times a row of the filter), a few pixels at once
// so that the FMAs do not wait on each other. Taps that fall outside x read a
// row of zeros. Compiled for AVX2 + FMA at the function level and used only
// where the CPU has both; elsewhere the im2col path runs.
bool HasAvx2Fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

bool HasAvx512();

// Output channels up to which the direct loops beat im2col + sgemm (measured at 16 … 128 on two
// threads): 32 with AVX2, where they are level with OpenBLAS's sgemm on one thread; with AVX-512,
// 128 against OpenBLAS's AVX2 sgemm but 32 against sculpt's AVX-512 sgemm (gemm_avx512.cc), which
// is level at 32 channels and 1.3–1.6× faster at 64 and 128 (one thread, CPU time).
int64_t DirectMaxCo() {
  if (!HasAvx512()) return 32;
  return sculpt::FastSgemmEnabled() ? 32 : 128;
}

bool Direct(const Conv& v) {
  return v.co % 8 == 0 && v.co <= DirectMaxCo() && !v.Pointwise() && HasAvx2Fma();
}

// n zero floats (per thread, grown on demand).
const float* Zeros(size_t n) {
  thread_local std::vector<float> zeros;
  if (zeros.size() < n) zeros.resize(n, 0.f);
  return zeros.data();
}

// xs[q] = the row of x (c floats) under filter column j for pixel z0 + q of an output line
// whose input row starts at `line`; `zeros` past z1 or outside x. False when all are zeros.
template <int P>
inline bool TapPixels(const Conv& v, const float* line, int64_t z0, int64_t z1, int64_t j,
                      const float* zeros, const float** xs) {
  bool any = false;
  for (int q = 0; q < P; q++) {
    const int64_t ix = (z0 + q) * v.sw - v.pl + j * v.dw;
    const bool in = z0 + q < z1 && ix >= 0 && ix < v.w;
    xs[q] = in ? line + ix * v.c : zeros;
    any = any || in;
  }
  return any;
}

// y[l, z0 : z0 + P, o0 : o0 + 8·CO8] for output line l = b·oh + y (pixels from z1 on are
// left out). Taps that fall outside x read `zeros`.
template <int CO8, int P>
__attribute__((target("avx2,fma"))) void DirectPixels(const Conv& v, const float* x,
                                                      const float* w, float* y, int64_t l,
                                                      int64_t z0, int64_t z1, int64_t o0,
                                                      const float* zeros) {
  const int64_t b = l / v.oh, oy = l % v.oh;
  __m256 acc[P][CO8];
  for (int q = 0; q < P; q++) {
    for (int k = 0; k < CO8; k++) acc[q][k] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < v.kh; i++) {
    const int64_t iy = oy * v.sh - v.pt + i * v.dh;
    if (iy < 0 || iy >= v.h) continue;
    const float* line = x + (b * v.h + iy) * v.w * v.c;
    for (int64_t j = 0; j < v.kw; j++) {
      const float* xs[P];
      if (!TapPixels<P>(v, line, z0, z1, j, zeros, xs)) continue;
      const float* wt = w + (i * v.kw + j) * v.c * v.co + o0;  // [c, co] from column o0
      for (int64_t ci = 0; ci < v.c; ci++, wt += v.co) {
        __m256 wv[CO8];
        for (int k = 0; k < CO8; k++) wv[k] = _mm256_loadu_ps(wt + 8 * k);
        for (int q = 0; q < P; q++) {
          const __m256 xv = _mm256_broadcast_ss(xs[q] + ci);
          for (int k = 0; k < CO8; k++) acc[q][k] = _mm256_fmadd_ps(xv, wv[k], acc[q][k]);
        }
      }
    }
  }
  float* out = y + (l * v.ow + z0) * v.co + o0;
  for (int q = 0; q < P && z0 + q < z1; q++) {
    for (int k = 0; k < CO8; k++) _mm256_storeu_ps(out + q * v.co + 8 * k, acc[q][k]);
  }
}

// y lines l0..l1, output channels o0 : o0 + 8·CO8, P pixels at a time along each line.
template <int CO8, int P>
void DirectBlock(const Conv& v, const float* x, const float* w, float* y, int64_t l0, int64_t l1,
                 int64_t o0, const float* zeros) {
  for (int64_t l = l0; l < l1; l++) {
    for (int64_t z = 0; z < v.ow; z += P) DirectPixels<CO8, P>(v, x, w, y, l, z, v.ow, o0, zeros);
  }
}

// The same loops 16 wide where the CPU has AVX-512 (sgemm stays on OpenBLAS's AVX2 kernels):
// output channels in blocks of 32 as two sums of 16 for 4 pixels, or one for 8.
// SCULPT_NATIVE_AVX512=0 in the environment keeps them on AVX2 (read per call: tests set it).
bool HasAvx512() {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  const char* env = std::getenv("SCULPT_NATIVE_AVX512");
  return cpu && !(env != nullptr && env[0] == '0');
}

template <int CO16, int P>
__attribute__((target("avx512f"))) void DirectPixels512(const Conv& v, const float* x,
                                                        const float* w, float* y, int64_t l,
                                                        int64_t z0, int64_t z1, int64_t o0,
                                                        const float* zeros) {
  const int64_t b = l / v.oh, oy = l % v.oh;
  __m512 acc[P][CO16];
  for (int q = 0; q < P; q++) {
    for (int k = 0; k < CO16; k++) acc[q][k] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < v.kh; i++) {
    const int64_t iy = oy * v.sh - v.pt + i * v.dh;
    if (iy < 0 || iy >= v.h) continue;
    const float* line = x + (b * v.h + iy) * v.w * v.c;
    for (int64_t j = 0; j < v.kw; j++) {
      const float* xs[P];
      if (!TapPixels<P>(v, line, z0, z1, j, zeros, xs)) continue;
      const float* wt = w + (i * v.kw + j) * v.c * v.co + o0;
      for (int64_t ci = 0; ci < v.c; ci++, wt += v.co) {
        __m512 wv[CO16];
        for (int k = 0; k < CO16; k++) wv[k] = _mm512_loadu_ps(wt + 16 * k);
        for (int q = 0; q < P; q++) {
          const __m512 xv = _mm512_set1_ps(xs[q][ci]);
          for (int k = 0; k < CO16; k++) acc[q][k] = _mm512_fmadd_ps(xv, wv[k], acc[q][k]);
        }
      }
    }
  }
  float* out = y + (l * v.ow + z0) * v.co + o0;
  for (int q = 0; q < P && z0 + q < z1; q++) {
    for (int k = 0; k < CO16; k++) _mm512_storeu_ps(out + q * v.co + 16 * k, acc[q][k]);
  }
}

template <int CO16, int P>
void DirectBlock512(const Conv& v, const float* x, const float* w, float* y, int64_t l0,
                    int64_t l1, int64_t o0, const float* zeros) {
  for (int64_t l = l0; l < l1; l++) {
    for (int64_t z = 0; z < v.ow; z += P) {
      DirectPixels512<CO16, P>(v, x, w, y, l, z, v.ow, o0, zeros);
    }
  }
}

template <int CO16, int CB>
__attribute__((target("avx512f"))) void DirectFilterSpan512(const float* xs, int64_t xstep,
                                                            const float* dys, int64_t dystep,
                                                            int64_t len, float* dw, int64_t co) {
  __m512 acc[CB][CO16];
  for (int cb = 0; cb < CB; cb++) {
    for (int k = 0; k < CO16; k++) acc[cb][k] = _mm512_loadu_ps(dw + cb * co + 16 * k);
  }
  for (int64_t z = 0; z < len; z++, xs += xstep, dys += dystep) {
    __m512 g[CO16];
    for (int k = 0; k < CO16; k++) g[k] = _mm512_loadu_ps(dys + 16 * k);
    for (int cb = 0; cb < CB; cb++) {
      const __m512 xv = _mm512_set1_ps(xs[cb]);
      for (int k = 0; k < CO16; k++) acc[cb][k] = _mm512_fmadd_ps(xv, g[k], acc[cb][k]);
    }
  }
  for (int cb = 0; cb < CB; cb++) {
    for (int k = 0; k < CO16; k++) _mm512_storeu_ps(dw + cb * co + 16 * k, acc[cb][k]);
  }
}

template <int CO16, int CB>
void DirectFilterChannels512(const Conv& v, const float* xs, const float* dys, int64_t len,
                             float* dwt) {
  const int64_t xstep = v.sw * v.c;
  int64_t ci = 0;
  for (; ci + CB <= v.c; ci += CB) {
    DirectFilterSpan512<CO16, CB>(xs + ci, xstep, dys, v.co, len, dwt + ci * v.co, v.co);
  }
  for (; ci < v.c; ci++) {
    DirectFilterSpan512<CO16, 1>(xs + ci, xstep, dys, v.co, len, dwt + ci * v.co, v.co);
  }
}

// y lines l0..l1 (line = b·oh + y) of conv(x, w), output channels in blocks of 32 and 16
// (AVX-512, where the CPU has it), then 16 and 8 (AVX2): two sums of 8 for 4 pixels measured
// faster than four for 2 pixels at co = 32.
void DirectForward(const Conv& v, const float* x, const float* w, float* y, int64_t l0,
                   int64_t l1) {
  const float* zeros = Zeros(v.c);
  int64_t o0 = 0;
  if (HasAvx512()) {
    for (; o0 + 32 <= v.co; o0 += 32) DirectBlock512<2, 4>(v, x, w, y, l0, l1, o0, zeros);
    if (o0 + 16 <= v.co) {
      DirectBlock512<1, 8>(v, x, w, y, l0, l1, o0, zeros);
      o0 += 16;
    }
  }
  for (; o0 + 16 <= v.co; o0 += 16) DirectBlock<2, 4>(v, x, w, y, l0, l1, o0, zeros);
  if (o0 < v.co) DirectBlock<1, 8>(v, x, w, y, l0, l1, o0, zeros);
}

// Smallest z with z·s + off ≥ bound (off, bound may be negative), clamped to [0, limit].
inline int64_t FirstAtLeast(int64_t bound, int64_t off, int64_t s, int64_t limit) {
  const int64_t need = bound - off;
  const int64_t z = need <= 0 ? 0 : (need + s - 1) / s;
  return std::min(z, limit);
}

// dw[t, ci0 : ci0 + CB, o0 : o0 + 8·CO8] += Σ_z x[.., ci]·dy[.., o] along one output line
// (image b, output row y) for tap (i, j): x and dy advance by sw·c and co floats per pixel.
template <int CO8, int CB>
__attribute__((target("avx2,fma"))) void DirectFilterSpan(const float* xs, int64_t xstep,
                                                          const float* dys, int64_t dystep,
                                                          int64_t len, float* dw, int64_t co) {
  __m256 acc[CB][CO8];
  for (int cb = 0; cb < CB; cb++) {
    for (int k = 0; k < CO8; k++) acc[cb][k] = _mm256_loadu_ps(dw + cb * co + 8 * k);
  }
  for (int64_t z = 0; z < len; z++, xs += xstep, dys += dystep) {
    __m256 g[CO8];
    for (int k = 0; k < CO8; k++) g[k] = _mm256_loadu_ps(dys + 8 * k);
    for (int cb = 0; cb < CB; cb++) {
      const __m256 xv = _mm256_broadcast_ss(xs + cb);
      for (int k = 0; k < CO8; k++) acc[cb][k] = _mm256_fmadd_ps(xv, g[k], acc[cb][k]);
    }
  }
  for (int cb = 0; cb < CB; cb++) {
    for (int k = 0; k < CO8; k++) _mm256_storeu_ps(dw + cb * co + 8 * k, acc[cb][k]);
  }
}

// All input channels of one span, output channels o0 : o0 + 8·CO8, CB at a time (then one).
template <int CO8, int CB>
void DirectFilterChannels(const Conv& v, const float* xs, const float* dys, int64_t len,
                          float* dwt) {
  const int64_t xstep = v.sw * v.c;
  int64_t ci = 0;
  for (; ci + CB <= v.c; ci += CB) {
    DirectFilterSpan<CO8, CB>(xs + ci, xstep, dys, v.co, len, dwt + ci * v.co, v.co);
  }
  for (; ci < v.c; ci++) DirectFilterSpan<CO8, 1>(xs + ci, xstep, dys, v.co, len, dwt + ci * v.co, v.co);
}

// One tap's dw [c] += Σ_z dy[z]·x[z, :] along a span, for one output channel and c = 16k
// (DirectDot): four sums over z per 16 channels, added at the end.
__attribute__((target("avx512f"))) void DotFilterSpan512(const float* xs, int64_t xstep,
                                                         const float* dys, int64_t len,
                                                         float* dwt, int64_t c) {
  for (int64_t ci = 0; ci < c; ci += 16) {
    const float* xp = xs + ci;
    __m512 a[4] = {_mm512_loadu_ps(dwt + ci), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
    int64_t z = 0;
    for (; z + 4 <= len; z += 4) {
      for (int u = 0; u < 4; u++) {
        a[u] = _mm512_fmadd_ps(_mm512_set1_ps(dys[z + u]), _mm512_loadu_ps(xp + (z + u) * xstep),
                               a[u]);
      }
    }
    for (; z < len; z++) {
      a[0] = _mm512_fmadd_ps(_mm512_set1_ps(dys[z]), _mm512_loadu_ps(xp + z * xstep), a[0]);
    }
    _mm512_storeu_ps(dwt + ci, _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
  }
}

// One tap's dw [c, co] += the span's patchesᵀ · dy, output channels in blocks of 32 and 16
// (AVX-512, where the CPU has it), then 16 and 8 (AVX2).
void DirectFilterTap(const Conv& v, const float* xs, const float* dys, int64_t len, float* dwt) {
  if (v.co == 1) return DotFilterSpan512(xs, v.sw * v.c, dys, len, dwt, v.c);
  int64_t o0 = 0;
  if (HasAvx512()) {
    for (; o0 + 32 <= v.co; o0 += 32) DirectFilterChannels512<2, 4>(v, xs, dys + o0, len, dwt + o0);
    if (o0 + 16 <= v.co) {
      DirectFilterChannels512<1, 8>(v, xs, dys + o0, len, dwt + o0);
      o0 += 16;
    }
  }
  for (; o0 + 16 <= v.co; o0 += 16) DirectFilterChannels<2, 4>(v, xs, dys + o0, len, dwt + o0);
  if (o0 < v.co) DirectFilterChannels<1, 8>(v, xs, dys + o0, len, dwt + o0);
}

// dw += Σ patches(x)ᵀ · dy over output lines l0..l1 (line = b·oh + y), dw [kh, kw, c, co].
void DirectFilterLines(const Conv& v, const float* x, const float* dy, float* dw, int64_t l0,
                       int64_t l1) {
  for (int64_t l = l0; l < l1; l++) {
    const int64_t b = l / v.oh, y = l % v.oh;
    for (int64_t i = 0; i < v.kh; i++) {
      const int64_t iy = y * v.sh - v.pt + i * v.dh;
      if (iy < 0 || iy >= v.h) continue;
      for (int64_t j = 0; j < v.kw; j++) {
        const int64_t off = j * v.dw - v.pl;  // ix = z·sw + off
        const int64_t z0 = FirstAtLeast(0, off, v.sw, v.ow);
        const int64_t z1 = FirstAtLeast(v.w, off, v.sw, v.ow);
        if (z1 <= z0) continue;
        const float* xs = x + ((b * v.h + iy) * v.w + z0 * v.sw + off) * v.c;
        const float* dys = dy + (l * v.ow + z0) * v.co;
        DirectFilterTap(v, xs, dys, z1 - z0, dw + (i * v.kw + j) * v.c * v.co);
      }
    }
  }
}

// One output channel from c = 16k inputs (an image decoder's last 3×3 conv): per output pixel,
// a 16-wide sum over the taps and input channels, 4 pixels at a time, then one horizontal add.
// AVX-512 only; the thin loops above run elsewhere.
bool DirectDot(const Conv& v) { return v.co == 1 && v.c % 16 == 0 && HasAvx512(); }

// The sum of a's 16 lanes (halves, then quarters; GCC 12's _mm512_reduce_add_ps warns).
__attribute__((target("avx512f"))) inline float Sum16(__m512 a) {
  alignas(64) float t[16];
  _mm512_store_ps(t, a);
  const __m256 s8 = _mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1)));
}

template <int P>
__attribute__((target("avx512f"))) void DotPixels512(const Conv& v, const float* x,
                                                     const float* w, float* y, int64_t l,
                                                     int64_t z0, int64_t z1, const float* zeros) {
  const int64_t b = l / v.oh, oy = l % v.oh;
  __m512 acc[P];
  for (int q = 0; q < P; q++) acc[q] = _mm512_setzero_ps();
  for (int64_t i = 0; i < v.kh; i++) {
    const int64_t iy = oy * v.sh - v.pt + i * v.dh;
    if (iy < 0 || iy >= v.h) continue;
    const float* line = x + (b * v.h + iy) * v.w * v.c;
    for (int64_t j = 0; j < v.kw; j++) {
      const float* xs[P];
      if (!TapPixels<P>(v, line, z0, z1, j, zeros, xs)) continue;
      const float* wt = w + (i * v.kw + j) * v.c;  // [c]
      for (int64_t ci = 0; ci < v.c; ci += 16) {
        const __m512 wv = _mm512_loadu_ps(wt + ci);
        for (int q = 0; q < P; q++) {
          acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(xs[q] + ci), wv, acc[q]);
        }
      }
    }
  }
  for (int q = 0; q < P && z0 + q < z1; q++) y[l * v.ow + z0 + q] = Sum16(acc[q]);
}

sculpt::ConvDims Dims(const Conv& v) {
  return {v.n, v.h, v.w, v.c, v.kh, v.kw, v.co, v.sh, v.sw, v.dh, v.dw, v.pt, v.pl, v.oh, v.ow};
}

// y lines l0..l1 of a conv with one output channel (DirectDot): each line's interior through
// thin_conv.cc's 16-pixel blocks where it is wide enough, its edge pixels (and narrow lines) here.
void DotForward(const Conv& v, const float* x, const float* w, float* y, int64_t l0, int64_t l1) {
  const float* zeros = Zeros(v.c);
  const sculpt::ConvDims d = Dims(v);
  int64_t zlo = 0, zhi = 0;
  if (sculpt::DotFits(d)) sculpt::InteriorSpan(d, &zlo, &zhi);
  for (int64_t l = l0; l < l1; l++) {
    if (zhi > zlo) sculpt::DotInterior(d, x, w, y, l, zlo, zhi);
    if (zhi == zlo) {
      for (int64_t z = 0; z < v.ow; z += 4) DotPixels512<4>(v, x, w, y, l, z, v.ow, zeros);
      continue;
    }
    // one or two edge pixels per line: one at a time (a block of 4 would compute 3 for nothing)
    for (int64_t z = 0; z < zlo; z++) DotPixels512<1>(v, x, w, y, l, z, z + 1, zeros);
    for (int64_t z = zhi; z < v.ow; z++) DotPixels512<1>(v, x, w, y, l, z, z + 1, zeros);
  }
}

// y lines l0..l1 of a conv with one input channel and 16 or 32 outputs (SpreadFits): the
// interior through thin_conv.cc, the edge pixels through the direct loops one at a time.
void SpreadForward(const Conv& v, const float* x, const float* w, float* y, int64_t l0,
                   int64_t l1) {
  const float* zeros = Zeros(v.c);
  const sculpt::ConvDims d = Dims(v);
  int64_t zlo, zhi;
  sculpt::InteriorSpan(d, &zlo, &zhi);
  const auto edge = v.co == 16 ? DirectPixels512<1, 1> : DirectPixels512<2, 1>;
  for (int64_t l = l0; l < l1; l++) {
    sculpt::SpreadInterior(d, x, w, y, l, zlo, zhi);
    for (int64_t z = 0; z < zlo; z++) edge(v, x, w, y, l, z, z + 1, 0, zeros);
    for (int64_t z = zhi; z < v.ow; z++) edge(v, x, w, y, l, z, z + 1, 0, zeros);
  }
}

// dw = Σ patches(x)ᵀ · dy by the direct loops: the output lines (b, y) are split over the
// pool, each part summing into its own copy of dw; the copies are added at the end.
void DirectBackpropFilter(const Conv& v, const float* x, const float* dy, float* dw) {
  const int64_t size = v.Patch() * v.co, lines = v.n * v.oh;
  const int64_t parts =
      v.Rows() >= 256 ? std::min<int64_t>(lines, 2 * ThePool().Size()) : 1;
  std::vector<std::vector<float>> partial(parts - 1, std::vector<float>(size, 0.f));
  std::memset(dw, 0, sizeof(float) * size);
  const bool tapSums = HasAvx512() && sculpt::TapSumsFit(Dims(v));
  ThePool().Run(parts, [&](int64_t part) {
    float* acc = part == 0 ? dw : partial[part - 1].data();
    const int64_t l0 = lines * part / parts, l1 = lines * (part + 1) / parts;
    if (tapSums) return sculpt::TapSumsLines(Dims(v), x, dy, acc, l0, l1);
    DirectFilterLines(v, x, dy, acc, l0, l1);
  });
  for (const auto& p : partial) {
    for (int64_t i = 0; i < size; i++) dw[i] += p[i];
  }
}

// y = conv(x, w): output rows are split over the pool; each thread packs its own chunks of
// patches and multiplies them (or walks the taps directly for a thin conv).
void ForwardConv(const Conv& v, const float* x, const float* w, float* y) {
  if (v.Pointwise()) {
    return Sgemm(false, false, v.Rows(), v.co, v.c, x, v.c, w, v.co, 0.f, y, v.co);
  }
  if (HasAvx512() && sculpt::SpreadFits(Dims(v))) {
    const int64_t grain = std::max<int64_t>(1, kGrain / (v.Patch() * v.co * v.ow));
    return ParallelFor(v.n * v.oh, grain,
                       [&](int64_t l0, int64_t l1) { SpreadForward(v, x, w, y, l0, l1); });
  }
  if (Direct(v)) {
    const int64_t grain = std::max<int64_t>(1, kGrain / (v.Patch() * v.co * v.ow));
    return ParallelFor(v.n * v.oh, grain,
                       [&](int64_t l0, int64_t l1) { DirectForward(v, x, w, y, l0, l1); });
  }
  if (DirectDot(v)) {
    const int64_t grain = std::max<int64_t>(1, kGrain / (v.Patch() * v.ow));
    return ParallelFor(v.n * v.oh, grain,
                       [&](int64_t l0, int64_t l1) { DotForward(v, x, w, y, l0, l1); });
  }
  if (Thin(v)) {
    return ParallelFor(v.Rows(), std::max<int64_t>(64, kGrain / (v.Patch() * v.co)),
                       [&](int64_t lo, int64_t hi) { ThinForward(v, x, w, y, lo, hi); });
  }
  const int64_t chunk = ChunkRows(v);
  ParallelFor(v.Rows(), 64, [&](int64_t lo, int64_t hi) {
    float* cols = Scratch(std::min(chunk, hi - lo) * v.Patch());
    for (int64_t r0 = lo; r0 < hi; r0 += chunk) {
      const int64_t r1 = std::min(hi, r0 + chunk);
      Im2col(v, x, r0, r1, cols);
      Sgemm1(false, false, r1 - r0, v.co, v.Patch(), cols, v.Patch(), w, v.co, 0.f,
             y + r0 * v.co, v.co);
    }
  });
}

// conv2d(heap, xOff, wOff, yOff, dims): y = conv(x, w).
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const Conv v = GetConv(info, 4);
  const float* x = Range(env, heap, Int(info, 1), v.n * v.h * v.w * v.c, "x");
  const float* w = Range(env, heap, Int(info, 2), v.Patch() * v.co, "filter");
  float* y = Range(env, heap, Int(info, 3), v.Rows() * v.co, "output");
  ForwardConv(v, x, w, y);
  return env.Undefined();
}

// The input gradient of a stride-1, undilated conv as one forward conv over dy, whose
// im2col product has K = kh·kw·co (sgemm + col2im would multiply with K = co):
// dx[b, y, x, ci] = Σ_{i,j,o} dy[b, y + pt − i, x + pl − j, o] · w[i, j, ci, o]
//                = conv(dy, w′) with w′[i′, j′, o, ci] = w[kh−1−i′, kw−1−j′, ci, o] and
// padding kh−1−pt (top), kw−1−pl (left).
void BackpropInputAsConv(const Conv& v, const float* dy, const float* w, float* dx) {
  std::vector<float> flipped(v.Patch() * v.co);
  for (int64_t i = 0; i < v.kh; i++) {
    for (int64_t j = 0; j < v.kw; j++) {
      const float* src = w + ((v.kh - 1 - i) * v.kw + (v.kw - 1 - j)) * v.c * v.co;  // [c, co]
      float* dst = flipped.data() + (i * v.kw + j) * v.co * v.c;                      // [co, c]
      for (int64_t ci = 0; ci < v.c; ci++) {
        for (int64_t o = 0; o < v.co; o++) dst[o * v.c + ci] = src[ci * v.co + o];
      }
    }
  }
  const Conv t{v.n, v.oh, v.ow, v.co, v.kh, v.kw, v.c, 1, 1, 1, 1,
               v.kh - 1 - v.pt, v.kw - 1 - v.pl, v.h, v.w};
  ForwardConv(t, dy, flipped.data(), dx);
}

// conv2dBackpropInput(heap, dyOff, wOff, dxOff, dims): dx = convᵀ(dy, w). Images are split
// over the pool (patches of one image overlap in dx; of two images, never).
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const Conv v = GetConv(info, 4);
  const float* dy = Range(env, heap, Int(info, 1), v.Rows() * v.co, "dy");
  const float* w = Range(env, heap, Int(info, 2), v.Patch() * v.co, "filter");
  float* dx = Range(env, heap, Int(info, 3), v.n * v.h * v.w * v.c, "output");
  if (v.Pointwise()) {
    Sgemm(false, true, v.Rows(), v.c, v.co, dy, v.co, w, v.co, 0.f, dx, v.c);
    return env.Undefined();
  }
  // A thin conv too when the forward conv over dy (c outputs) takes the direct loops.
  const bool directOverDy = v.c % 8 == 0 && v.c <= DirectMaxCo() && HasAvx2Fma();
  if ((!Thin(v) || directOverDy) && v.sh == 1 && v.sw == 1 && v.dh == 1 && v.dw == 1) {
    BackpropInputAsConv(v, dy, w, dx);
    return env.Undefined();
  }
  const int64_t image = v.oh * v.ow, pixels = v.h * v.w * v.c;
  const int64_t chunk = ChunkRows(v);
  auto images = [&](int64_t b0, int64_t b1) {
    std::memset(dx + b0 * pixels, 0, sizeof(float) * (b1 - b0) * pixels);
    const int64_t lo = b0 * image, hi = b1 * image;
    if (Thin(v)) return ThinBackpropInput(v, dy, w, dx, lo, hi);
    float* cols = Scratch(std::min(chunk, hi - lo) * v.Patch());
    for (int64_t r0 = lo; r0 < hi; r0 += chunk) {
      const int64_t r1 = std::min(hi, r0 + chunk);
      Sgemm1(false, true, r1 - r0, v.Patch(), v.co, dy + r0 * v.co, v.co, w, v.co, 0.f, cols,
             v.Patch());
      Col2im(v, cols, r0, r1, dx);
    }
  };
  if (v.n == 1) {
    images(0, 1);  // one image: its rows overlap, so one thread (sgemm itself is the bulk)
  } else {
    ParallelFor(v.n, 2, images);
  }
  return env.Undefined();
}

// conv2dBackpropFilter(heap, xOff, dyOff, dwOff, dims): dw = Σ patches(x)ᵀ · dy. Each
// chunk sums over its share of the output rows; the partial sums are added at the end.
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const Conv v = GetConv(info, 4);
  const float* x = Range(env, heap, Int(info, 1), v.n * v.h * v.w * v.c, "x");
  const float* dy = Range(env, heap, Int(info, 2), v.Rows() * v.co, "dy");
  float* dw = Range(env, heap, Int(info, 3), v.Patch() * v.co, "output");
  if (Direct(v) || DirectDot(v)) {
    DirectBackpropFilter(v, x, dy, dw);
    return env.Undefined();
  }
  const int64_t size = v.Patch() * v.co;
  const int64_t chunk = ChunkRows(v);
  const int64_t parts = v.Rows() >= 256 ? std::min<int64_t>(v.Rows() / 128, 2 * ThePool().Size()) : 1;
  std::vector<std::vector<float>> partial(parts - 1, std::vector<float>(size));
  auto rows = [&](int64_t part, int64_t lo, int64_t hi) {
    float* acc = part == 0 ? dw : partial[part - 1].data();
    if (lo == hi) {
      std::memset(acc, 0, sizeof(float) * size);
      return;
    }
    if (Thin(v)) {
      std::memset(acc, 0, sizeof(float) * size);
      return ThinBackpropFilter(v, x, dy, acc, lo, hi);
    }
    if (v.Pointwise()) {
      Sgemm1(true, false, v.c, v.co, hi - lo, x + lo * v.c, v.c, dy + lo * v.co, v.co, 0.f, acc,
             v.co);
      return;
    }
    float* cols = Scratch(std::min(chunk, hi - lo) * v.Patch());
    for (int64_t r0 = lo; r0 < hi; r0 += chunk) {
      const int64_t r1 = std::min(hi, r0 + chunk);
      Im2col(v, x, r0, r1, cols);
      Sgemm1(true, false, v.Patch(), v.co, r1 - r0, cols, v.Patch(), dy + r0 * v.co, v.co,
             r0 == lo ? 0.f : 1.f, acc, v.co);
    }
  };
  if (parts == 1) {
    rows(0, 0, v.Rows());
  } else {
    ThePool().Run(parts, [&](int64_t part) {
      rows(part, v.Rows() * part / parts, v.Rows() * (part + 1) / parts);
    });
    for (const auto& p : partial) {
      for (int64_t i = 0; i < size; i++) dw[i] += p[i];
    }
  }
  return env.Undefined();
}

// ------------------------------------------------------------- elementwise


enum UnaryOp {
  kUSqrt = 0,
  kURsqrt = 1,
  kUSquare = 2,
  kUNeg = 3,
  kUAbs = 4,
  kURelu = 5,
  kUSigmoid = 6,
  kUTanh = 7,
  kULeakyRelu = 8,
  kUSoftplus = 9,
  kUExp = 10,
};

// e^x for float32 without a libm call, so loops over it vectorise: x = k·ln2 + r with
// |r| ≤ ln2/2, e^r from Cephes' expf polynomial (relative error ~2e-7), 2^k from the
// exponent bits. Inputs are clamped to ±88.376 (e^x stays finite; e^−88.4 → ~0).
inline float FastExp(float x) {
  x = std::min(88.3762626647949f, std::max(-88.3762626647949f, x));
  const float fx = x * 1.44269504088896341f;
  // Round to nearest without a branch (so the loop vectorises): fx + 128.5 > 0, truncation floors.
  const int32_t k = static_cast<int32_t>(fx + 128.5f) - 128;
  const float kf = static_cast<float>(k);
  const float r = x - kf * 0.693359375f + kf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  int32_t bits = (k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// ln x for finite x > 0 without a libm call (Cephes' logf: x = m·2^e with m in
// [√½, √2), a degree-9 polynomial in m − 1; relative error ~2e-7).
inline float FastLog(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  bits = (bits & 0x007fffff) | 0x3f000000;  // m in [0.5, 1)
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const bool small = m < 0.707106781186547524f;
  e -= small ? 1 : 0;
  m = small ? m + m - 1.f : m - 1.f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  const float ef = static_cast<float>(e);
  float y = m * z * p + ef * -2.12194440e-4f - 0.5f * z;
  return m + y + ef * 0.693359375f;
}

// tfjs's softplus: e^x below ln(ε)+2, x above −(ln(ε)+2), ln(1 + e^x) between.
inline float Softplus(float v) {
  const float threshold = -13.942385152878742f;  // ln(1.1920929e-7) + 2
  const float ex = FastExp(v);
  const float mid = FastLog(1.f + ex);
  return v < threshold ? ex : v > -threshold ? v : mid;
}

template <int Op>
void UnaryLoop(const float* x, float* out, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    if (Op == kUSigmoid) out[i] = 1.f / (1.f + FastExp(-v));
    if (Op == kUTanh) out[i] = 2.f / (1.f + FastExp(-2.f * v)) - 1.f;
    if (Op == kULeakyRelu) out[i] = v > 0.f ? v : alpha * v;
    if (Op == kUSoftplus) out[i] = Softplus(v);
    if (Op == kUExp) out[i] = FastExp(v);
    if (Op == kUSqrt) out[i] = std::sqrt(v);
    if (Op == kURsqrt) out[i] = 1.f / std::sqrt(v);
    if (Op == kUSquare) out[i] = v * v;
    if (Op == kUNeg) out[i] = -v;
    if (Op == kUAbs) out[i] = std::fabs(v);
    if (Op == kURelu) out[i] = v > 0.f ? v : 0.f;
  }
}

// The transcendental loops again with AVX2 where the CPU has it (8 lanes, no FMA: the same
// roundings as the SSE2 build), chosen at load time; the default clone is the SSE2 loop.
__attribute__((target_clones("avx2", "default")))
void TranscendentalLoop(int op, const float* x, float* out, int64_t n) {
  if (op == kUSoftplus) UnaryLoop<kUSoftplus>(x, out, n, 0.f);
  if (op == kUSigmoid) UnaryLoop<kUSigmoid>(x, out, n, 0.f);
  if (op == kUExp) UnaryLoop<kUExp>(x, out, n, 0.f);
  if (op == kUTanh) UnaryLoop<kUTanh>(x, out, n, 0.f);
}

// unary(heap, op, xOff, outOff, n, alpha)
Napi::Value UnaryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int op = static_cast<int>(Int(info, 1));
  const int64_t n = Int(info, 4);
  const float alpha = static_cast<float>(Num(info, 5));
  const float* x = Range(env, heap, Int(info, 2), n, "x");
  float* out = Range(env, heap, Int(info, 3), n, "output");
  const bool transcendental = op == kUSoftplus || op == kUSigmoid || op == kUExp || op == kUTanh;
  // ~20 flops an element: worth a worker from 16K elements (a copy-like op from 256K).
  ParallelFor(n, transcendental ? kGrain / 16 : kGrain, [&](int64_t lo, int64_t hi) {
    if (transcendental) return TranscendentalLoop(op, x + lo, out + lo, hi - lo);
    switch (op) {
      case kUSqrt: UnaryLoop<kUSqrt>(x + lo, out + lo, hi - lo, alpha); break;
      case kURsqrt: UnaryLoop<kURsqrt>(x + lo, out + lo, hi - lo, alpha); break;
      case kUSquare: UnaryLoop<kUSquare>(x + lo, out + lo, hi - lo, alpha); break;
      case kUNeg: UnaryLoop<kUNeg>(x + lo, out + lo, hi - lo, alpha); break;
      case kUAbs: UnaryLoop<kUAbs>(x + lo, out + lo, hi - lo, alpha); break;
      case kURelu: UnaryLoop<kURelu>(x + lo, out + lo, hi - lo, alpha); break;
      case kUSigmoid: UnaryLoop<kUSigmoid>(x + lo, out + lo, hi - lo, alpha); break;
      case kUTanh: UnaryLoop<kUTanh>(x + lo, out + lo, hi - lo, alpha); break;
      case kULeakyRelu: UnaryLoop<kULeakyRelu>(x + lo, out + lo, hi - lo, alpha); break;
      case kUSoftplus: UnaryLoop<kUSoftplus>(x + lo, out + lo, hi - lo, alpha); break;
      case kUExp: UnaryLoop<kUExp>(x + lo, out + lo, hi - lo, alpha); break;
    }
  });
  return env.Undefined();
}

// ------------------------------------------------------------- fused LayerNorm

// The mean of row xr [cols] (into *mean) and 1/√(var + ε), var the mean squared deviation.
inline float RowInvStd(const float* xr, int64_t cols, float eps, float* mean) {
  float sum = 0.f;
  for (int64_t c = 0; c < cols; c++) sum += xr[c];
  const float m = sum / static_cast<float>(cols);
  float squares = 0.f;
  for (int64_t c = 0; c < cols; c++) squares += (xr[c] - m) * (xr[c] - m);
  *mean = m;
  return 1.f / std::sqrt(squares / static_cast<float>(cols) + eps);
}

// LayerNorm over the last axis of x [rows, cols] in one pass per row (tfjs's
// moments: mean, then the mean of squared deviations): y = x̂·γ (+ β),
// x̂ = (x − mean)·inv, inv = 1/√(var + ε). x̂ and inv are what the gradient needs.
// layerNorm(heap, xOff, gOff, bOff (−1: no β), yOff, xhatOff, invOff, rows, cols, eps)
Napi::Value LayerNormJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t rows = Int(info, 7);
  const int64_t cols = Int(info, 8);
  const float eps = static_cast<float>(Num(info, 9));
  const float* x = Range(env, heap, Int(info, 1), rows * cols, "x");
  const float* g = Range(env, heap, Int(info, 2), cols, "gamma");
  const int64_t bOff = Int(info, 3);
  const float* b = bOff < 0 ? nullptr : Range(env, heap, bOff, cols, "beta");
  float* y = Range(env, heap, Int(info, 4), rows * cols, "output");
  float* xhat = Range(env, heap, Int(info, 5), rows * cols, "xhat");
  float* inv = Range(env, heap, Int(info, 6), rows, "inv");
  ParallelFor(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, cols)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* xr = x + r * cols;
      float mean;
      const float iv = RowInvStd(xr, cols, eps, &mean);
      inv[r] = iv;
      float* hr = xhat + r * cols;
      float* yr = y + r * cols;
      for (int64_t c = 0; c < cols; c++) {
        hr[c] = (xr[c] - mean) * iv;
        yr[c] = hr[c] * g[c] + (b ? b[c] : 0.f);
      }
    }
  });
  return env.Undefined();
}

// ------------------------------------------------------------- fused GELU

// GELU, tanh approximation (GPT-2's): t = tanh(√(2/π)(x + 0.044715x³)),
// y = ½x(1 + t); t is what the gradient needs.
// gelu(heap, xOff, yOff, tOff, n)
Napi::Value GeluJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t n = Int(info, 4);
  const float* x = Range(env, heap, Int(info, 1), n, "x");
  float* y = Range(env, heap, Int(info, 2), n, "output");
  float* t = Range(env, heap, Int(info, 3), n, "tanh");
  const float k = 0.7978845608028654f;  // √(2/π)
  ParallelFor(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const float v = x[i];
      const float u = v * (v * v * (0.044715f * k) + k);
      const float th = 2.f / (1.f + FastExp(-2.f * u)) - 1.f;
      t[i] = th;
      y[i] = 0.5f * v * (1.f + th);
    }
  });
  return env.Undefined();
}

// ------------------------------------------------------- fused cached attention

// One decoding step of multi-head attention, one new token per sequence: for
// each sequence b and head h, with q, k, v the new token's [D] slices of qkv:
//   k' = [kCache; k], v' = [vCache; v]            [P + 1, D] (the grown caches)
//   y[h·D …] = softmax(q·k'ᵀ / √D) · v'            [D]
// (q scaled first, as the tfjs ops do). Replaces the split, transposes, cache
// concats, score product, softmax, weighted sum and head merge (~12 calls).
void AttendOne(const float* qkv, const float* kc, const float* vc, float* y, float* ko, float* vo,
               int64_t heads, int64_t past, int64_t d, int64_t h, float* scores) {
  const int64_t c = heads * d, s = past + 1;
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
  const float* q = qkv + h * d;
  float* kh = ko + h * s * d;
  float* vh = vo + h * s * d;
  if (past > 0) {
    std::memcpy(kh, kc + h * past * d, sizeof(float) * past * d);
    std::memcpy(vh, vc + h * past * d, sizeof(float) * past * d);
  }
  std::memcpy(kh + past * d, qkv + c + h * d, sizeof(float) * d);
  std::memcpy(vh + past * d, qkv + 2 * c + h * d, sizeof(float) * d);
  float top = -INFINITY;
  for (int64_t j = 0; j < s; j++) {
    const float* kj = kh + j * d;
    float dot = 0.f;
    for (int64_t i = 0; i < d; i++) dot += (q[i] * scale) * kj[i];
    scores[j] = dot;
    top = std::max(top, dot);
  }
  float total = 0.f;
  for (int64_t j = 0; j < s; j++) {
    scores[j] = std::exp(scores[j] - top);
    total += scores[j];
  }
  float* yh = y + h * d;
  for (int64_t i = 0; i < d; i++) yh[i] = 0.f;
  for (int64_t j = 0; j < s; j++) {
    const float p = scores[j] / total;
    const float* vj = vh + j * d;
    for (int64_t i = 0; i < d; i++) yh[i] += p * vj[i];
  }
}

// cachedAttention(heap, qkvOff, kOff, vOff (−1 both when past = 0), yOff, kOutOff, vOutOff,
//                 batch, heads, past, headDim): qkv [B, 3·H·D], caches [B, H, P, D],
//                 y [B, H·D], grown caches [B, H, P + 1, D].
Napi::Value CachedAttentionJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t batch = Int(info, 7), heads = Int(info, 8), past = Int(info, 9), d = Int(info, 10);
  if (batch < 1 || heads < 1 || past < 0 || d < 1) {
    throw Napi::RangeError::New(env, "sculpt native: cachedAttention dims must be positive");
  }
  const int64_t c = heads * d, s = past + 1;
  const float* qkv = Range(env, heap, Int(info, 1), batch * 3 * c, "qkv");
  const float* kc = past > 0 ? Range(env, heap, Int(info, 2), batch * c * past, "keys") : nullptr;
  const float* vc = past > 0 ? Range(env, heap, Int(info, 3), batch * c * past, "values") : nullptr;
  float* y = Range(env, heap, Int(info, 4), batch * c, "output");
  float* ko = Range(env, heap, Int(info, 5), batch * c * s, "grown keys");
  float* vo = Range(env, heap, Int(info, 6), batch * c * s, "grown values");
  const int64_t grain = std::max<int64_t>(1, kGrain / (4 * s * d));
  ParallelFor(batch * heads, grain, [&](int64_t lo, int64_t hi) {
    float* scores = Scratch(static_cast<size_t>(s));
    for (int64_t u = lo; u < hi; u++) {
      const int64_t b = u / heads, h = u % heads;
      AttendOne(qkv + b * 3 * c, past > 0 ? kc + b * c * past : nullptr,
                past > 0 ? vc + b * c * past : nullptr, y + b * c, ko + b * c * s, vo + b * c * s,
                heads, past, d, h, scores);
    }
  });
  return env.Undefined();
}

// ------------------------------------------------------- fused GPT decoder block

// The `count` int32 values of argument `index` (an Int32Array of exactly that length).
const int32_t* Int32s(const Napi::CallbackInfo& info, size_t index, size_t count, const char* what) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() != count) {
    throw Napi::TypeError::New(info.Env(), std::string("sculpt native: expected ") + what +
                                               " as an Int32Array(" + std::to_string(count) + ")");
  }
  return v.As<Napi::Int32Array>().Data();
}

// y[B, N] = a[B, K]·w[K, N] (+ bias[N]): sgemm (on this thread below 4 MFLOP), then the bias.
void DenseRows(const float* a, const float* w, const float* bias, float* y, int64_t rows,
               int64_t k, int64_t n) {
  if (rows == 1) {
    // One row (batch-1 decoding): gemv streams w once; sgemm would pack it into a buffer first.
    cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.f, w, n, a, 1, 0.f, y, 1);
  } else {
    Sgemm(false, false, rows, n, k, a, k, w, n, 0.f, y, n);
  }
  if (bias == nullptr) return;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < n; c++) y[r * n + c] += bias[c];
  }
}

// LayerNorm of each row of x [rows, cols] into y: the arithmetic of LayerNormJs.
void NormRows(const float* x, const float* g, const float* b, float* y, int64_t rows,
              int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float mean;
    const float iv = RowInvStd(xr, cols, eps, &mean);
    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = ((xr[c] - mean) * iv) * g[c] + (b ? b[c] : 0.f);
  }
}

// One pre-LayerNorm GPT-2 block for one new token per sequence, through its KV cache:
//   x' = x + c_proj(attend(c_attn(ln_1(x)), cache));  out = x' + mlp.c_proj(gelu(c_fc(ln_2(x'))))
// the calls of the tfjs path (LayerNorm, _FusedMatMul, SculptCachedAttention, Add,
// SculptGelu) in one, with their arithmetic; the caches grow as in CachedAttentionJs.
// gptBlockDecode(heap, offsets Int32Array [x, ln1g, ln1b, attnW, attnB, projW, projB, ln2g,
//   ln2b, fcW, fcB, mlpW, mlpB, k, v, out, k', v'] (−1: no bias / no cache), batch, heads,
//   past, headDim, eps)
Napi::Value GptBlockDecodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int32_t* o = Int32s(info, 1, 18, "gptBlockDecode offsets");
  const int64_t batch = Int(info, 2), heads = Int(info, 3), past = Int(info, 4), d = Int(info, 5);
  const float eps = static_cast<float>(Num(info, 6));
  if (batch < 1 || heads < 1 || past < 0 || d < 1) {
    throw Napi::RangeError::New(env, "sculpt native: gptBlockDecode dims must be positive");
  }
  const int64_t c = heads * d, s = past + 1;
  const int64_t sizes[18] = {batch * c, c, c, c * 3 * c, 3 * c, c * c, c, c, c, c * 4 * c, 4 * c,
                             4 * c * c, c, batch * c * past, batch * c * past, batch * c,
                             batch * c * s, batch * c * s};
  const char* names[18] = {"x", "ln_1.g", "ln_1.b", "c_attn.w", "c_attn.b", "attn.c_proj.w",
                           "attn.c_proj.b", "ln_2.g", "ln_2.b", "c_fc.w", "c_fc.b",
                           "mlp.c_proj.w", "mlp.c_proj.b", "keys", "values", "output",
                           "grown keys", "grown values"};
  float* t[18];
  for (int i = 0; i < 18; i++) {
    const bool optional = i == 2 || i == 4 || i == 6 || i == 8 || i == 10 || i == 12 ||
                          ((i == 13 || i == 14) && past == 0);
    t[i] = optional && o[i] < 0 ? nullptr : Range(env, heap, o[i], sizes[i], names[i]);
  }
  // Scratch: ln [B, C], qkv [B, 3C], attention [B, C], projection [B, C], hidden [B, 4C], scores [S].
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(batch * 10 * c + s));
  float* ln = scratch.data();
  float* qkv = ln + batch * c;
  float* att = qkv + batch * 3 * c;
  float* proj = att + batch * c;
  float* hid = proj + batch * c;
  float* scores = hid + batch * 4 * c;
  float* out = t[15];
  NormRows(t[0], t[1], t[2], ln, batch, c, eps);
  DenseRows(ln, t[3], t[4], qkv, batch, c, 3 * c);
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t h = 0; h < heads; h++) {
      AttendOne(qkv + b * 3 * c, past > 0 ? t[13] + b * c * past : nullptr,
                past > 0 ? t[14] + b * c * past : nullptr, att + b * c, t[16] + b * c * s,
                t[17] + b * c * s, heads, past, d, h, scores);
    }
  }
  DenseRows(att, t[5], t[6], proj, batch, c, c);
  for (int64_t i = 0; i < batch * c; i++) out[i] = t[0][i] + proj[i];
  NormRows(out, t[7], t[8], ln, batch, c, eps);
  DenseRows(ln, t[9], t[10], hid, batch, c, 4 * c);
  const float k = 0.7978845608028654f;  // √(2/π), as GeluJs
  for (int64_t i = 0; i < batch * 4 * c; i++) {
    const float v = hid[i];
    const float u = v * (v * v * (0.044715f * k) + k);
    hid[i] = 0.5f * v * (1.f + (2.f / (1.f + FastExp(-2.f * u)) - 1.f));
  }
  DenseRows(hid, t[11], t[12], proj, batch, 4 * c, c);
  for (int64_t i = 0; i < batch * c; i++) out[i] += proj[i];
  return env.Undefined();
}

// ------------------------------------------------------------- fused GroupNorm

// GroupNorm over NHWC x [n, hw, c] with `groups` groups of c/groups channels:
// per (image, group), mean and rstd = 1/√(var + ε) over hw·c/groups values
// (tfjs's moments: the mean, then the mean of squared deviations), then
// z = (x − mean)·rstd·γ + β and, with silu, y = z·σ(z). Sums in double.
struct GroupDims {
  int64_t n, hw, c, groups, cg;
};

GroupDims GetGroupDims(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (!info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[index].As<Napi::Int32Array>().ElementLength() != 4) {
    throw Napi::TypeError::New(env, "sculpt native: expected groupNorm dims as an Int32Array(4)");
  }
  const int32_t* d = info[index].As<Napi::Int32Array>().Data();
  if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[3] < 1 || d[2] % d[3] != 0) {
    throw Napi::RangeError::New(env, "sculpt native: groupNorm dims must be positive, groups dividing channels");
  }
  return {d[0], d[1], d[2], d[3], d[2] / d[3]};
}

// Per-channel sums over an image's pixels (float: at most H·W terms each), then
// per-group totals in double. With `shift`, sums of squared deviations from it.
void GroupSums(const GroupDims& d, const float* __restrict__ x, const float* __restrict__ shift,
               float* __restrict__ perChannel, double* perGroup) {
  std::fill(perChannel, perChannel + d.c, 0.f);
  for (int64_t p = 0; p < d.hw; p++) {
    const float* __restrict__ xp = x + p * d.c;
    if (shift == nullptr) {
      for (int64_t ch = 0; ch < d.c; ch++) perChannel[ch] += xp[ch];
    } else {
      for (int64_t ch = 0; ch < d.c; ch++) {
        const float v = xp[ch] - shift[ch];
        perChannel[ch] += v * v;
      }
    }
  }
  for (int64_t g = 0; g < d.groups; g++) {
    double s = 0.0;
    for (int64_t k = 0; k < d.cg; k++) s += perChannel[g * d.cg + k];
    perGroup[g] = s;
  }
}

// y = x·scale + offset over one image's pixels, then z·σ(z) when Silu.
template <bool Silu>
void GroupAffine(const GroupDims& d, const float* __restrict__ x, const float* __restrict__ scale,
                 const float* __restrict__ offset, float* __restrict__ y) {
  for (int64_t p = 0; p < d.hw; p++) {
    const float* __restrict__ xp = x + p * d.c;
    float* __restrict__ yp = y + p * d.c;
    for (int64_t ch = 0; ch < d.c; ch++) {
      const float z = xp[ch] * scale[ch] + offset[ch];
      yp[ch] = Silu ? z / (1.f + FastExp(-z)) : z;
    }
  }
}

// groupNorm(heap, xOff, gOff, bOff, yOff, meanOff, rstdOff, dims [n, hw, c, groups], eps, silu)
Napi::Value GroupNormJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const GroupDims d = GetGroupDims(info, 7);
  const float eps = static_cast<float>(Num(info, 8));
  const bool silu = info[9].ToBoolean().Value();
  const int64_t size = d.n * d.hw * d.c;
  const float* x = Range(env, heap, Int(info, 1), size, "x");
  const float* gamma = Range(env, heap, Int(info, 2), d.c, "gamma");
  const float* beta = Range(env, heap, Int(info, 3), d.c, "beta");
  float* y = Range(env, heap, Int(info, 4), size, "output");
  float* mean = Range(env, heap, Int(info, 5), d.n * d.groups, "mean");
  float* rstd = Range(env, heap, Int(info, 6), d.n * d.groups, "rstd");
  const double count = static_cast<double>(d.hw * d.cg);
  ParallelFor(d.n, std::max<int64_t>(1, kGrain / (d.hw * d.c)), [&](int64_t lo, int64_t hi) {
    std::vector<double> group(d.groups);
    std::vector<float> channel(d.c), shift(d.c), scale(d.c), offset(d.c);
    for (int64_t i = lo; i < hi; i++) {
      const float* xi = x + i * d.hw * d.c;
      float* mi = mean + i * d.groups;
      GroupSums(d, xi, nullptr, channel.data(), group.data());
      for (int64_t g = 0; g < d.groups; g++) {
        mi[g] = static_cast<float>(group[g] / count);
        for (int64_t k = 0; k < d.cg; k++) shift[g * d.cg + k] = mi[g];
      }
      GroupSums(d, xi, shift.data(), channel.data(), group.data());
      for (int64_t g = 0; g < d.groups; g++) {
        const float r = 1.f / std::sqrt(static_cast<float>(group[g] / count) + eps);
        rstd[i * d.groups + g] = r;
        for (int64_t k = 0; k < d.cg; k++) {
          const int64_t ch = g * d.cg + k;
          scale[ch] = r * gamma[ch];  // z = x·scale + offset
          offset[ch] = beta[ch] - mi[g] * scale[ch];
        }
      }
      float* yi = y + i * d.hw * d.c;
      if (silu) GroupAffine<true>(d, xi, scale.data(), offset.data(), yi);
      else GroupAffine<false>(d, xi, scale.data(), offset.data(), yi);
    }
  });
  return env.Undefined();
}

// One image's x̂ and dz (= dy, or dy·σ(z)(1 + z(1 − σ(z))) with z = x̂·γ + β when
// Silu), and the per-channel sums Σ dz and Σ dz·x̂.
template <bool Silu>
void GroupGradPass(const GroupDims& d, const float* __restrict__ x, const float* __restrict__ dy,
                   const float* __restrict__ m, const float* __restrict__ r,
                   const float* __restrict__ gamma, const float* __restrict__ beta,
                   float* __restrict__ hat, float* __restrict__ dz, float* __restrict__ sdz,
                   float* __restrict__ sdzh) {
  std::fill(sdz, sdz + d.c, 0.f);
  std::fill(sdzh, sdzh + d.c, 0.f);
  for (int64_t p = 0; p < d.hw; p++) {
    const int64_t at = p * d.c;
    for (int64_t ch = 0; ch < d.c; ch++) {
      const float h = (x[at + ch] - m[ch]) * r[ch];
      hat[at + ch] = h;
      if (Silu) {
        const float z = h * gamma[ch] + beta[ch];
        const float s = 1.f / (1.f + FastExp(-z));
        dz[at + ch] = dy[at + ch] * s * (1.f + z * (1.f - s));
      } else {
        dz[at + ch] = dy[at + ch];
      }
    }
    for (int64_t ch = 0; ch < d.c; ch++) {
      sdz[ch] += dz[at + ch];
      sdzh[ch] += dz[at + ch] * hat[at + ch];
    }
  }
}

// GroupNorm's gradient from x and the saved mean and rstd (x̂ recomputed):
// dz = dy (·σ(z)(1 + z(1 − σ(z))) with silu), dβ = Σ dz, dγ = Σ dz·x̂, and per
// (image, group) with ĝ = dz·γ: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)).
// groupNormGrad(heap, [dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta] offsets,
//               dims [n, hw, c, groups], silu)
Napi::Value GroupNormGradJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::Int32Array>().ElementLength() != 9) {
    throw Napi::TypeError::New(env, "sculpt native: groupNormGrad takes 9 offsets as an Int32Array");
  }
  const int32_t* o = info[1].As<Napi::Int32Array>().Data();
  const GroupDims d = GetGroupDims(info, 2);
  const bool silu = info[3].ToBoolean().Value();
  const int64_t size = d.n * d.hw * d.c, stats = d.n * d.groups;
  const float* dy = Range(env, heap, o[0], size, "dy");
  const float* x = Range(env, heap, o[1], size, "x");
  const float* gamma = Range(env, heap, o[2], d.c, "gamma");
  const float* beta = Range(env, heap, o[3], d.c, "beta");
  const float* mean = Range(env, heap, o[4], stats, "mean");
  const float* rstd = Range(env, heap, o[5], stats, "rstd");
  float* dx = Range(env, heap, o[6], size, "dx");
  float* dgamma = Range(env, heap, o[7], d.c, "dgamma");
  float* dbeta = Range(env, heap, o[8], d.c, "dbeta");
  std::vector<float> partial(2 * d.n * d.c);  // per image: Σ dz, Σ dz·x̂ per channel
  const double count = static_cast<double>(d.hw * d.cg);
  ParallelFor(d.n, std::max<int64_t>(1, kGrain / (4 * d.hw * d.c)), [&](int64_t lo, int64_t hi) {
    std::vector<float> dz(d.hw * d.c), hat(d.hw * d.c), m(d.c), r(d.c);
    std::vector<float> a(d.c), b(d.c), c(d.c);
    for (int64_t i = lo; i < hi; i++) {
      const int64_t base = i * d.hw * d.c;
      float* sdz = partial.data() + 2 * i * d.c;
      float* sdzh = sdz + d.c;
      for (int64_t ch = 0; ch < d.c; ch++) {
        m[ch] = mean[i * d.groups + ch / d.cg];
        r[ch] = rstd[i * d.groups + ch / d.cg];
      }
      if (silu) {
        GroupGradPass<true>(d, x + base, dy + base, m.data(), r.data(), gamma, beta, hat.data(),
                            dz.data(), sdz, sdzh);
      } else {
        GroupGradPass<false>(d, x + base, dy + base, m.data(), r.data(), gamma, beta, hat.data(),
                             dz.data(), sdz, sdzh);
      }
      for (int64_t g = 0; g < d.groups; g++) {
        double m1 = 0.0, m2 = 0.0;  // Σ ĝ, Σ ĝ·x̂ over the group
        for (int64_t k = 0; k < d.cg; k++) {
          const int64_t ch = g * d.cg + k;
          m1 += static_cast<double>(gamma[ch]) * sdz[ch];
          m2 += static_cast<double>(gamma[ch]) * sdzh[ch];
        }
        for (int64_t k = 0; k < d.cg; k++) {  // dx = dz·a − x̂·b − c, folded per channel
          const int64_t ch = g * d.cg + k;
          a[ch] = r[ch] * gamma[ch];
          b[ch] = static_cast<float>(r[ch] * m2 / count);
          c[ch] = static_cast<float>(r[ch] * m1 / count);
        }
      }
      const float* __restrict__ dzp = dz.data();
      const float* __restrict__ hp = hat.data();
      float* __restrict__ dxi = dx + base;
      for (int64_t p = 0; p < d.hw; p++) {
        const int64_t at = p * d.c;
        for (int64_t ch = 0; ch < d.c; ch++) {
          dxi[at + ch] = dzp[at + ch] * a[ch] - hp[at + ch] * b[ch] - c[ch];
        }
      }
    }
  });
  for (int64_t ch = 0; ch < d.c; ch++) {
    double sdz = 0.0, sdzh = 0.0;
    for (int64_t i = 0; i < d.n; i++) {
      sdz += partial[2 * i * d.c + ch];
      sdzh += partial[2 * i * d.c + d.c + ch];
    }
    dbeta[ch] = static_cast<float>(sdz);
    dgamma[ch] = static_cast<float>(sdzh);
  }
  return env.Undefined();
}

// ------------------------------------------------------------- fused Adam

enum AdamDecay { kNoDecay = 0, kL2Decay = 1, kDecoupledDecay = 2 };

// Float32 scalars of one Adam step, each rounded once from its float64 value as
// tfjs rounds a number operand: β1, 1−β1, β2, 1−β2, 1−β1^t, 1−β2^t, ε, η, λ, 1−η·λ.
struct AdamScalars {
  float b1, c1, b2, c2, bc1, bc2, eps, lr, decay, shrink;
};

// One Adam/AdamW step over [lo, hi), the tfjs ops of core's AdamOptimizer in
// their order (no FMA: each product and sum rounds to float32 as they do):
// g = grad (+ θ·λ), m' = m·β1 + g·(1−β1), v' = v·β2 + g²·(1−β2),
// θ' = (θ or θ·(1−η·λ)) − ((m'/bc1) / (√(v'/bc2) + ε))·η.
template <int Decay>
void AdamLoop(const float* __restrict__ p, const float* __restrict__ grad,
              const float* __restrict__ m, const float* __restrict__ v, float* __restrict__ p1,
              float* __restrict__ m1, float* __restrict__ v1, const AdamScalars s, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float g = Decay == kL2Decay ? grad[i] + p[i] * s.decay : grad[i];
    const float mi = m[i] * s.b1 + g * s.c1;
    const float vi = v[i] * s.b2 + (g * g) * s.c2;
    const float step = ((mi / s.bc1) / (std::sqrt(vi / s.bc2) + s.eps)) * s.lr;
    const float base = Decay == kDecoupledDecay ? p[i] * s.shrink : p[i];
    m1[i] = mi;
    v1[i] = vi;
    p1[i] = base - step;
  }
}

// adamUpdate(heap, offsets Int32Array [p, g, m, v, p', m', v'], n, scalars Float64Array
// [β1, 1−β1, β2, 1−β2, bc1, bc2, ε, η, λ, 1−η·λ], decay mode (AdamDecay))
Napi::Value AdamUpdateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const Napi::Int32Array off = info[1].As<Napi::Int32Array>();
  const int64_t n = Int(info, 2);
  const Napi::Float64Array k = info[3].As<Napi::Float64Array>();
  const int mode = static_cast<int>(Int(info, 4));
  if (off.ElementLength() != 7 || k.ElementLength() != 10) {
    throw Napi::RangeError::New(env, "sculpt native: adamUpdate takes 7 offsets and 10 scalars");
  }
  const char* names[7] = {"param", "grad", "m", "v", "param output", "m output", "v output"};
  float* t[7];
  for (int i = 0; i < 7; i++) t[i] = Range(env, heap, off[i], n, names[i]);
  float f[10];
  for (int i = 0; i < 10; i++) f[i] = static_cast<float>(k[i]);
  const AdamScalars s{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]};
  // Outputs are fresh tensors: no pointer aliases another (hence __restrict__, and SIMD).
  ParallelFor(n, kGrain / 4, [&](int64_t lo, int64_t hi) {
    const auto loop = mode == kL2Decay          ? AdamLoop<kL2Decay>
                      : mode == kDecoupledDecay ? AdamLoop<kDecoupledDecay>
                                                : AdamLoop<kNoDecay>;
    loop(t[0] + lo, t[1] + lo, t[2] + lo, t[3] + lo, t[4] + lo, t[5] + lo, t[6] + lo, s, hi - lo);
  });
  return env.Undefined();
}

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

template <int Op>
inline float Apply(float a, float b) {
  if (Op == kAdd) return a + b;
  if (Op == kSub) return a - b;
  if (Op == kMul) return a * b;
  return a / b;
}

constexpr int kMaxRank = 8;

struct Broadcast {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t sa[kMaxRank];
  int64_t sb[kMaxRank];
};

// The innermost loop with each operand's stride fixed at compile time:
// K = 0 (broadcast), 1 (contiguous) or 2 (any, read from s).
template <int Op, int KA, int KB>
inline void RowT(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float x = KA == 0 ? a[0] : KA == 1 ? a[i] : a[i * sa];
    const float y = KB == 0 ? b[0] : KB == 1 ? b[i] : b[i * sb];
    out[i] = Apply<Op>(x, y);
  }
}

// Output rows r0..r1 over the dims before `inner` (the last one, or the last two when the last
// is short): each row is RowT over the last dim, repeated over dim last−1 in the two-dim case.
template <int Op, int KA, int KB>
void BinaryRows(const Broadcast& g, int outerDims, const float* a, const float* b, float* out,
                int64_t r0, int64_t r1) {
  const int last = g.rank - 1;
  const int64_t n = g.shape[last];
  const bool block = outerDims == last - 1;
  const int64_t m = block ? g.shape[last - 1] : 1;
  const int64_t sa1 = block ? g.sa[last - 1] : 0, sb1 = block ? g.sb[last - 1] : 0;
  int64_t idx[kMaxRank] = {0};
  int64_t rem = r0;
  for (int d = outerDims - 1; d >= 0; d--) {
    idx[d] = rem % g.shape[d];
    rem /= g.shape[d];
  }
  int64_t oa = 0, ob = 0;
  for (int d = 0; d < outerDims; d++) {
    oa += idx[d] * g.sa[d];
    ob += idx[d] * g.sb[d];
  }
  for (int64_t r = r0; r < r1; r++) {
    float* o = out + r * m * n;
    for (int64_t j = 0; j < m; j++) {
      RowT<Op, KA, KB>(a + oa + j * sa1, g.sa[last], b + ob + j * sb1, g.sb[last], o + j * n, n);
    }
    for (int d = outerDims - 1; d >= 0; d--) {
      idx[d]++;
      oa += g.sa[d];
      ob += g.sb[d];
      if (idx[d] < g.shape[d]) break;
      oa -= g.sa[d] * g.shape[d];
      ob -= g.sb[d] * g.shape[d];
      idx[d] = 0;
    }
  }
}

template <int Op, int KA, int KB>
void BinaryKind(const Broadcast& g, const float* a, const float* b, float* out) {
  const int last = g.rank - 1;
  // A short last dim (GroupNorm's [.., groups, 4] against [.., groups, 1]) is looped together
  // with the dim before it, so per-row bookkeeping is paid once per block.
  const int outerDims = (g.rank >= 2 && g.shape[last] < 64) ? last - 1 : last;
  int64_t rows = 1;
  for (int d = 0; d < outerDims; d++) rows *= g.shape[d];
  int64_t perRow = 1;
  for (int d = outerDims; d < g.rank; d++) perRow *= g.shape[d];
  if (g.rank == 1) {
    ParallelFor(g.shape[0], kGrain, [&](int64_t lo, int64_t hi) {
      RowT<Op, KA, KB>(a + lo * g.sa[0], g.sa[0], b + lo * g.sb[0], g.sb[0], out + lo, hi - lo);
    });
    return;
  }
  ParallelFor(rows, std::max<int64_t>(1, kGrain / perRow), [&](int64_t lo, int64_t hi) {
    BinaryRows<Op, KA, KB>(g, outerDims, a, b, out, lo, hi);
  });
}

template <int Op>
void Binary(const Broadcast& g, const float* a, const float* b, float* out) {
  const int64_t sa = g.sa[g.rank - 1], sb = g.sb[g.rank - 1];
  const int ka = sa == 0 ? 0 : sa == 1 ? 1 : 2;
  const int kb = sb == 0 ? 0 : sb == 1 ? 1 : 2;
  switch (ka * 3 + kb) {
    case 0: return BinaryKind<Op, 0, 0>(g, a, b, out);
    case 1: return BinaryKind<Op, 0, 1>(g, a, b, out);
    case 2: return BinaryKind<Op, 0, 2>(g, a, b, out);
    case 3: return BinaryKind<Op, 1, 0>(g, a, b, out);
    case 4: return BinaryKind<Op, 1, 1>(g, a, b, out);
    case 5: return BinaryKind<Op, 1, 2>(g, a, b, out);
    case 6: return BinaryKind<Op, 2, 0>(g, a, b, out);
    case 7: return BinaryKind<Op, 2, 1>(g, a, b, out);
    default: return BinaryKind<Op, 2, 2>(g, a, b, out);
  }
}

// binary(heap, op, aOff, bOff, outOff, outShape: Int32Array, aStrides: Int32Array, bStrides: Int32Array)
// Strides count floats; 0 on broadcast dims. Adjacent dims are merged where both operands allow.
Napi::Value BinaryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int op = static_cast<int>(Int(info, 1));
  auto ints = [&](size_t i) {
    if (!info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "sculpt native: expected an Int32Array");
    }
    return info[i].As<Napi::Int32Array>();
  };
  Napi::Int32Array shape = ints(5), sa = ints(6), sb = ints(7);
  const size_t rank = shape.ElementLength();
  if (rank == 0 || rank > kMaxRank || sa.ElementLength() != rank || sb.ElementLength() != rank) {
    throw Napi::RangeError::New(env, "sculpt native: binary ops take ranks 1 to 8");
  }
  Broadcast g;
  int64_t total = 1, spanA = 1, spanB = 1;
  for (size_t d = 0; d < rank; d++) {
    const int64_t n = shape[d];
    if (n <= 0) throw Napi::RangeError::New(env, "sculpt native: empty binary op");
    total *= n;
    spanA += (n - 1) * sa[d];
    spanB += (n - 1) * sb[d];
    // Merge into the previous dim when both operands are contiguous across the two.
    if (g.rank > 0 && g.sa[g.rank - 1] == sa[d] * n && g.sb[g.rank - 1] == sb[d] * n) {
      g.shape[g.rank - 1] *= n;
      g.sa[g.rank - 1] = sa[d];
      g.sb[g.rank - 1] = sb[d];
    } else if (n == 1) {
      continue;
    } else {
      g.shape[g.rank] = n;
      g.sa[g.rank] = sa[d];
      g.sb[g.rank] = sb[d];
      g.rank++;
    }
  }
  if (g.rank == 0) {
    g.rank = 1;
    g.shape[0] = 1;
    g.sa[0] = g.sb[0] = 0;
  }
  const float* a = Range(env, heap, Int(info, 2), spanA, "a");
  const float* b = Range(env, heap, Int(info, 3), spanB, "b");
  float* out = Range(env, heap, Int(info, 4), total, "output");
  switch (op) {
    case kAdd: Binary<kAdd>(g, a, b, out); break;
    case kSub: Binary<kSub>(g, a, b, out); break;
    case kMul: Binary<kMul>(g, a, b, out); break;
    case kDiv: Binary<kDiv>(g, a, b, out); break;
    default: throw Napi::RangeError::New(env, "sculpt native: unknown binary op");
  }
  return env.Undefined();
}

// copyBlocks(heap, srcOff, srcRow, dstOff, dstRow, rows, width):
// dst[r·dstRow + i] = src[r·srcRow + i] for r < rows, i < width (slices and concats along an axis).
Napi::Value CopyBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t srcRow = Int(info, 2), dstRow = Int(info, 4), rows = Int(info, 5),
                width = Int(info, 6);
  if (rows <= 0 || width <= 0) return env.Undefined();
  const float* src = Range(env, heap, Int(info, 1), srcRow * (rows - 1) + width, "source");
  float* dst = Range(env, heap, Int(info, 3), dstRow * (rows - 1) + width, "destination");
  const int64_t grain = std::max<int64_t>(1, kGrain / width);
  ParallelFor(rows, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      std::memcpy(dst + r * dstRow, src + r * srcRow, sizeof(float) * width);
    }
  });
  return env.Undefined();
}


// reduce(heap, xOff, outOff, outer, mid, inner, scale):
// out[o, i] = scale · Σ_m x[o, m, i] (Sum with scale 1, Mean with 1/mid).
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t outer = Int(info, 3), mid = Int(info, 4), inner = Int(info, 5);
  const float scale = static_cast<float>(Num(info, 6));
  if (outer <= 0 || mid <= 0 || inner <= 0) {
    throw Napi::RangeError::New(env, "sculpt native: reduce dims must be positive");
  }
  const float* x = Range(env, heap, Int(info, 1), outer * mid * inner, "x");
  float* out = Range(env, heap, Int(info, 2), outer * inner, "output");
  if (inner == 1) {
    // Row sums: each output is one contiguous run (8 float accumulators).
    ParallelFor(outer, std::max<int64_t>(1, kGrain / mid), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; o++) {
        const float* row = x + o * mid;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t m = 0;
        for (; m + 8 <= mid; m += 8) {
          for (int l = 0; l < 8; l++) acc[l] += row[m + l];
        }
        float total = 0;
        for (; m < mid; m++) total += row[m];
        for (int l = 0; l < 8; l++) total += acc[l];
        out[o] = total * scale;
      }
    });
    return env.Undefined();
  }
  // Column sums: split the (outer, inner) outputs into column blocks per thread.
  const int64_t blocks = outer * ((inner + 255) / 256);
  ParallelFor(blocks, std::max<int64_t>(1, kGrain / (mid * 256)), [&](int64_t lo, int64_t hi) {
    const int64_t perOuter = (inner + 255) / 256;
    for (int64_t blk = lo; blk < hi; blk++) {
      const int64_t o = blk / perOuter, i0 = (blk % perOuter) * 256;
      const int64_t i1 = std::min(inner, i0 + 256);
      float* dst = out + o * inner;
      const float* src = x + o * mid * inner;
      for (int64_t i = i0; i < i1; i++) dst[i] = 0.f;
      for (int64_t m = 0; m < mid; m++) {
        const float* row = src + m * inner;
        for (int64_t i = i0; i < i1; i++) dst[i] += row[i];
      }
      for (int64_t i = i0; i < i1; i++) dst[i] *= scale;
    }
  });
  return env.Undefined();
}


// gather(heap, xOff, indicesOff, outOff, outer, dim, inner, count): out[o, j, :] =
// x[o, indices[j], :] for int32 indices (in the same heap). Returns the position of the first
// index outside [0, dim) and writes nothing then, or −1.
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t outer = Int(info, 4), dim = Int(info, 5), inner = Int(info, 6),
                count = Int(info, 7);
  const float* x = Range(env, heap, Int(info, 1), outer * dim * inner, "x");
  const int32_t* indices =
      reinterpret_cast<const int32_t*>(Range(env, heap, Int(info, 2), count, "indices"));
  float* out = Range(env, heap, Int(info, 3), outer * count * inner, "output");
  for (int64_t j = 0; j < count; j++) {
    if (indices[j] < 0 || indices[j] >= dim) return Napi::Number::New(env, static_cast<double>(j));
  }
  ParallelFor(outer * count, std::max<int64_t>(1, kGrain / inner), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const int64_t o = r / count, j = r % count;
      std::memcpy(out + r * inner, x + (o * dim + indices[j]) * inner, sizeof(float) * inner);
    }
  });
  return Napi::Number::New(env, -1);
}

// ------------------------------------------------------- comparisons, select

// A byte range of the heap (bool tensors take one byte per element in wasm memory).
uint8_t* ByteRange(Napi::Env env, const Heap& heap, int64_t offset, int64_t count,
                   const char* what) {
  if (offset < 0 || count < 0 || static_cast<uint64_t>(offset + count) > heap.length * 4) {
    throw Napi::RangeError::New(env, std::string("sculpt native: ") + what +
                                         " lies outside the heap");
  }
  return reinterpret_cast<uint8_t*>(heap.data) + offset;
}

// greater(heap, aOff, aStep, bOff, bStep, outByteOff, n): out[i] = a[i·aStep] > b[i·bStep] as
// bytes 0/1, with steps 1 (a full operand) or 0 (a scalar) — LeakyRelu's gradient mask.
Napi::Value GreaterJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t aStep = Int(info, 2), bStep = Int(info, 4), n = Int(info, 6);
  const float* a = Range(env, heap, Int(info, 1), aStep == 0 ? 1 : n, "a");
  const float* b = Range(env, heap, Int(info, 3), bStep == 0 ? 1 : n, "b");
  uint8_t* out = ByteRange(env, heap, Int(info, 5), n, "output");
  ParallelFor(n, kGrain, [&](int64_t lo, int64_t hi) {
    if (bStep == 0) {
      const float s = b[0];
      for (int64_t i = lo; i < hi; i++) out[i] = a[i * aStep] > s ? 1 : 0;
    } else {
      for (int64_t i = lo; i < hi; i++) out[i] = a[i * aStep] > b[i] ? 1 : 0;
    }
  });
  return env.Undefined();
}

// select(heap, conditionByteOff, tOff, eOff, outOff, n): out[i] = condition[i] ? t[i] : e[i]
// (tf.where with a condition of the values' shape).
Napi::Value SelectJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  const int64_t n = Int(info, 5);
  const uint8_t* condition = ByteRange(env, heap, Int(info, 1), n, "condition");
  const float* t = Range(env, heap, Int(info, 2), n, "t");
  const float* e = Range(env, heap, Int(info, 3), n, "e");
  float* out = Range(env, heap, Int(info, 4), n, "output");
  ParallelFor(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) out[i] = condition[i] != 0 ? t[i] : e[i];
  });
  return env.Undefined();
}

// ---------------------------------------------------------- bilinear resize

// The two source indices and the weight of the second along one axis, as tfjs computes them.
struct Lerp {
  int64_t lo, hi;
  float frac;
};

// tfjs's sampling positions: src = scale·(i + ½) − ½ with half-pixel centres, else scale·i;
// lo = max(0, ⌊src⌋), hi = min(in − 1, ⌈src⌉), frac = src − lo.
std::vector<Lerp> LerpAxis(int64_t in, int64_t out, bool alignCorners, bool halfPixel) {
  const bool align = alignCorners && out > 1;
  const double scale = static_cast<double>(align ? in - 1 : in) / static_cast<double>(align ? out - 1 : out);
  std::vector<Lerp> taps(out);
  for (int64_t i = 0; i < out; i++) {
    const double src = halfPixel ? scale * (i + 0.5) - 0.5 : scale * i;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(src)));
    const int64_t hi = std::min<int64_t>(in - 1, static_cast<int64_t>(std::ceil(src)));
    taps[i] = {lo, hi, static_cast<float>(src - lo)};
  }
  return taps;
}

// resizeBilinear(heap, xOff, yOff, dims [b, h, w, c, oh, ow], alignCorners, halfPixelCenters)
// y = bilinear samples of x [b, h, w, c] at [b, oh, ow, c] (tfjs's ResizeBilinear). With
// `grad` set instead (resizeBilinearGrad: x is dy [b, oh, ow, c], y is dx [b, h, w, c]) it
// scatters dy onto the same taps at half-pixel-free positions, as tfjs's gradient does.
Napi::Value ResizeBilinearJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap = GetHeap(info, 0);
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[3].As<Napi::Int32Array>().ElementLength() != 6) {
    throw Napi::TypeError::New(env, "sculpt native: expected resize dims as an Int32Array(6)");
  }
  const int32_t* d = info[3].As<Napi::Int32Array>().Data();
  const int64_t b = d[0], h = d[1], w = d[2], c = d[3], oh = d[4], ow = d[5];
  if (b <= 0 || h <= 0 || w <= 0 || c <= 0 || oh <= 0 || ow <= 0) {
    throw Napi::RangeError::New(env, "sculpt native: resize dims must be positive");
  }
  const bool align = info[4].ToBoolean(), half = info[5].ToBoolean(), grad = info[6].ToBoolean();
  const float* x = Range(env, heap, Int(info, 1), b * (grad ? oh * ow : h * w) * c, "x");
  float* y = Range(env, heap, Int(info, 2), b * (grad ? h * w : oh * ow) * c, "output");
  const std::vector<Lerp> rows = LerpAxis(h, oh, align, half && !grad);
  const std::vector<Lerp> cols = LerpAxis(w, ow, align, half && !grad);
  if (!grad) {
    ParallelFor(b * oh, std::max<int64_t>(1, kGrain / (ow * c)), [&](int64_t lo, int64_t hi) {
      for (int64_t br = lo; br < hi; br++) {
        const Lerp& r = rows[br % oh];
        const float* top = x + ((br / oh) * h + r.lo) * w * c;
        const float* bottom = x + ((br / oh) * h + r.hi) * w * c;
        float* out = y + br * ow * c;
        for (int64_t j = 0; j < ow; j++, out += c) {
          const Lerp& q = cols[j];
          const float *tl = top + q.lo * c, *tr = top + q.hi * c;
          const float *bl = bottom + q.lo * c, *brr = bottom + q.hi * c;
          for (int64_t k = 0; k < c; k++) {
            const float t = tl[k] + (tr[k] - tl[k]) * q.frac;
            const float u = bl[k] + (brr[k] - bl[k]) * q.frac;
            out[k] = t + (u - t) * r.frac;
          }
        }
      }
    });
    return env.Undefined();
  }
  // The gradient: images are independent, taps of one image overlap.
  ParallelFor(b, 1, [&](int64_t lo, int64_t hi) {
    std::memset(y + lo * h * w * c, 0, sizeof(float) * (hi - lo) * h * w * c);
    for (int64_t i = lo * oh; i < hi * oh; i++) {
      const Lerp& r = rows[i % oh];
      float* top = y + ((i / oh) * h + r.lo) * w * c;
      float* bottom = y + ((i / oh) * h + r.hi) * w * c;
      const float* g = x + i * ow * c;
      for (int64_t j = 0; j < ow; j++, g += c) {
        const Lerp& q = cols[j];
        const float wTl = (1.f - r.frac) * (1.f - q.frac), wTr = (1.f - r.frac) * q.frac;
        const float wBl = r.frac * (1.f - q.frac), wBr = r.frac * q.frac;
        Axpy(wTl, g, top + q.lo * c, c);
        Axpy(wTr, g, top + q.hi * c, c);
        Axpy(wBl, g, bottom + q.lo * c, c);
        Axpy(wBr, g, bottom + q.hi * c, c);
      }
    }
  });
  return env.Undefined();
}

// --------------------------------------------------------------- settings

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 0);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "sculpt native: threads must be ≥ 1");
  ThePool().Resize(static_cast<int>(n));
  return info.Env().Undefined();
}

// Keeps freed memory in the process instead of handing it back to the kernel
// at once. glibc's defaults return a large block (mmap, from 128 KiB) or the
// heap's free top (trim) on every free, so the next tensor read or scratch
// buffer of that size starts on fresh pages, and each page faults on first
// touch: on a virtual machine that is milliseconds per megabyte. Returns
// whether the setting took (glibc only).
Napi::Value KeepFreedMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 &&
                  mallopt(M_TOP_PAD, 16 << 20) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("threads", ThePool().Size());
  out.Set("core", std::string(openblas_get_corename()));
  out.Set("config", std::string(openblas_get_config()));
  out.Set("avx512Gemm", sculpt::FastSgemmEnabled());
  return out;
}

// avx512Gemm(on): switches the AVX-512 sgemm for narrow products on or off
// (on only where the CPU has it); returns whether it was on.
Napi::Value Avx512Gemm(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), sculpt::SetFastSgemm(info[0].ToBoolean()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // OpenBLAS computes on the calling thread; the pool above splits the work, so
  // there is one set of worker threads and none spins while another computes.
  openblas_set_num_threads(1);
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("epilogue", Napi::Function::New(env, EpilogueJs, "epilogue"));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput, "conv2dBackpropInput"));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter, "conv2dBackpropFilter"));
  exports.Set("binary", Napi::Function::New(env, BinaryJs, "binary"));
  exports.Set("unary", Napi::Function::New(env, UnaryJs, "unary"));
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("gelu", Napi::Function::New(env, GeluJs, "gelu"));
  exports.Set("cachedAttention", Napi::Function::New(env, CachedAttentionJs, "cachedAttention"));
  exports.Set("gptBlockDecode", Napi::Function::New(env, GptBlockDecodeJs, "gptBlockDecode"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNormJs, "layerNorm"));
  exports.Set("groupNorm", Napi::Function::New(env, GroupNormJs, "groupNorm"));
  exports.Set("groupNormGrad", Napi::Function::New(env, GroupNormGradJs, "groupNormGrad"));
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("greater", Napi::Function::New(env, GreaterJs, "greater"));
  exports.Set("select", Napi::Function::New(env, SelectJs, "select"));
  exports.Set("resizeBilinear", Napi::Function::New(env, ResizeBilinearJs, "resizeBilinear"));
  exports.Set("resizeNearest", Napi::Function::New(env, sculpt::ResizeNearestJs, "resizeNearest",
                                                   reinterpret_cast<void*>(&ParallelFor)));
  exports.Set("argReduce", Napi::Function::New(env, sculpt::ArgReduceJs, "argReduce",
                                               reinterpret_cast<void*>(&ParallelFor)));
  exports.Set("copyBlocks", Napi::Function::New(env, CopyBlocks, "copyBlocks"));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdateJs, "adamUpdate"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("avx512Gemm", Napi::Function::New(env, Avx512Gemm, "avx512Gemm"));
  exports.Set("keepFreedMemory", Napi::Function::New(env, KeepFreedMemory, "keepFreedMemory"));
  exports.Set("biasActivationGrad", Napi::Function::New(env, sculpt::BiasActivationGradJs, "biasActivationGrad"));
  exports.Set("fusedConv2d", Napi::Function::New(env, sculpt::FusedConv2dJs, "fusedConv2d"));
  sculpt::RegisterStyle(env, exports, ParallelFor);
  return exports;
}

}  // namespace

void sculpt::PoolParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  ParallelFor(n, grain, fn);
}

void sculpt::ConvForward(const int32_t* d, const float* x, const float* w, float* y) {
  ForwardConv(Conv{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]}, x, w, y);
}

NODE_API_MODULE(sculpt_native, Init)
