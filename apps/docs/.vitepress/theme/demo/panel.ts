// One demo panel's life, shared by the GAN demo's components: start the page's
// backend, load a model, draw, redraw on demand (one draw in flight; controls
// that outrun it get one more draw with their newest values), count
// tf.memory().numTensors after every draw (growth = a leak), free the model
// when the panel goes.
import type { BackendInfo } from '@sculpt/backend';
import { onBeforeUnmount, onMounted, type Ref, ref, type ShallowRef, shallowRef } from 'vue';

/** What a panel loaded: anything it must free when it goes. */
export interface Disposable {
  dispose(): void;
}

/** The reactive state of a panel and its redraw. */
export interface DemoPanel<L extends Disposable> {
  info: ShallowRef<BackendInfo | null>;
  error: Ref<string | null>;
  phase: Ref<'loading' | 'ready' | 'error'>;
  /** What `load` returned, once it has. */
  lib: ShallowRef<L | null>;
  /** Draws completed so far (the browser tests wait on it). */
  draws: Ref<number>;
  /** tf.memory().numTensors after each draw. */
  tensorsAfter: Ref<number[]>;
  /** Draws again with the current controls (queued behind a draw in flight). */
  redraw: () => Promise<void>;
}

/**
 * A panel that loads with `load` once the backend runs and draws with `draw`.
 * @example `const panel = useDemoPanel(() => loadModel(), (lib) => drawBatch(lib))`
 */
export function useDemoPanel<L extends Disposable>(
  load: () => Promise<L>,
  draw: (lib: L) => Promise<void>,
): DemoPanel<L> {
  const panel: DemoPanel<L> = {
    info: shallowRef(null),
    error: ref(null),
    phase: ref('loading'),
    lib: shallowRef(null),
    draws: ref(0),
    tensorsAfter: ref([]),
    redraw: async () => {},
  };
  let countTensors = () => 0;
  const fail = (err: unknown) => {
    panel.error.value = err instanceof Error ? err.message : String(err);
    panel.phase.value = 'error';
  };
  let busy = false;
  let again = false;
  panel.redraw = async () => {
    const lib = panel.lib.value;
    if (!lib) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await draw(lib);
        panel.draws.value++;
        panel.tensorsAfter.value = [...panel.tensorsAfter.value, countTensors()];
      } while (again);
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
    }
  };
  onMounted(async () => {
    try {
      const { startBackend } = await import('./backend');
      panel.info.value = await startBackend();
      const tf = await import('@tensorflow/tfjs-core');
      countTensors = () => tf.memory().numTensors;
      panel.lib.value = await load();
      await panel.redraw();
      if (panel.phase.value !== 'error') panel.phase.value = 'ready';
    } catch (err) {
      fail(err);
    }
  });
  onBeforeUnmount(() => panel.lib.value?.dispose());
  return panel;
}
