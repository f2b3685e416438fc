/**
 * CPU-time budgets of the test suite, so that it stays fast as tests are added (the target: `npm test`
 * within 5 minutes on 2 idle cores with an empty shader cache). A test file may use FILE_CPU_S seconds of CPU
 * unless listed in FILE_CPU_OVERRIDES (its measured cost with a margin; say why when adding one); the whole suite
 * SUITE_CPU_S. CPU time of the file's worker process, whose threads also compile and run the kernels on lavapipe:
 * nearly independent of other load on the machine, though it varies by ~30% from run to run. Measured with an empty
 * shader cache (the worst case); a warm Mesa cache needs much less.
 */
export const FILE_CPU_S = 75;
export const SUITE_CPU_S = 1300;
export const FILE_CPU_OVERRIDES: Readonly<Record<string, number>> = {
  // software twins of the tensor-core kernels: each tile variant compiles its own large kernels (232–252 s measured)
  'test/tensor/conv-tc2.test.ts': 350,
  // the fp32 tuned GEMM and the older tc-sw twin, same reason (127–148 s measured)
  'test/tensor/conv-fast.test.ts': 210,
  // three short training runs of the whole avatar (networks, skinning, splatting, losses, Adam): 108 s measured
  'test/train/train.test.ts': 160,
  // one shallow-conv kernel per shape, fully unrolled (70–93 s measured)
  'test/tensor/conv-shallow.test.ts': 140,
  // direct and tiled kernels on every case (44–59 s measured)
  'test/tensor/conv2d.test.ts': 90,
};
