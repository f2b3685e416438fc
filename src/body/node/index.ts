/** The body model as the Node API sees it: the browser-safe ../index.ts plus the file readers and writer. */
export * from '../index.js';
export { loadSmplxModel, readPoseSequence, writeSyntheticBody } from './files.js';
