// --trusted files for the commands that verify against a root (image build,
// device boot, fleet run): assertion streams, read and decoded; an unreadable
// stream is a CLI error naming the file.
import { AssertionError, decodeStream, type Assertion } from '../assertions/index.ts';
import { CliError, readInput } from './io.ts';

export async function readTrusted(files: readonly string[]): Promise<Assertion[]> {
  const out: Assertion[] = [];
  for (const f of files) {
    try {
      out.push(...decodeStream(await readInput(f)));
    } catch (err) {
      if (err instanceof AssertionError) throw new CliError(`${f}: cannot decode: ${err.message}`);
      throw err;
    }
  }
  return out;
}
