// Every package trainer's own resume(dir) is bit-exact on the cpu backend
// (GanTrainer's and CycleGanTrainer's are in @sculpt/gan's tests, on cpu and wasm).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { trainerResumeSuite } from './testing/trainer-resume.js';

trainerResumeSuite('cpu');
