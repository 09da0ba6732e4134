// The snapline command line: a thin layer that wires commands to library modules.
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { CliError, io } from './io.ts';

export function buildProgram(): Command {
  const program = new Command('snapline')
    .description('Brand store, model signing, serial vault and image builder for Ubuntu Core devices')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI with process-style argv and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    // Library errors carry a stable code: show it, without a stack trace.
    const code = (err as { code?: unknown }).code;
    if (err instanceof Error && typeof code === 'string' && !code.startsWith('ERR_')) {
      io.err(`error: ${err.message} (${code})\n`);
      return 1;
    }
    throw err;
  }
}
