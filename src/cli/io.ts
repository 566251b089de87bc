import type { Readable, Writable } from 'node:stream';

/** The streams a command talks through; injected so tests can drive commands in-process. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Exit codes shared by every command: 0 success, 1 a negative answer (invalid, tampered), 2 usage. */
export const EXIT_OK = 0;
export const EXIT_NEGATIVE = 1;
export const EXIT_USAGE = 2;

export const processIo: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/** A usage error: what was wrong (if said), then the command's usage, on stderr; exit code 2. */
export function usageError(io: CliIo, usage: string, message?: string): number {
  io.stderr.write(`${message ? message + '\n' : ''}${usage}`);
  return EXIT_USAGE;
}
