// Training a CycleGanModel (Zhu et al. 2017, §3–4): per step
//   1. G step (both generators, one Adam): with a ∈ A, b ∈ B,
//      L_G = (D_B(G_AB(a)) − 1)² + (D_A(G_BA(b)) − 1)²                  (LSGAN, Mao et al. 2017)
//          + λ_cyc·(|G_BA(G_AB(a)) − a|₁ + |G_AB(G_BA(b)) − b|₁)         (cycle consistency)
//          + λ_id ·(|G_AB(b) − b|₁ + |G_BA(a) − a|₁)                      (identity, λ_id = ½λ_cyc)
//   2. D step (both discriminators, one Adam) on the real batches and
//      fakes from the image pools (this step's G outputs mixed with older ones):
//      L_D = ½[(D(x) − 1)² + D(pool(fake))²] for D_A and for D_B.
// Both trainers' states, the batch Rng and the two pools make a checkpoint
// that resumes bit-exactly.
import {
  AbortError,
  adam,
  type Checkpoint,
  type JsonValue,
  type LrSchedule,
  packTrainingCheckpoint,
  Rng,
  type RngState,
  readCheckpoint,
  restoreTrainer,
  SculptError,
  type StepResult,
  saveTrainingCheckpoint,
  Trainer,
  type TrainState,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { nestStates, rngJson, stateAt } from '../trainer-state.js';
import { CYCLE_CHECKPOINT_KIND, CycleGanModel } from './model.js';
import { ImagePool } from './pool.js';

/** A training batch: real images of each domain `[N, H, W, C]` in [−1, 1] (unpaired; sizes may differ). */
export interface CycleGanBatch {
  a: tf.Tensor4D;
  b: tf.Tensor4D;
}

/** Options of {@link CycleGanTrainer}. Plain JSON except a learning rate given as a function. */
export interface CycleGanTrainOptions {
  /** Learning rate (or schedule) of both Adams. Default 2e-4. */
  learningRate?: number | LrSchedule;
  /** Adam β₁. Default 0.5. */
  beta1?: number;
  /** Adam β₂. Default 0.999. */
  beta2?: number;
  /** λ_cyc, the weight of the cycle-consistency L1. Default 10. */
  cycleWeight?: number;
  /** λ_id, the weight of the identity L1. Default ½·cycleWeight. */
  identityWeight?: number;
  /** Past fakes each discriminator's pool holds (0 = no pool). Default 50. */
  poolSize?: number;
  /** Global-norm gradient clipping of each side. Default: none. */
  clipNorm?: number;
  /** Seed of the trainer's Rngs (batches, pools). Default 0. */
  seed?: number;
}

type Resolved = Required<Omit<CycleGanTrainOptions, 'learningRate' | 'clipNorm'>> & {
  clipNorm: number | null;
  /** The learning rate when given as a number (null for a schedule: pass it again on resume). */
  learningRate: number | null;
};

function resolve(o: CycleGanTrainOptions): Resolved {
  const where = 'CycleGanTrainer';
  const cycleWeight = o.cycleWeight ?? 10;
  const r: Resolved = {
    learningRate: typeof o.learningRate === 'function' ? null : (o.learningRate ?? 2e-4),
    beta1: o.beta1 ?? 0.5,
    beta2: o.beta2 ?? 0.999,
    cycleWeight,
    identityWeight: o.identityWeight ?? 0.5 * cycleWeight,
    poolSize: o.poolSize ?? 50,
    clipNorm: o.clipNorm ?? null,
    seed: o.seed ?? 0,
  };
  for (const key of ['cycleWeight', 'identityWeight'] as const) {
    if (!(Number.isFinite(r[key]) && r[key] >= 0))
      throw new SculptError(where, `expected ${key} ≥ 0`, `got ${r[key]}`, 'use 0 to turn it off');
  }
  if (!(Number.isInteger(r.poolSize) && r.poolSize >= 0))
    throw new SculptError(where, 'expected poolSize to be an integer ≥ 0', `got ${r.poolSize}`);
  return r;
}

/** What one CycleGAN step did, as plain numbers (the diagnostics of a run). */
export interface CycleGanStepResult {
  /** Steps completed, this one included. */
  step: number;
  /** Both generators' total loss before their update. */
  generatorLoss: number;
  /** Both discriminators' total loss before their update. */
  discriminatorLoss: number;
  /** G_AB's LSGAN loss (D_B(G_AB(a)) − 1)². */
  adversarialAB: number;
  /** G_BA's LSGAN loss (D_A(G_BA(b)) − 1)². */
  adversarialBA: number;
  /** |G_BA(G_AB(a)) − a|₁, mean per pixel. */
  cycleA: number;
  /** |G_AB(G_BA(b)) − b|₁, mean per pixel. */
  cycleB: number;
  /** |G_BA(a) − a|₁, mean per pixel. */
  identityA: number;
  /** |G_AB(b) − b|₁, mean per pixel. */
  identityB: number;
  /** D_A's loss; D_B's loss. */
  discriminatorALoss: number;
  discriminatorBLoss: number;
  /** Mean patch score of D_A on real A and on pooled fake A (LSGAN targets 1 and 0). */
  dAReal: number;
  dAFake: number;
  /** Mean patch score of D_B on real B and on pooled fake B. */
  dBReal: number;
  dBFake: number;
  /** Global gradient norms (before clipping). */
  generatorGradNorm: number;
  discriminatorGradNorm: number;
  /** Learning rate used. */
  learningRate: number;
}

/** Options of {@link CycleGanTrainer.fit}. */
export interface CycleGanFitOptions {
  /** Makes the batch of step `step` (0-based) from `rng` (the trainer's batch stream); disposed after use. */
  data: (step: number, rng: Rng) => CycleGanBatch | Promise<CycleGanBatch>;
  /** How many steps this call runs. */
  steps: number;
  /** After every step (the trainer is consistent here: checkpoint, preview); may be async. */
  onStep?: (result: CycleGanStepResult) => void | Promise<void>;
  /** Stops between steps with an `AbortError`; the trainer stays resumable. */
  signal?: AbortSignal;
}

interface DBatch extends CycleGanBatch {
  fakeA: tf.Tensor4D;
  fakeB: tf.Tensor4D;
}

const l1 = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.mean(tf.abs(tf.sub(x, y)));
const towards = (scores: tf.Tensor, target: number): tf.Scalar =>
  tf.mean(tf.square(tf.sub(scores, target)));

/**
 * Trains a {@link CycleGanModel}: a G step (both generators) then a D step
 * (both discriminators, on pooled fakes), each on a core `Trainer` (Adam,
 * clipping, NaN guard, resumable state). Owns its optimizers and pools; the
 * model stays the caller's.
 *
 * @example
 * ```ts
 * const cycle = CycleGanModel.create('tiny-cycle');
 * const trainer = new CycleGanTrainer(cycle, { seed: 1 });
 * await trainer.fit({ data: (step, rng) => ({ a: drawA(rng), b: drawB(rng) }), steps: 100 });
 * await trainer.save('ckpt');
 * const { model, trainer: resumed } = await CycleGanTrainer.resume('ckpt');
 * ```
 */
export class CycleGanTrainer {
  /** The model being trained (not owned). */
  readonly model: CycleGanModel;
  /** The resolved options (JSON part). */
  readonly options: Readonly<Resolved>;
  /** The core trainer of both generators (owned). */
  readonly generatorTrainer: Trainer<CycleGanBatch>;
  /** The core trainer of both discriminators (owned). */
  readonly discriminatorTrainer: Trainer<DBatch>;
  private readonly pools: { a: ImagePool; b: ImagePool };
  private batchRng: Rng;
  /** This step's fakes, kept from the G step's forward pass for the D step. */
  private fakes: { a: tf.Tensor4D; b: tf.Tensor4D } | undefined;

  constructor(model: CycleGanModel, options: CycleGanTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    const { beta1, beta2, clipNorm, seed, poolSize } = this.options;
    const [gRng, dRng, batchRng, poolA, poolB] = new Rng(seed).split(5) as Rng[];
    this.batchRng = batchRng;
    this.pools = { a: new ImagePool(poolSize, poolA), b: new ImagePool(poolSize, poolB) };
    const shared = {
      learningRate: options.learningRate ?? 2e-4,
      ...(clipNorm === null ? {} : { clipNorm }),
    };
    this.generatorTrainer = new Trainer<CycleGanBatch>({
      ...shared,
      optimizer: adam({ beta1, beta2 }),
      params: model.generators as Record<string, tf.Variable>,
      loss: (_p, batch) => this.generatorObjective(batch),
      rng: gRng,
    });
    this.discriminatorTrainer = new Trainer<DBatch>({
      ...shared,
      params: model.discriminators as Record<string, tf.Variable>,
      optimizer: adam({ beta1, beta2 }),
      loss: (_p, batch) => this.discriminatorObjective(batch),
      rng: dRng,
    });
  }

  /** Steps completed so far. */
  get stepCount(): number {
    return this.discriminatorTrainer.stepCount;
  }

  /** L_G with its parts as terms; keeps G_AB(a) and G_BA(b) for the D step. Runs inside the G trainer's tape. */
  private generatorObjective({ a, b }: CycleGanBatch) {
    const m = this.model;
    const { cycleWeight, identityWeight } = this.options;
    const fakeB = m.generate('AtoB', a);
    const fakeA = m.generate('BtoA', b);
    const terms: Record<string, tf.Scalar> = {
      adversarialAB: towards(m.critic('B', fakeB), 1),
      adversarialBA: towards(m.critic('A', fakeA), 1),
      cycleA: l1(m.generate('BtoA', fakeB), a),
      cycleB: l1(m.generate('AtoB', fakeA), b),
    };
    let loss = tf.addN([
      terms.adversarialAB,
      terms.adversarialBA,
      tf.mul(tf.add(terms.cycleA, terms.cycleB), cycleWeight),
    ]) as tf.Scalar;
    if (identityWeight > 0) {
      terms.identityA = l1(m.generate('BtoA', a), a);
      terms.identityB = l1(m.generate('AtoB', b), b);
      loss = tf.add(loss, tf.mul(tf.add(terms.identityA, terms.identityB), identityWeight));
    }
    this.fakes = { a: tf.keep(fakeA), b: tf.keep(fakeB) };
    return { loss, terms };
  }

  /** L_D of both discriminators with their scores as terms. Runs inside the D trainer's tape. */
  private discriminatorObjective({ a, b, fakeA, fakeB }: DBatch) {
    const m = this.model;
    const side = (domain: 'A' | 'B', real: tf.Tensor4D, fake: tf.Tensor4D) => {
      const r = m.critic(domain, real);
      const f = m.critic(domain, fake);
      return { loss: tf.mul(tf.add(towards(r, 1), towards(f, 0)), 0.5), real: r, fake: f };
    };
    const da = side('A', a, fakeA);
    const db = side('B', b, fakeB);
    const terms: Record<string, tf.Scalar> = {
      discriminatorALoss: da.loss as tf.Scalar,
      discriminatorBLoss: db.loss as tf.Scalar,
      dAReal: tf.mean(da.real),
      dAFake: tf.mean(da.fake),
      dBReal: tf.mean(db.real),
      dBFake: tf.mean(db.fake),
    };
    return { loss: tf.add(da.loss, db.loss) as tf.Scalar, terms };
  }

  /**
   * One step (both G's, then both D's) on a batch (not disposed).
   * @returns the step's diagnostics (plain numbers).
   * @throws SculptError for a batch of the wrong shape; NonFiniteLossError (core's) before a bad update.
   */
  async step(batch: CycleGanBatch): Promise<CycleGanStepResult> {
    const where = 'CycleGanTrainer.step';
    this.model.checkImages(`${where} (batch.a)`, batch?.a);
    this.model.checkImages(`${where} (batch.b)`, batch?.b);
    this.dropFakes();
    const g = await this.generatorTrainer.step(batch);
    const fakes = this.fakes as unknown as { a: tf.Tensor4D; b: tf.Tensor4D };
    const fakeA = this.pools.a.query(fakes.a);
    const fakeB = this.pools.b.query(fakes.b);
    this.dropFakes();
    try {
      const d = await this.discriminatorTrainer.step({ ...batch, fakeA, fakeB });
      return this.result(g, d);
    } finally {
      tf.dispose([fakeA, fakeB]);
    }
  }

  private dropFakes(): void {
    if (this.fakes) tf.dispose([this.fakes.a, this.fakes.b]);
    this.fakes = undefined;
  }

  private result(g: StepResult, d: StepResult): CycleGanStepResult {
    const t: Record<string, number> = { identityA: 0, identityB: 0, ...g.terms, ...d.terms };
    return {
      step: d.step,
      generatorLoss: g.loss,
      discriminatorLoss: d.loss,
      adversarialAB: t.adversarialAB,
      adversarialBA: t.adversarialBA,
      cycleA: t.cycleA,
      cycleB: t.cycleB,
      identityA: t.identityA,
      identityB: t.identityB,
      discriminatorALoss: t.discriminatorALoss,
      discriminatorBLoss: t.discriminatorBLoss,
      dAReal: t.dAReal,
      dAFake: t.dAFake,
      dBReal: t.dBReal,
      dBFake: t.dBFake,
      generatorGradNorm: g.gradNorm,
      discriminatorGradNorm: d.gradNorm,
      learningRate: g.lr,
    };
  }

  /**
   * Runs `steps` steps, one batch each from `data(step, rng)`.
   * An aborted `signal` stops it between steps with core's `AbortError`.
   * @returns the last step's diagnostics (undefined when `steps` is 0).
   */
  async fit(options: CycleGanFitOptions): Promise<CycleGanStepResult | undefined> {
    const { data, steps, onStep, signal } = options;
    if (!(Number.isInteger(steps) && steps >= 0))
      throw new SculptError('CycleGanTrainer.fit', 'steps must be an integer ≥ 0', `got ${steps}`);
    let last: CycleGanStepResult | undefined;
    for (let done = 0; done < steps; done++) {
      if (signal?.aborted) {
        throw new AbortError(
          'CycleGanTrainer.fit',
          `expected to run ${steps} steps`,
          `got aborted after ${done} (trainer at step ${this.stepCount})`,
          'call fit again with the remaining steps to resume',
        );
      }
      const batch = await data(this.stepCount, this.batchRng.split() as Rng);
      try {
        last = await this.step(batch);
      } finally {
        tf.dispose([batch.a, batch.b]);
      }
      await onStep?.(last);
    }
    return last;
  }

  /**
   * Both trainers' states, the batch Rng and the pools: tensors `g/…`, `d/…`,
   * `pool/a`, `pool/b`; json `{ g, d, batchRng, poolRngs }`.
   * @returns fresh tensors the caller owns.
   */
  getState(): TrainState {
    const { tensors, json } = nestStates({
      g: this.generatorTrainer.getState(),
      d: this.discriminatorTrainer.getState(),
    });
    const poolRngs: JsonValue[] = [];
    for (const key of ['a', 'b'] as const) {
      const s = this.pools[key].getState();
      if (s.images) tensors[`pool/${key}`] = s.images;
      poolRngs.push(rngJson(s.rng));
    }
    return {
      tensors,
      json: { ...json, batchRng: rngJson(this.batchRng.getState()), poolRngs },
    };
  }

  /** Restores a state from {@link CycleGanTrainer.getState} (copies it in). */
  setState(state: TrainState): void {
    const part = (prefix: string): TrainState => stateAt('CycleGanTrainer.setState', state, prefix);
    const poolRngs = state.json.poolRngs as unknown as RngState[];
    const batchRng = Rng.fromState(state.json.batchRng as unknown as RngState);
    this.generatorTrainer.setState(part('g'));
    this.discriminatorTrainer.setState(part('d'));
    this.pools.a.setState({ images: state.tensors['pool/a'] as tf.Tensor4D, rng: poolRngs[0] });
    this.pools.b.setState({ images: state.tensors['pool/b'] as tf.Tensor4D, rng: poolRngs[1] });
    this.batchRng = batchRng;
  }

  /**
   * Weights, config and the whole training state in sculpt's checkpoint layout.
   * @returns a checkpoint whose `trainer/` tensors are fresh copies the caller
   *   disposes; the `model/` tensors are the model's own variables (do not dispose).
   */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    return packTrainingCheckpoint({
      kind: CYCLE_CHECKPOINT_KIND,
      version: 1,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.weights,
      trainer: this.getState(),
      extra: { trainOptions: this.options as unknown as JsonValue, ...extra },
    });
  }

  /** Saves weights, trainer state, config and options (atomic). */
  save(dir: string): Promise<void> {
    return saveTrainingCheckpoint(dir, this.checkpoint());
  }

  /**
   * Loads a checkpoint written by `save` and continues where it stopped.
   * @returns a new model and trainer; the caller owns both.
   * @example `const { model, trainer } = await CycleGanTrainer.resume('checkpoints/cycle')`
   */
  static resume(
    dir: string,
    options: CycleGanTrainOptions = {},
  ): Promise<{ model: CycleGanModel; trainer: CycleGanTrainer }> {
    return readCheckpoint(
      dir,
      (c) => CycleGanTrainer.fromCheckpoint('CycleGanTrainer.resume', c, options),
      CycleGanModel.loadOptions(),
    );
  }

  /**
   * A model and trainer from a training checkpoint (the tensors are read, not taken).
   * @returns a new model and trainer; the caller owns both.
   */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: CycleGanTrainOptions = {},
  ): { model: CycleGanModel; trainer: CycleGanTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: CYCLE_CHECKPOINT_KIND,
      modelName: 'CycleGanModel',
      model: (w, c) => CycleGanModel.fromCheckpoint(w, c),
      trainer: (model, extra) => {
        // JSON null marks an option that was not a plain number (no clipping, a schedule).
        const stored = Object.fromEntries(
          Object.entries((extra.trainOptions ?? {}) as Record<string, JsonValue>).filter(
            ([, v]) => v !== null,
          ),
        ) as CycleGanTrainOptions;
        return new CycleGanTrainer(model, { ...stored, ...options });
      },
      setState: (trainer, state) => trainer.setState(state),
    });
  }

  /** Frees both optimizers, the pools and any kept fakes (not the model). */
  dispose(): void {
    this.dropFakes();
    this.generatorTrainer.dispose();
    this.discriminatorTrainer.dispose();
    this.pools.a.dispose();
    this.pools.b.dispose();
  }
}
