// Runs the snapline CLI in-process with captured output and a chosen environment.
import { main } from '../../src/cli/main.ts';
import { withIO } from '../../src/cli/io.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer; now?: Date } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await withIO(
    {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      env: opts.env ?? {},
      stdin: async () => Buffer.from(opts.stdin ?? ''),
      now: () => opts.now ?? new Date(),
    },
    () => main(['node', 'snapline', ...args]),
  );
  return { code, out, err };
}
