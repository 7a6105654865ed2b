// Resume is bit-exact on the cpu backend for every registered family, through
// the API (save, load, restore, train on) and through the CLI (Ctrl-C, then a
// plain --resume continues on the run's own backend).
import '@tensorflow/tfjs-backend-cpu';
import { resumeSuite } from './testing/resume-suite.js';

resumeSuite('cpu');
