// Backend selection: the public surface of src/backend/.

export type {
  BackendInfo,
  BackendName,
  BackendPreference,
  InitBackendOptions,
  SkippedBackend,
} from './init.js';
export { initBackend } from './init.js';
export { NODE_WEBGPU_APT_PACKAGES } from './webgpu-node.js';
