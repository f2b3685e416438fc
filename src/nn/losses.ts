/** Losses on tensors (autograd through the tape). */
import { abs, mean, sub, type Tensor } from '../tensor/index.js';

/** L1 loss: mean |a − b| over all elements (PyTorch `l1_loss`, reduction 'mean'; gradient sign(a − b), 0 at ties). */
export function l1Loss(a: Tensor, b: Tensor): Tensor {
  return mean(abs(sub(a, b)));
}
