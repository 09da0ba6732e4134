// --no-hooks FILE (device boot, fleet run): the settings a gadget's
// prepare-device hook would set, read from a JSON or YAML object instead of
// running the hook.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { CliError } from './io.ts';

export async function readNoHooks(file: string): Promise<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--no-hooks ${file}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliError(`--no-hooks ${file}: expected a JSON or YAML object of settings (device-service.url, device-service.headers, registration.proposed-serial, registration.body)`);
  return doc as Record<string, unknown>;
}
