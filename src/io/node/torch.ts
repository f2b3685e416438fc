/** PyTorch checkpoint files on disk (the parser is ../torch.ts). */
import { readTorchCheckpoint } from '../torch.js';
import { readBytes } from './files.js';

export function loadTorchCheckpoint(path: string): unknown {
  return readTorchCheckpoint(readBytes(path, 'checkpoint'), path);
}
