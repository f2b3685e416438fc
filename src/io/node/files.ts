/**
 * The few file-system and path calls the Node-only loaders above io need (config files, checkpoints, weight files),
 * kept here so the layers a browser bundle takes (gpu, tensor, nn, avatar, ...) import no `node:` module themselves:
 * a module that uses these is a Node-only entry point, and a player never imports it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { describeFsError } from './atomic.js';

export const fileExists = (path: string): boolean => existsSync(path);

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A file's bytes for a decoder; a file that cannot be read is an InputError naming `what` and the path, with `hint`
 * (where to get the file) appended.
 */
export function readBytes(path: string, what = '', hint = ''): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new InputError(
      `cannot read ${what ? what + ' ' : ''}${path}: ${describeFsError(e)}${hint ? '. ' + hint : ''}`,
    );
  }
}

export const readTextFile = (path: string): string => readFileSync(path, 'utf8');
/** The names in a folder ([] when it cannot be read). */
export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
export const joinPath = (...parts: string[]): string => join(...parts);
export const baseName = (path: string): string => basename(path);
export const dirName = (path: string): string => dirname(path);
export const resolvePath = (...parts: string[]): string => resolve(...parts);
export const homeDir = (): string => homedir();
/** The process environment (empty where there is none). */
export const environment = (): Record<string, string | undefined> =>
  typeof process === 'undefined' ? {} : process.env;
