/**
 * Time budgets of the test suite (issue: `npm test` within 5 minutes on 2 idle cores with an empty shader cache).
 * A test file may use FILE_CPU_S seconds of CPU unless listed in FILE_CPU_OVERRIDES (measured cost with a margin,
 * say why when adding one); the whole suite SUITE_CPU_S. CPU time of the file's worker process, whose threads also
 * compile and run the kernels on lavapipe: independent of other load on the machine.
 */
export const FILE_CPU_S = 40;
export const SUITE_CPU_S = 540;
export const FILE_CPU_OVERRIDES: Readonly<Record<string, number>> = {
  // three short training runs of the whole avatar (networks, skinning, splatting, losses, Adam): ~70 s measured
  'test/train/train.test.ts': 110,
};
