// The keyring passphrase: $SNAPLINE_PASSPHRASE, else asked on the terminal.
import { openSync, closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { CliError, io } from './io.ts';

export async function passphrase(opts: { confirm?: boolean } = {}): Promise<string> {
  const fromEnv = io.env['SNAPLINE_PASSPHRASE'];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new CliError('SNAPLINE_PASSPHRASE is empty: keys are never stored unencrypted');
    return fromEnv;
  }
  const first = await askLine('Passphrase: ');
  if (first === '') throw new CliError('empty passphrase: keys are never stored unencrypted');
  if (opts.confirm && (await askLine('Passphrase again: ')) !== first) throw new CliError('passphrases do not match');
  return first;
}

/** Reads a line from the controlling terminal without echo (stdin may carry data). */
export async function askLine(prompt: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r');
  } catch {
    throw new CliError('no passphrase: set SNAPLINE_PASSPHRASE or run from a terminal');
  }
  const tty = new ReadStream(fd);
  tty.setRawMode(true);
  io.err(prompt);
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      tty.on('data', (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return resolve(line);
          if (ch === '\u0003') return reject(new CliError('interrupted', 130));
          if (ch === '\u007f') line = line.slice(0, -1);
          else line += ch;
        }
      });
    });
  } finally {
    io.err('\n');
    tty.setRawMode(false);
    tty.destroy();
    try {
      closeSync(fd);
    } catch {
      // already closed by the stream
    }
  }
}
