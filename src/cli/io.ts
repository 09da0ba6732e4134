// Small shared helpers for CLI commands: where output goes, reading inputs,
// and reporting user errors. Tests swap `io` to run commands in-process.
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

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Reads all of standard input. */
  stdin(): Promise<Buffer>;
  now(): Date;
}

export const processIO: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  env: process.env,
  async stdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  now: () => new Date(),
};

export let io: CliIO = processIO;

/** Runs `fn` with another IO (tests); restores the previous one afterwards. */
export async function withIO<T>(other: CliIO, fn: () => Promise<T>): Promise<T> {
  const prev = io;
  io = other;
  try {
    return await fn();
  } finally {
    io = prev;
  }
}

/** Reads a file, or standard input when the path is `-` or absent. */
export async function readInput(path: string | undefined): Promise<Buffer> {
  if (path === undefined || path === '-') return io.stdin();
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Parses a user-given time (RFC 3339, or "now"). */
export function parseTimeOption(value: string, what: string): Date {
  if (value === 'now') return io.now();
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) throw new CliError(`invalid ${what} ${JSON.stringify(value)}: expected an RFC 3339 time like 2026-01-01T00:00:00Z`);
  return d;
}

/** A flag that must be a positive integer (or, when absent, `dflt`; no default: required). */
export function positiveInt(v: string | undefined, flag: string, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new CliError(`${flag} is required`);
    return dflt;
  }
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CliError(`${flag} ${v}: expected a positive integer`);
  return Number(v);
}
