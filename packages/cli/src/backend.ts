// The CLI is an app: it chooses the backend (libraries never do).
import {
  type BackendInfo,
  type BackendName,
  type BackendPreference,
  initBackend,
} from '@sculpt/backend';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from 'commander';

/** What `--backend` accepts. */
export const BACKEND_CHOICES = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;

/** Parses `--backend`. */
export function parseBackend(value: string): BackendPreference {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendPreference;
  throw new InvalidArgumentError(
    `backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${value}'.`,
  );
}

/**
 * Registers tfjs's gradients and starts the backend.
 *
 * The Node build of tfjs-core registers no gradients; importing
 * tfjs-layers does. wasm and cpu are the CLI's own dependencies, imported
 * here so core's `initBackend` finds them registered; webgpu (and tfjs-node,
 * `'tensorflow'`) are loaded by core when the user installed them.
 *
 * @param preference - `--backend` (default `'auto'`: tfjs-node if installed, else wasm).
 * @returns core's {@link BackendInfo}.
 */
export async function startBackend(preference: BackendPreference): Promise<BackendInfo> {
  // A second command in the same process (the demo trains, then samples) keeps the running backend.
  const active = tf.engine().backendName as BackendName | null;
  if (active && (preference === 'auto' || preference === active)) {
    return { name: active, requested: preference, isNode: true, skipped: [] };
  }
  await import('@tensorflow/tfjs-layers');
  if (preference === 'auto' || preference === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (preference === 'auto' || preference === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  const info = await initBackend(preference);
  if (info.name === 'wasm') await useNativeKernels();
  return info;
}

let nativeThreads: number | undefined;
let warned = false;

/**
 * On wasm, hands matMuls, convolutions and large elementwise ops to
 * `@sculpt/native`'s addon when it is built (several times faster training),
 * unless `SCULPT_NATIVE=0`. Without the addon the CLI stays on wasm alone.
 */
async function useNativeKernels(): Promise<void> {
  if (process.env.SCULPT_NATIVE === '0' || nativeThreads !== undefined) return;
  try {
    const native = await import('@sculpt/native');
    const status = native.nativeStatus();
    if (status.available) nativeThreads = native.registerNativeKernels().threads;
    else if (!warned) {
      // Said once per process: training still works, several times slower.
      warned = true;
      process.stderr.write(
        `note: running on plain wasm, @sculpt/native is not available: ${status.reason} (SCULPT_NATIVE=0 silences this)\n`,
      );
    }
  } catch {
    // The package is optional at run time: wasm alone still trains.
  }
}

/** The backend as run files and logs name it: `'wasm+native'` when the addon serves wasm. */
export function backendLabel(info: BackendInfo): string {
  return info.name === 'wasm' && nativeThreads !== undefined ? 'wasm+native' : info.name;
}

/**
 * The backend a resumed run continues on: the one it trained on, unless
 * `--backend` names another. Bit-identical resume needs the same kernels, so
 * `'auto'` means "as before" here.
 *
 * @param preference - `--backend` (`'auto'` when not given).
 * @param stored - the run's backend label from its checkpoint (`'wasm+native'`, `'cpu'`, …), if readable.
 * @returns the preference to start, and a note when it differs from the stored one.
 */
export function resumeBackend(
  preference: BackendPreference,
  stored: string | undefined,
): { preference: BackendPreference; note?: string } {
  const was = stored === 'wasm+native' ? 'wasm' : stored;
  if (!was || !(BACKEND_CHOICES as readonly string[]).includes(was)) return { preference };
  if (preference === 'auto') return { preference: was as BackendPreference };
  if (preference === was) return { preference };
  return {
    preference,
    note: `note: the run trained on ${stored} and resumes on ${preference}; its weights will not be bit-identical to an uninterrupted run`,
  };
}
