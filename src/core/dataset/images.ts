import { closeSync, openSync, readSync } from 'node:fs';

export type ImageStatus = { ok: true; kind: string } | { ok: false; reason: 'missing' | 'not-image' | 'unreadable' | 'directory'; detail: string };

/** Recognises an image by its first bytes (what PIL would open); never decodes the whole file. */
export function sniffImage(head: Buffer): string | undefined {
  const b = head;
  if (b.length >= 8 && b[0] === 0x89 && b.toString('latin1', 1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a) return 'PNG';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return 'GIF';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'WebP';
  if (b.length >= 2 && b.toString('latin1', 0, 2) === 'BM') return 'BMP';
  if (b.length >= 4 && (b.toString('latin1', 0, 4) === 'II*\0' || b.toString('latin1', 0, 4) === 'MM\0*')) return 'TIFF';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && /^(heic|heix|mif1|avif)/.test(b.toString('latin1', 8, 12))) return 'HEIF/AVIF';
  return undefined;
}

/** Checks image files once each (datasets reuse the same image across many samples). */
export class ImageChecker {
  private readonly cache = new Map<string, ImageStatus>();
  private readonly head = Buffer.alloc(16);

  check(absolutePath: string, expectImage = true): ImageStatus {
    const key = `${expectImage ? 'i' : 'f'}${absolutePath}`;
    let status = this.cache.get(key);
    if (!status) {
      status = this.probe(absolutePath, expectImage);
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(key, status);
    }
    return status;
  }

  private probe(absolutePath: string, expectImage: boolean): ImageStatus {
    let fd: number;
    try {
      fd = openSync(absolutePath, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing', detail: 'does not exist' };
      if (code === 'EISDIR') return { ok: false, reason: 'directory', detail: 'is a folder' };
      return { ok: false, reason: 'unreadable', detail: `cannot be opened (${code ?? 'error'})` };
    }
    try {
      const n = readSync(fd, this.head, 0, this.head.length, 0);
      if (!expectImage) return { ok: true, kind: 'file' };
      const kind = sniffImage(this.head.subarray(0, n));
      if (!kind) return { ok: false, reason: 'not-image', detail: n === 0 ? 'is empty' : 'is not a PNG, JPEG, GIF, WebP, BMP or TIFF image (by its header)' };
      return { ok: true, kind };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') return { ok: false, reason: 'directory', detail: 'is a folder' };
      return { ok: false, reason: 'unreadable', detail: `cannot be read (${code ?? 'error'})` };
    } finally {
      closeSync(fd);
    }
  }
}
