/** Animatable Gaussians in TypeScript on WebGPU: the library entry point. */
export * from './gpu/index.js';
