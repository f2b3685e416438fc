/** Worker thread entry: root finding at a range of the warp table's nodes (see InverseWarp.solve). */
import { parentPort, workerData } from 'node:worker_threads';
import { BlendedVolume } from './root-finding.js';
import { solveNodes, type WarpProblem } from './warp.js';

const port = parentPort;
if (!port) throw new Error('warp-worker.ts runs only as a worker thread (see InverseWarp.solve)');
const problem = workerData as WarpProblem;
// this thread's blended matrices, kept across its jobs (neighbouring node ranges touch neighbouring voxels)
const blended = new BlendedVolume(problem.vol, problem.body.jointMats);

port.on('message', (m: { id: number; job: [number, number] }) => {
  try {
    const r = solveNodes(problem, m.job[0], m.job[1], blended);
    port.postMessage({ id: m.id, result: r }, [r.canonical.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
