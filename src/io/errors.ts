/**
 * The errors a user can act on. Everything that reads a file or an option throws one of these when the input is
 * wrong, so a command can print one line (the message) and stop, and a stack trace means a bug of ours.
 *
 * - `InputError`: an input or option is wrong or unusable (a missing file, an out-of-range frame, an output that
 *   cannot be written, a flag with a bad value). The message names the file or flag, the field and what to do.
 * - `FormatError`: a file's content is malformed (truncated, a bad checksum, a count larger than the file, a value
 *   of the wrong type, NaN where numbers must be finite). `source` is the file (or archive member) it came from.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export class FormatError extends InputError {
  constructor(
    readonly source: string,
    what: string,
  ) {
    super(`${source}: ${what}`);
    this.name = 'FormatError';
  }
}

/** True for the errors that describe a user's input (their message is all a user needs). */
export function isInputError(e: unknown): e is Error {
  // ConfigError (src/avatar/config-reader.ts) lists every problem of a config file, one per line
  return e instanceof InputError || (e instanceof Error && e.name === 'ConfigError');
}

/** The first line of a message (libvips and some system errors append multi-line dumps). */
export function firstLine(message: string): string {
  const line = message.split(/\r?\n/).find((l) => l.trim() !== '') ?? message;
  return line.trim();
}
