// snapline sign -k NAME [FILE|-]: JSON headers in (as `snap sign` takes them), assertion out.
import type { Command } from 'commander';
import { assertionType, formatTimestamp, sign } from '../../assertions/index.ts';
import { CliError, io, parseTimeOption, readInput } from '../io.ts';
import { loadKey } from './keyring.ts';

/** Parses `snap sign` input: a JSON object of headers, with an optional "body" pseudo-header. */
export function parseSignInput(text: string): { type: string; headers: Record<string, unknown>; body?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`cannot parse the assertion input as JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError('cannot parse the assertion input as JSON: expected an object');
  const headers = { ...(json as Record<string, unknown>) };
  const type = headers['type'];
  if (type === undefined) throw new CliError('missing assertion type header');
  if (typeof type !== 'string') throw new CliError(`assertion type must be a string, not: ${JSON.stringify(type)}`);
  if (!assertionType(type)) throw new CliError(`invalid assertion type: ${type}`);
  const body = headers['body'];
  delete headers['body'];
  if (body !== undefined && typeof body !== 'string') throw new CliError('body if specified must be a string');
  return { type, headers, ...(body !== undefined ? { body } : {}) };
}

export function registerSign(program: Command): void {
  program
    .command('sign')
    .argument('[file]', 'JSON headers (default: standard input)')
    .requiredOption('-k, --key <name>', 'key to sign with')
    .option('--timestamp [time]', 'set the "timestamp" header (to now when no time is given)')
    .description('sign an assertion from JSON headers, like `snap sign`')
    .action(async (file: string | undefined, opts: { key: string; timestamp?: string | true }) => {
      const input = parseSignInput((await readInput(file)).toString('utf8'));
      if (opts.timestamp !== undefined) {
        if (input.headers['timestamp'] !== undefined) throw new CliError('--timestamp given but the input already has a "timestamp" header');
        input.headers['timestamp'] = formatTimestamp(opts.timestamp === true ? io.now() : parseTimeOption(opts.timestamp, '--timestamp'));
      }
      const key = await loadKey(opts.key);
      const a = sign(assertionType(input.type)!, { headers: input.headers, ...(input.body !== undefined ? { body: input.body } : {}) }, key, io.now());
      io.out(a.toString());
    });
}
