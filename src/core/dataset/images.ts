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

/** Recognises a video container by its first bytes (what the loaders' decoders open); undefined otherwise. */
export function sniffVideo(head: Buffer): string | undefined {
  const b = head;
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') {
    const brand = b.toString('latin1', 8, 12);
    if (/^(heic|heix|mif1|avif)/.test(brand)) return undefined; // still images in the same box format
    return brand === 'qt  ' ? 'QuickTime' : 'MP4';
  }
  // QuickTime files written without an ftyp box start with another top-level atom.
  if (b.length >= 8 && /^(moov|mdat|wide|free|skip)$/.test(b.toString('latin1', 4, 8))) return 'QuickTime';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'WebM/Matroska';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'AVI ') return 'AVI';
  return undefined;
}

/** Checks image files once each (datasets reuse the same image across many samples). */
export class ImageChecker {
  private readonly cache = new Map<string, ImageStatus>();
  private readonly head = Buffer.alloc(16);

  check(absolutePath: string, expect: 'image' | 'video' = 'image'): ImageStatus {
    const key = `${expect === 'image' ? 'i' : 'v'}${absolutePath}`;
    let status = this.cache.get(key);
    if (!status) {
      status = this.probe(absolutePath, expect);
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(key, status);
    }
    return status;
  }

  private probe(absolutePath: string, expect: 'image' | 'video'): ImageStatus {
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
      const head = this.head.subarray(0, n);
      const kind = expect === 'image' ? sniffImage(head) : sniffVideo(head);
      if (!kind) {
        const what = expect === 'image' ? 'a PNG, JPEG, GIF, WebP, BMP or TIFF image' : 'an MP4, QuickTime, WebM, Matroska or AVI video';
        return { ok: false, reason: 'not-image', detail: n === 0 ? 'is empty' : `is not ${what} (by its header)` };
      }
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
