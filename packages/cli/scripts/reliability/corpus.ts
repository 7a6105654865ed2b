// The corpus of inputs that once broke a loader (the defects of the
// reliability issue, rebuilt as bytes, and any later fuzz finding). The unit
// tests replay every entry: each must load correctly or give a CheckpointError.
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { joinBlob, splitBlob } from './mutate.js';

/** One kept input. */
export interface CorpusEntry {
  /** A fuzz target name: `decodeSafetensors`, `checkpointFromBytes` or `family:<name>`. */
  target: string;
  /** What was wrong when it was found. */
  note: string;
  /** The input, gzip then base64 ({@link unpack} reads it). */
  bytes: string;
}

/** An input as stored in the corpus: gzip, then base64 (deep nesting packs small). */
export function pack(bytes: Uint8Array): string {
  return gzipSync(bytes).toString('base64');
}

/** The bytes of a stored input. */
export function unpack(text: string): Uint8Array {
  return new Uint8Array(gunzipSync(Buffer.from(text, 'base64')));
}

/** The corpus file beside this module. */
export const CORPUS_FILE = new URL('./corpus.json', import.meta.url);

/** Reads the corpus file. */
export function readCorpus(): CorpusEntry[] {
  return JSON.parse(readFileSync(CORPUS_FILE, 'utf8')) as CorpusEntry[];
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

function edit(base: Uint8Array, change: (h: Header) => void): string {
  const { header, data } = splitBlob(base);
  change(header as unknown as Header);
  return pack(joinBlob(JSON.stringify(header), data));
}

function withText(base: Uint8Array, change: (text: string) => string): string {
  const { header, data } = splitBlob(base);
  return pack(joinBlob(change(JSON.stringify(header)), data));
}

/** The historic defects, rebuilt from a safetensors base and a checkpoint base. */
export function historicEntries(safetensors: Uint8Array, checkpoint: Uint8Array): CorpusEntry[] {
  const nested = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
  const st = (note: string, bytes: string) => ({ target: 'decodeSafetensors', note, bytes });
  const ck = (note: string, bytes: string) => ({ target: 'checkpointFromBytes', note, bytes });
  return [
    st(
      'a tensor named __proto__ became the prototype and leaked',
      withText(safetensors, (t) => t.replace('"a":', '"__proto__":')),
    ),
    st(
      'deep nesting overflowed JSON.stringify in the error message',
      withText(safetensors, (t) => t.replace('"shape":[2,3]', `"shape":${nested}`)),
    ),
    st(
      'a header length of 2^63 (huge allocation)',
      pack(
        joinBlob(
          JSON.stringify(splitBlob(safetensors).header),
          splitBlob(safetensors).data,
          2n ** 63n,
        ),
      ),
    ),
    ck(
      'same-shape tensors with swapped offsets loaded into the wrong names',
      edit(checkpoint, (h) => {
        [h.w1.data_offsets, h.w2.data_offsets] = [h.w2.data_offsets, h.w1.data_offsets];
      }),
    ),
    ck(
      'same-width dtype swap (F32 → I32) loaded silently',
      edit(checkpoint, (h) => {
        h.w1.dtype = 'I32';
      }),
    ),
    ck(
      'same-size reshape ([3, 2] → [2, 3]) loaded silently',
      edit(checkpoint, (h) => {
        h.w1.shape = [2, 3];
      }),
    ),
    ck(
      'renamed tensor loaded silently',
      withText(checkpoint, (t) => t.replace('"w1":', '"w3":')),
    ),
    ck(
      'edited embedded JSON loaded silently',
      withText(checkpoint, (t) => t.replace('\\"step\\":7', '\\"step\\":8')),
    ),
    ck(
      'a duplicate key (JSON.parse keeps the last; loading the last is correct)',
      withText(
        checkpoint,
        (t) => `{"w1":${JSON.stringify(splitBlob(checkpoint).header.w2)},${t.slice(1)}`,
      ),
    ),
  ];
}
