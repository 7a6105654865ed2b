// The shape of one benchmark result (shared by run.ts and the workloads it times).
/** One workload's result in one configuration. */
export interface Result {
  /** Median ms per step. */
  msPerStep?: number;
  /** Fastest step (ms): closest to an idle machine's time when other processes compete. */
  minMs?: number;
  gflops?: number;
  imagesPerSecond?: number;
  /** Generation: new tokens/s at batch 1 with the KV cache, without it, and their ratio. */
  tokensPerSecondCached?: number;
  tokensPerSecondUncached?: number;
  cacheSpeedup?: number;
  /** All timed steps, ms, sorted. */
  samples?: number[];
  /** bench:compare --rounds: each round's median, ms. */
  rounds?: number[];
  /** MB held by live tensors after the timed steps (parameters, optimizer state, data). */
  tensorMB?: number;
  /** The process's peak resident memory so far, MB (workloads run in order in one process). */
  peakRssMB?: number;
  /** On wasm: the backend's memory, MB, after the timed steps (the largest step's intermediates; it never shrinks). */
  wasmHeapMB?: number;
  /** Tensors still alive after the workload was disposed (0: every step is leak-free). */
  leakedTensors?: number;
  error?: string;
  /** Top kernels of one step, ms (with --profile). */
  profile?: Record<string, number>;
}
