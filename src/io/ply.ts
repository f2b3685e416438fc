/**
 * The PLY container (http://paulbourke.net/dataformats/ply/): header parsing and strict, bounded access to the body,
 * shared by the 3DGS splat reader (src/splat/ply.ts) and the template mesh reader (src/prep/template.ts). Formats
 * ascii, binary_little_endian and binary_big_endian; every count is checked against the file before anything is
 * allocated.
 */
import { FormatError } from './errors.js';

export const PLY_TYPES: Record<string, [number, (v: DataView, o: number, le: boolean) => number]> = {
  char: [1, (v, o) => v.getInt8(o)],
  int8: [1, (v, o) => v.getInt8(o)],
  uchar: [1, (v, o) => v.getUint8(o)],
  uint8: [1, (v, o) => v.getUint8(o)],
  short: [2, (v, o, le) => v.getInt16(o, le)],
  int16: [2, (v, o, le) => v.getInt16(o, le)],
  ushort: [2, (v, o, le) => v.getUint16(o, le)],
  uint16: [2, (v, o, le) => v.getUint16(o, le)],
  int: [4, (v, o, le) => v.getInt32(o, le)],
  int32: [4, (v, o, le) => v.getInt32(o, le)],
  uint: [4, (v, o, le) => v.getUint32(o, le)],
  uint32: [4, (v, o, le) => v.getUint32(o, le)],
  float: [4, (v, o, le) => v.getFloat32(o, le)],
  float32: [4, (v, o, le) => v.getFloat32(o, le)],
  double: [8, (v, o, le) => v.getFloat64(o, le)],
  float64: [8, (v, o, le) => v.getFloat64(o, le)],
};

export interface PlyProp {
  name: string;
  type: string;
  /** List properties: the count's and the items' types. */
  list?: { count: string; item: string };
}

export interface PlyElement {
  name: string;
  count: number;
  props: PlyProp[];
}

export interface PlyHeader {
  format: 'ascii' | 'binary_little_endian' | 'binary_big_endian';
  elements: PlyElement[];
  /** Byte offset of the body. */
  bodyStart: number;
}

/** Parse and check a PLY header (any PLY: splats, meshes, point clouds). */
export function parsePlyHeader(bytes: Uint8Array, source: string): PlyHeader {
  const bad = (why: string): never => {
    throw new FormatError(source, why);
  };
  const headEnd = findPlyHeaderEnd(bytes);
  if (headEnd < 0) bad(`not a PLY file (no 'ply' magic or no 'end_header' line)`);
  const header = new TextDecoder('latin1').decode(bytes.subarray(0, headEnd));
  const lines = header.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== 'ply') bad(`not a PLY file (first line is '${lines[0]?.slice(0, 40)}')`);
  let format = '';
  const elements: PlyElement[] = [];
  for (const line of lines.slice(1)) {
    const w = line.split(/\s+/);
    if (w[0] === 'format') format = w[1] ?? '';
    else if (w[0] === 'element') {
      if (!/^\d{1,15}$/.test(w[2] ?? '')) bad(`element '${w[1]}' has a bad count '${(w[2] ?? '').slice(0, 30)}'`);
      elements.push({ name: w[1] ?? '', count: Number(w[2]), props: [] });
    } else if (w[0] === 'property') {
      const el = elements[elements.length - 1];
      if (!el) return bad(`'property' before any 'element' in the header`);
      if (w[1] === 'list') {
        if (!PLY_TYPES[w[2] ?? ''] || !PLY_TYPES[w[3] ?? ''] || !w[4])
          bad(`malformed list property '${line.slice(0, 60)}'`);
        el.props.push({ name: w[4]!, type: 'list', list: { count: w[2]!, item: w[3]! } });
      } else {
        if (!PLY_TYPES[w[1] ?? '']) bad(`unknown property type '${w[1]}' for '${w[2]}'`);
        if (!w[2]) bad(`property without a name in '${line.slice(0, 60)}'`);
        el.props.push({ type: w[1]!, name: w[2]! });
      }
    } else if (w[0] !== 'comment' && w[0] !== 'obj_info' && w[0] !== 'end_header' && w[0] !== '') {
      bad(`unexpected header line '${line.slice(0, 60)}'`);
    }
  }
  if (format !== 'binary_little_endian' && format !== 'binary_big_endian' && format !== 'ascii') {
    bad(`unsupported PLY format '${format.slice(0, 40)}' (ascii, binary_little_endian or binary_big_endian)`);
  }
  return { format: format as PlyHeader['format'], elements, bodyStart: headEnd };
}

export const PLY_NUMBER_RE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?)$/i;

/** The byte offset after element `el` of a binary PLY (walking its list properties, bounded by the file). */
export function skipPlyElement(el: PlyElement, view: DataView, off: number, le: boolean, source: string): number {
  const fixed = el.props.every((p) => !p.list);
  const len = view.byteLength;
  if (fixed) {
    const stride = el.props.reduce((s, p) => s + PLY_TYPES[p.type]![0], 0);
    if (el.count * stride > len - off) throw new FormatError(source, `truncated in element '${el.name}'`);
    return off + el.count * stride;
  }
  for (let i = 0; i < el.count; i++) {
    for (const p of el.props) {
      if (p.list) {
        const [cs, cr] = PLY_TYPES[p.list.count]!;
        if (off + cs > len) throw new FormatError(source, `truncated in element '${el.name}'`);
        const c = cr(view, off, le);
        off += cs;
        const step = PLY_TYPES[p.list.item]![0];
        if (!(c >= 0) || off + c * step > len) throw new FormatError(source, `truncated in element '${el.name}'`);
        off += c * step;
      } else off += PLY_TYPES[p.type]![0];
      if (off > len) throw new FormatError(source, `truncated in element '${el.name}'`);
    }
  }
  return off;
}

export function findPlyHeaderEnd(b: Uint8Array): number {
  if (b[0] !== 0x70 || b[1] !== 0x6c || b[2] !== 0x79) return -1; // "ply"
  const tag = 'end_header';
  const lim = Math.min(b.length, 1 << 20);
  outer: for (let i = 0; i + tag.length < lim; i++) {
    for (let k = 0; k < tag.length; k++) if (b[i + k] !== tag.charCodeAt(k)) continue outer;
    let j = i + tag.length;
    if (b[j] === 0x0d) j++;
    if (b[j] !== 0x0a) return -1;
    return j + 1;
  }
  return -1;
}
