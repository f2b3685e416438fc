/**
 * OpenEXR (single-part, scanline) reader and writer: enough for the reference's maps, which OpenCV writes
 * (float channels "B", "G", "R", ZIP compression by default), and for our own.
 *
 * Reader: compression NONE, RLE, ZIPS, ZIP (zlib + the EXR byte predictor and even/odd interleave); HALF, FLOAT and
 * UINT channels; any channel names. PIZ, PXR24, B44, tiled, deep and multi-part files are refused with a message.
 * Writer: NONE or ZIP, FLOAT or HALF channels.
 *
 * Channel order: EXR stores channels sorted by name, so an OpenCV 3-channel image is stored B, G, R, and OpenCV's
 * channel 0 is "B". The reference writes xyz maps with cv2, hence x -> B, y -> G, z -> R; `readExrXyz` undoes that.
 */
import { unzlibSync, zlibSync } from 'fflate';
import { FormatError, InputError } from './errors.js';
import { checkFinite } from './finite.js';
import { floatToHalf, halfToFloat } from './half.js';

export type ExrPixelType = 'uint' | 'half' | 'float';
export type ExrCompression = 'none' | 'rle' | 'zips' | 'zip' | 'piz' | 'pxr24' | 'b44' | 'b44a' | 'dwaa' | 'dwab';
const COMPRESSIONS: ExrCompression[] = ['none', 'rle', 'zips', 'zip', 'piz', 'pxr24', 'b44', 'b44a', 'dwaa', 'dwab'];
const PIXEL_TYPES: ExrPixelType[] = ['uint', 'half', 'float'];
const LINES_PER_BLOCK: Record<ExrCompression, number> = {
  none: 1,
  rle: 1,
  zips: 1,
  zip: 16,
  piz: 32,
  pxr24: 16,
  b44: 32,
  b44a: 32,
  dwaa: 32,
  dwab: 256,
};

export interface ExrChannel {
  name: string;
  type: ExrPixelType;
  /** Values in row-major order (height x width), widened to float32 (uint channels as float32 too). */
  data: Float32Array;
}

export interface ExrImage {
  width: number;
  height: number;
  /** Channels in file order (sorted by name). */
  channels: ExrChannel[];
  compression: ExrCompression;
}

const MAGIC = 20000630;

class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (!(n >= 0) || this.pos + n > this.bytes.length) {
      throw new FormatError(this.source, `truncated EXR file (at byte ${this.pos})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }
  str(): string {
    const start = this.pos;
    while (this.pos < this.bytes.length && this.bytes[this.pos] !== 0) this.pos++;
    if (this.pos >= this.bytes.length) throw new FormatError(this.source, 'truncated EXR header');
    const s = new TextDecoder().decode(this.bytes.subarray(start, this.pos));
    this.pos++;
    return s;
  }
}

interface ChannelInfo {
  name: string;
  type: ExrPixelType;
  xSampling: number;
  ySampling: number;
}

function bytesPerSample(t: ExrPixelType): number {
  return t === 'half' ? 2 : 4;
}

export interface ExrReadOptions {
  /** Accept NaN/±Inf in HALF and FLOAT channels (default false: they are refused, naming the channel and pixel). */
  allowNonFinite?: boolean;
}

/** Decompressed data cannot exceed ~1032× the compressed size (deflate's limit); larger images are corrupt. */
const MAX_EXPANSION = 1100;

/** Decode an EXR file. `source` names it in errors. */
export function decodeExr(bytes: Uint8Array, source = 'EXR data', options: ExrReadOptions = {}): ExrImage {
  const r = new Reader(bytes, source);
  const bad = (why: string): never => {
    throw new FormatError(source, why);
  };
  if (bytes.length < 8 || r.i32() !== MAGIC) bad('not an OpenEXR file (bad magic number)');
  const version = r.i32();
  if ((version & 0xff) !== 2) bad(`unsupported EXR version ${version & 0xff}`);
  if (version & 0x200) bad('tiled EXR files are not supported (scanline only)');
  if (version & 0x800) bad('deep EXR files are not supported');
  if (version & 0x1000) bad('multi-part EXR files are not supported');

  let channels: ChannelInfo[] | undefined;
  let compression: ExrCompression | undefined;
  let dataWindow: [number, number, number, number] | undefined;
  let lineOrder = 0;
  for (;;) {
    const name = r.str();
    if (name === '') break;
    const type = r.str();
    const size = r.i32();
    if (size < 0) bad(`attribute '${name}' has a negative size`);
    const end = r.pos + size;
    r.need(size);
    if (name === 'channels' && type === 'chlist') {
      channels = [];
      for (;;) {
        if (r.pos >= end) bad(`the channel list runs past its attribute`);
        const cn = r.str();
        if (cn === '') break;
        const pt = r.i32();
        r.need(4);
        r.pos += 4; // pLinear + reserved
        const xs = r.i32();
        const ys = r.i32();
        const t = PIXEL_TYPES[pt];
        if (!t) bad(`channel '${cn}' has unknown pixel type ${pt}`);
        if (channels.some((c) => c.name === cn)) bad(`channel '${cn}' is listed twice`);
        channels.push({ name: cn, type: t!, xSampling: xs, ySampling: ys });
      }
    } else if (name === 'compression') {
      const c = COMPRESSIONS[r.u8()];
      if (!c) bad('unknown EXR compression code');
      compression = c;
    } else if (name === 'dataWindow') {
      dataWindow = [r.i32(), r.i32(), r.i32(), r.i32()];
    } else if (name === 'lineOrder') {
      lineOrder = r.u8();
    }
    if (r.pos > end) bad(`attribute '${name}' is longer than its size says`);
    r.pos = end;
  }
  if (!channels) return bad(`EXR header has no 'channels' attribute`);
  if (!compression) return bad(`EXR header has no 'compression' attribute`);
  if (!dataWindow) return bad(`EXR header has no 'dataWindow' attribute`);
  if (!['none', 'rle', 'zips', 'zip'].includes(compression)) {
    bad(
      `EXR compression '${compression.toUpperCase()}' is not supported (NONE, RLE, ZIPS, ZIP are); ` +
        `re-save the file with ZIP compression (e.g. cv2.imwrite with IMWRITE_EXR_COMPRESSION=3)`,
    );
  }
  if (channels.length === 0) bad('the image has no channels');
  for (const c of channels) {
    if (c.xSampling !== 1 || c.ySampling !== 1) bad(`subsampled channel '${c.name}' not supported`);
  }
  void lineOrder; // chunks carry their own y, so line order does not matter for reading
  const [x0, y0, x1, y1] = dataWindow;
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  if (width <= 0 || height <= 0) bad(`empty data window [${dataWindow}]`);
  const lineBytes = channels.reduce((s, c) => s + bytesPerSample(c.type) * width, 0);
  // every pixel's bytes must come from the file: bound the image by what even maximal compression could hold
  if (lineBytes * height > (bytes.length - r.pos) * MAX_EXPANSION) {
    bad(`a ${width}x${height} image of ${channels.length} channels cannot fit in ${bytes.length} bytes (truncated?)`);
  }
  const lpb = LINES_PER_BLOCK[compression];
  const nChunks = Math.ceil(height / lpb);
  const offsets: number[] = [];
  for (let i = 0; i < nChunks; i++) offsets.push(r.u64());

  const out = channels.map((c) => ({ name: c.name, type: c.type, data: new Float32Array(width * height) }));
  const filled = new Uint8Array(Math.ceil(height / lpb));
  for (let ci = 0; ci < nChunks; ci++) {
    if (!(offsets[ci]! >= 0 && offsets[ci]! < bytes.length))
      bad(`chunk ${ci} starts past the end of the file (truncated?)`);
    r.pos = offsets[ci]!;
    const y = r.i32();
    const size = r.i32();
    if (size < 0) bad(`chunk ${ci} has a negative size`);
    r.need(size);
    const packed = bytes.subarray(r.pos, r.pos + size);
    const row0 = y - y0;
    if (row0 < 0 || row0 >= height || row0 % lpb !== 0) bad(`chunk ${ci} has scanline ${y} outside the data window`);
    if (filled[row0 / lpb]) bad(`scanline ${y} is stored twice`);
    filled[row0 / lpb] = 1;
    const rows = Math.min(lpb, height - row0);
    const expected = rows * lineBytes;
    let raw: Uint8Array;
    if (size === expected) raw = packed;
    else if (compression === 'zip' || compression === 'zips') raw = unpredict(inflate(packed, expected, source, ci));
    else if (compression === 'rle') raw = unpredict(unrle(packed, expected, source, ci));
    else return bad(`chunk ${ci} has ${size} bytes, expected ${expected}`);
    if (raw.length !== expected) bad(`chunk ${ci} decodes to ${raw.length} bytes, expected ${expected}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let p = 0;
    for (let k = 0; k < rows; k++) {
      const rowBase = (row0 + k) * width;
      for (let c = 0; c < channels.length; c++) {
        const dst = out[c]!.data;
        const t = channels[c]!.type;
        if (t === 'half') {
          for (let x = 0; x < width; x++, p += 2) dst[rowBase + x] = halfToFloat(dv.getUint16(p, true));
        } else if (t === 'float') {
          for (let x = 0; x < width; x++, p += 4) dst[rowBase + x] = dv.getFloat32(p, true);
        } else {
          for (let x = 0; x < width; x++, p += 4) dst[rowBase + x] = dv.getUint32(p, true);
        }
      }
    }
  }
  if (!options.allowNonFinite) {
    for (const c of out) if (c.type !== 'uint') checkFinite(c.data, source, `channel ${c.name}`, [height, width]);
  }
  return { width, height, channels: out, compression };
}

function inflate(packed: Uint8Array, expected: number, source: string, chunk: number): Uint8Array {
  try {
    // one spare byte: data that inflates to more than expected is caught by the caller's length check
    return unzlibSync(packed, { out: new Uint8Array(expected + 1) });
  } catch (e) {
    throw new FormatError(source, `corrupt ZIP data in chunk ${chunk}: ${(e as Error).message}`);
  }
}

function unrle(packed: Uint8Array, expected: number, source: string, chunk: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  let i = 0;
  while (i < packed.length) {
    const n = (packed[i++]! << 24) >> 24; // signed byte
    if (n < 0) {
      const cnt = -n;
      if (o + cnt > expected || i + cnt > packed.length)
        throw new FormatError(source, `corrupt RLE data in chunk ${chunk}`);
      out.set(packed.subarray(i, i + cnt), o);
      o += cnt;
      i += cnt;
    } else {
      const cnt = n + 1;
      if (o + cnt > expected || i >= packed.length) throw new FormatError(source, `corrupt RLE data in chunk ${chunk}`);
      out.fill(packed[i++]!, o, o + cnt);
      o += cnt;
    }
  }
  return out.subarray(0, o);
}

/** Undo the EXR predictor (byte deltas + 128), then re-interleave the two halves (even bytes first, odd second). */
function unpredict(t: Uint8Array): Uint8Array {
  const n = t.length;
  for (let i = 1; i < n; i++) t[i] = (t[i - 1]! + t[i]! - 128) & 0xff;
  const out = new Uint8Array(n);
  const half = (n + 1) >> 1;
  for (let i = 0, a = 0, b = half; i < n;) {
    out[i++] = t[a++]!;
    if (i < n) out[i++] = t[b++]!;
  }
  return out;
}

/** The inverse of `unpredict`: split even/odd bytes into two halves, then delta-encode (+128). */
function predict(raw: Uint8Array): Uint8Array {
  const n = raw.length;
  const t = new Uint8Array(n);
  const half = (n + 1) >> 1;
  for (let i = 0, a = 0, b = half; i < n;) {
    t[a++] = raw[i++]!;
    if (i < n) t[b++] = raw[i++]!;
  }
  for (let i = n - 1; i > 0; i--) t[i] = (t[i]! - t[i - 1]! + 128) & 0xff;
  return t;
}

export interface ExrWriteOptions {
  /** 'zip' (default; what OpenCV writes) or 'none'. */
  compression?: 'none' | 'zip';
  /** Sample type of every channel (default 'float'). */
  type?: 'float' | 'half';
}

/**
 * Encode channels (each row-major height x width) as a scanline EXR. Channels are written sorted by name, as the
 * format requires.
 */
export function encodeExr(
  width: number,
  height: number,
  channels: { name: string; data: ArrayLike<number> }[],
  options: ExrWriteOptions = {},
): Uint8Array {
  const compression = options.compression ?? 'zip';
  const type = options.type ?? 'float';
  const chans = [...channels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of chans) {
    if (c.data.length !== width * height) {
      throw new Error(`encodeExr: channel '${c.name}' has ${c.data.length} values, expected ${width}x${height}`);
    }
  }
  const enc = new TextEncoder();
  const parts: number[] = [];
  const pushBytes = (b: ArrayLike<number>) => {
    for (let i = 0; i < b.length; i++) parts.push(b[i]!);
  };
  const i32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return b;
  };
  const f32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return b;
  };
  const attr = (name: string, t: string, value: ArrayLike<number>) => {
    pushBytes(enc.encode(name));
    parts.push(0);
    pushBytes(enc.encode(t));
    parts.push(0);
    pushBytes(i32(value.length));
    pushBytes(value);
  };
  pushBytes(i32(MAGIC));
  pushBytes(i32(2));
  const chl: number[] = [];
  const pt = type === 'half' ? 1 : 2;
  for (const c of chans) {
    chl.push(...enc.encode(c.name), 0, ...i32(pt), 0, 0, 0, 0, ...i32(1), ...i32(1));
  }
  chl.push(0);
  attr('channels', 'chlist', chl);
  attr('compression', 'compression', [compression === 'zip' ? 3 : 0]);
  const box = [...i32(0), ...i32(0), ...i32(width - 1), ...i32(height - 1)];
  attr('dataWindow', 'box2i', box);
  attr('displayWindow', 'box2i', box);
  attr('lineOrder', 'lineOrder', [0]);
  attr('pixelAspectRatio', 'float', f32(1));
  attr('screenWindowCenter', 'v2f', [...f32(0), ...f32(0)]);
  attr('screenWindowWidth', 'float', f32(1));
  parts.push(0);
  const header = Uint8Array.from(parts);

  const lpb = LINES_PER_BLOCK[compression];
  const nChunks = Math.ceil(height / lpb);
  const bps = type === 'half' ? 2 : 4;
  const chunks: Uint8Array[] = [];
  for (let ci = 0; ci < nChunks; ci++) {
    const row0 = ci * lpb;
    const rows = Math.min(lpb, height - row0);
    const raw = new Uint8Array(rows * chans.length * width * bps);
    const dv = new DataView(raw.buffer);
    let p = 0;
    for (let k = 0; k < rows; k++) {
      const base = (row0 + k) * width;
      for (const c of chans) {
        if (type === 'half')
          for (let x = 0; x < width; x++, p += 2) dv.setUint16(p, floatToHalf(c.data[base + x]!), true);
        else for (let x = 0; x < width; x++, p += 4) dv.setFloat32(p, c.data[base + x]!, true);
      }
    }
    let data = raw;
    if (compression === 'zip') {
      const z = zlibSync(predict(raw), { level: 4 });
      if (z.length < raw.length) data = z;
    }
    const chunk = new Uint8Array(8 + data.length);
    const cdv = new DataView(chunk.buffer);
    cdv.setInt32(0, row0, true);
    cdv.setInt32(4, data.length, true);
    chunk.set(data, 8);
    chunks.push(chunk);
  }
  const tableBytes = nChunks * 8;
  const total = header.length + tableBytes + chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  const odv = new DataView(out.buffer);
  let at = header.length + tableBytes;
  for (let ci = 0; ci < nChunks; ci++) {
    odv.setBigUint64(header.length + ci * 8, BigInt(at), true);
    out.set(chunks[ci]!, at);
    at += chunks[ci]!.length;
  }
  return out;
}

/** A 3-channel map as the reference stores it (cv2: channel 0 -> "B", 1 -> "G", 2 -> "R"). */
export interface Map3 {
  width: number;
  height: number;
  /** height x width x 3, interleaved: [x, y, z] per pixel (cv2 channel order 0, 1, 2). */
  data: Float32Array;
}

/** Read a cv2-written 3-channel EXR as interleaved (channel 0 = B, 1 = G, 2 = R): xyz for the reference's maps. */
export function exrToMap3(img: ExrImage, source = 'EXR'): Map3 {
  const get = (n: string) => {
    const c = img.channels.find((ch) => ch.name === n);
    if (!c) throw new FormatError(source, `no channel '${n}' (has ${img.channels.map((ch) => ch.name).join(', ')})`);
    return c.data;
  };
  const b = get('B'),
    g = get('G'),
    r = get('R');
  const n = img.width * img.height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[3 * i] = b[i]!;
    data[3 * i + 1] = g[i]!;
    data[3 * i + 2] = r[i]!;
  }
  return { width: img.width, height: img.height, data };
}

/** An interleaved 3-channel map as the channels the reference writes (channel 0 -> B, 1 -> G, 2 -> R). */
export function map3Channels(map: Map3): { name: string; data: Float32Array }[] {
  const n = map.width * map.height;
  const ch = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) ch[c]![i] = map.data[3 * i + c]!;
  return [
    { name: 'B', data: ch[0]! },
    { name: 'G', data: ch[1]! },
    { name: 'R', data: ch[2]! },
  ];
}

export { floatToHalf, halfToFloat };
