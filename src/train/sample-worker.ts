/** Worker thread entry: decodes training samples (see sample.ts) and sends them back with their buffers moved. */
import { parentPort, workerData } from 'node:worker_threads';
import { SampleContext, sampleTransferList, type SampleContextSpec, type SampleJob } from './sample.js';

const port = parentPort;
if (!port) throw new Error('sample-worker.ts runs only as a worker thread (see TrainSampler)');
let ctx: SampleContext | undefined;
let openError: string | undefined;
try {
  ctx = new SampleContext(workerData as SampleContextSpec);
} catch (e) {
  openError = (e as Error).message;
}

port.on('message', (m: { id: number; job: SampleJob }) => {
  if (!ctx) {
    port.postMessage({ id: m.id, error: openError });
    return;
  }
  ctx.decode(m.job).then(
    (result) => port.postMessage({ id: m.id, result }, sampleTransferList(result)),
    (e: unknown) => port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
