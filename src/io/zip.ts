/**
 * A strict zip reader (stored and deflated members, zip64 as numpy and PyTorch write it) that checks every member's
 * CRC-32, for `.npz` archives and `torch.save` checkpoints. It reads the central directory (not the local headers'
 * sizes, which data descriptors leave at zero), bounds every size by the file, refuses encrypted members and
 * decompression bombs, and inflates a member only when it is asked for.
 */
import { inflateSync } from 'fflate';
import { FormatError } from './errors.js';

const CRC_TABLE = (() => {
  const t = new Int32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  // slicing by 4: t[k*256 + n] is the CRC of byte n followed by k zero bytes
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 4; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as zip and PNG use it) of `b`, as an unsigned 32-bit number. */
export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc;
  const t = CRC_TABLE;
  let i = 0;
  const n4 = b.length & ~3;
  for (; i < n4; i += 4) {
    c ^= b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[(c >>> 24) & 0xff]!;
  }
  for (; i < b.length; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** The member's bytes, inflated and CRC-checked (throws FormatError naming the member when they do not match). */
  data(): Uint8Array;
}

/** Deflate cannot expand data by more than ~1032×; a member claiming more is corrupt (or a zip bomb). */
const MAX_RATIO = 1100;

/** True when the bytes start like a zip archive (local file header "PK\x03\x04", or "PK\x05\x06" for an empty one). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

/** The members of a zip archive in central-directory order. `source` names the file in errors. */
export function readZip(bytes: Uint8Array, source: string, what = 'zip archive'): ZipEntry[] {
  const bad = (why: string): never => {
    throw new FormatError(source, `corrupt ${what}: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number): number => {
    const v = view.getBigUint64(o, true);
    if (v > BigInt(n)) bad(`a 64-bit size or offset (${v}) exceeds the file size ${n} (truncated?)`);
    return Number(v);
  };
  // end of central directory: the last "PK\x05\x06" within 64 KiB + 22 bytes of the end
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 0xffff); i--) {
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 5 && bytes[i + 3] === 6) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record (the file is truncated or not a zip archive)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) bad('multi-disk archives are not supported');
  const loc = eocd - 20;
  if (loc >= 0 && u32(loc) === 0x07064b50) {
    const z = u64(loc + 8);
    if (z + 56 > n || u32(z) !== 0x06064b50) bad('the zip64 end-of-central-directory record is missing');
    count = u64(z + 32);
    cdSize = u64(z + 40);
    cdOffset = u64(z + 48);
  }
  if (cdOffset + cdSize > n)
    bad(`the central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the file`);
  if (count * 46 > cdSize) bad(`${count} entries cannot fit a ${cdSize}-byte central directory`);
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let e = 0; e < count; e++) {
    if (p + 46 > end || u32(p) !== 0x02014b50) bad(`central directory entry ${e} is malformed`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let csize = u32(p + 20);
    let usize = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let local = u32(p + 42);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) bad(`central directory entry ${e} runs past the directory`);
    const name = new TextDecoder('utf-8').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: the 64-bit values of the fields that hold 0xffffffff, in this order
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = u16(x);
      const len = u16(x + 2);
      if (x + 4 + len > p + 46 + nameLen + extraLen) bad(`entry '${name}' has a malformed extra field`);
      if (id === 1) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) bad(`entry '${name}' has a short zip64 field`);
          const v = u64(q);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (local === 0xffffffff) local = take();
      }
      x += 4 + len;
    }
    p = next;
    if (flags & 1) bad(`entry '${name}' is encrypted`);
    if (method !== 0 && method !== 8)
      bad(`entry '${name}' uses compression method ${method} (only stored and deflate)`);
    if (local + 30 > n || u32(local) !== 0x04034b50) bad(`entry '${name}' has no local header at byte ${local}`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + csize > n) {
      bad(`entry '${name}' needs ${csize} bytes at ${start} but the file has ${n} (truncated)`);
    }
    if (method === 0 && csize !== usize) bad(`stored entry '${name}' has sizes ${csize} and ${usize}`);
    if (method === 8 && usize > csize * MAX_RATIO + 1024) {
      bad(`entry '${name}' claims ${usize} bytes from ${csize} compressed bytes (corrupt, or a zip bomb)`);
    }
    if (names.has(name)) bad(`entry '${name}' appears twice`);
    names.add(name);
    const raw = bytes.subarray(start, start + csize);
    let cached: Uint8Array | undefined;
    entries.push({
      name,
      method,
      compressedSize: csize,
      size: usize,
      crc,
      data: () => {
        if (cached) return cached;
        let out: Uint8Array;
        if (method === 0) out = raw;
        else {
          try {
            // one spare byte: a stream that inflates to more than the directory says is caught by the length check
            out = inflateSync(raw, { out: new Uint8Array(usize + 1) });
          } catch (err) {
            return bad(`entry '${name}' does not inflate (${(err as Error).message})`);
          }
          if (out.length !== usize) bad(`entry '${name}' inflates to ${out.length} bytes, the directory says ${usize}`);
        }
        const got = crc32(out);
        if (got !== crc) {
          bad(
            `entry '${name}' fails its CRC-32 check (stored ${hex(crc)}, computed ${hex(got)}): the file is ` +
              `damaged; copy or download it again`,
          );
        }
        cached = out;
        return out;
      },
    });
  }
  return entries;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
