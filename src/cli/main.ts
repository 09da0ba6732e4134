// The snapline command line: a thin layer that wires commands to library modules.
// Only the module of the command being run is loaded (commands/index.ts), so that
// `snapline --version`, `sign` or `verify` start without the server's packages.
import { Command, CommanderError, Help } from 'commander';
import { COMMANDS, loadCommands } from './commands/index.ts';
import { CliError, io } from './io.ts';

/** Top-level commands whose module is not loaded, with their help terms from the table. */
const placeholders = new WeakMap<Command, string>();

/**
 * The program with the modules of the `load` top-level commands registered
 * (every command's, with COMMANDS.map((c) => c.name)); the other commands are
 * placeholders that `--help` lists.
 */
export async function buildProgram(load: readonly string[] = []): Promise<Command> {
  const program = new Command('snapline')
    .description('Brand store, model signing, serial vault and image builder for Ubuntu Core devices')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .configureHelp({
      subcommandTerm(cmd: Command): string {
        const terms = placeholders.get(cmd);
        return terms === undefined ? Help.prototype.subcommandTerm.call(this, cmd) : terms ? `${cmd.name()} ${terms}` : cmd.name();
      },
    })
    .exitOverride();
  for (const register of await loadCommands(load)) register(program);
  for (const entry of COMMANDS) {
    if (program.commands.some((c) => c.name() === entry.name)) continue;
    const placeholder = program
      .command(entry.name)
      .description(entry.description)
      .action(() => {
        throw new Error(`internal error: the module of "${entry.name}" was not loaded`);
      });
    placeholders.set(placeholder, entry.terms);
  }
  // Modules register in their own order and placeholders come last: list as the table does.
  const rank = (c: Command) => COMMANDS.findIndex((e) => e.name === c.name());
  (program.commands as Command[]).sort((a, b) => rank(a) - rank(b));
  return program;
}

/** The top-level command that argv names: `snapline [-h|-V] NAME ...` or `snapline help NAME`. */
export function namedCommand(args: readonly string[]): string | undefined {
  // The program's own options (-h, -V) take no value: the first operand is the command.
  const operands = args.filter((a) => !a.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
}

/** Runs the CLI with process-style argv and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const name = namedCommand(argv.slice(2));
    const program = await buildProgram(name === undefined ? [] : [name]);
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
