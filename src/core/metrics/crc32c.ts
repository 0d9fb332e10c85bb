import { buf as crc32cOf } from 'crc-32/crc32c';

/**
 * TFRecord's masked CRC-32C (Castagnoli) of `bytes[start, end)`. The CRC itself comes from SheetJS `crc-32`
 * (pure JS, slice-by-16 tables), which measured faster than the native `@node-rs/crc32` for the 8- and
 * ~50-byte inputs of scalar event records (the per-call N-API cost dominates there).
 */
export function maskedCrc32c(bytes: Uint8Array, start: number, end: number): number {
  const crc = crc32cOf(bytes.subarray(start, end)) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
