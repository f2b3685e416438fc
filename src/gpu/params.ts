/** Bytes per parameter slot: the largest `P` struct a kernel may declare, and a multiple of every offset alignment. */
export const PARAM_SLOT = 256;
