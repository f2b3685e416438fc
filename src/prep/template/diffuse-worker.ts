/** Worker thread entry: solves one joint's channel of the weight volume (see diffuseWeightsParallel). */
import { parentPort, workerData } from 'node:worker_threads';
import { solveChannel, type DiffusionProblem } from './weight-volume.js';

const port = parentPort;
if (!port) throw new Error('diffuse-worker.ts runs only as a worker thread (see diffuseWeightsParallel)');
const problem = workerData as DiffusionProblem;

port.on('message', (m: { id: number; job: number }) => {
  try {
    const channel = solveChannel(problem, m.job);
    port.postMessage({ id: m.id, result: channel }, [channel.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
