// `--import` this in a worker thread's execArgv to run TypeScript sources there (see ts-worker-loader.mjs).
import { register } from 'node:module';
register('./ts-worker-loader.mjs', import.meta.url);
