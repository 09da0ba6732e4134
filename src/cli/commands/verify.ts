// snapline verify [--trusted FILE]... FILE...: check every signature and chain.
import type { Command } from 'commander';
import { AssertionError, TrustDatabase, decodeStream, type Assertion } from '../../assertions/index.ts';
import { CliError, io, readInput } from '../io.ts';

async function readAssertions(file: string): Promise<Assertion[]> {
  const bytes = await readInput(file);
  try {
    return decodeStream(bytes);
  } catch (err) {
    if (err instanceof AssertionError) throw new CliError(`${file}: cannot decode: ${err.message}`);
    throw err;
  }
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<files...>', 'assertion files or streams (- for standard input)')
    .option('--trusted <file>', 'trusted accounts and account-keys (repeatable; $SNAPLINE_TRUSTED by default)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .description('verify assertions: one line per assertion, non-zero exit on any failure')
    .action(async (files: string[], opts: { trusted: string[] }) => {
      const trustedFiles = opts.trusted.length > 0 ? opts.trusted : (io.env['SNAPLINE_TRUSTED'] ?? '').split(':').filter(Boolean);
      if (trustedFiles.length === 0) throw new CliError('no trusted assertions: give --trusted FILE (e.g. the stream of `snapline root init`)');
      const trusted = (await Promise.all(trustedFiles.map(readAssertions))).flat();
      let db: TrustDatabase;
      try {
        db = new TrustDatabase({ trusted, now: () => io.now() });
      } catch (err) {
        if (err instanceof AssertionError) throw new CliError(`trusted set: ${err.message}`);
        throw err;
      }
      const assertions = (await Promise.all(files.map(readAssertions))).flat();
      let failed = 0;
      for (const { assertion: a, error } of db.addEach(assertions)) {
        const id = `${a.type} ${a.primaryKey.join('/') || '-'}`;
        if (error) {
          failed++;
          io.out(`${id}: FAILED: ${error.message} (${error.code})\n`);
        } else io.out(`${id}: OK\n`);
      }
      if (failed > 0) throw new CliError(`${failed} of ${assertions.length} assertions failed verification`);
    });
}
