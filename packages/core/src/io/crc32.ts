// CRC-32 (IEEE 802.3, the zlib/PNG polynomial 0xEDB88320, reflected).
// Checkpoints store it to catch bytes that were flipped or swapped on disk:
// the safetensors header only catches truncation.

function makeTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32 of `bytes` as an unsigned integer (`crc32(ascii('123456789')) === 0xcbf43926`).
 * The 1 KiB table is built per call: negligible next to hashing megabytes of weights,
 * and it keeps the module free of state.
 */
export function crc32(bytes: Uint8Array): number {
  const table = makeTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
