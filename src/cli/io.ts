// Small shared helpers for CLI commands: reading inputs and reporting user errors.
import { readFile } from 'node:fs/promises';

/** An error meant for the user: printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Reads a file, or standard input when the path is `-` or absent. */
export async function readInput(path: string | undefined): Promise<Buffer> {
  if (path === undefined || path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  return readFile(path);
}
