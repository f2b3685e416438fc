/** 3DGS `.ply` files on disk: the decoder and encoder of ../ply.ts, with the read and the atomic write. */
import { readBytes } from '../../io/node/files.js';
import { writeFileAtomic } from '../../io/node/atomic.js';
import { decodePly, encodePly, type PlyGaussians } from '../ply.js';

export function readPly(path: string): PlyGaussians {
  return decodePly(readBytes(path), path);
}

/** Write atomically (temporary file, then rename). */
export function writePly(path: string, g: PlyGaussians): void {
  writeFileAtomic(path, encodePly(g));
}
