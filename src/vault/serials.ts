// Generated serials: a template of literal text and placeholders.
//   {uuid}        a random UUID (the default template)
//   {random:N}    N random characters of 0-9A-Z (Crockford base 32 minus I, L, O, U)
//   {counter:N}   the model's counter, zero-padded to N digits (atomic across processes)
//   {date}        the signing day, YYYYMMDD (UTC)
// Every template needs {uuid}, {random:N} or {counter:N}, so serials differ.
import { randomBytes, randomUUID } from 'node:crypto';
import { VaultError } from './vault.errors.ts';

const PLACEHOLDER = /\{(uuid|date|random:(\d{1,2})|counter:(\d{1,2}))\}/g;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A serial as the vault accepts it: what snapd's serial header allows, one line, bounded. */
export const SERIAL_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9._:+=@~-]{0,127}$/;

export function checkTemplate(template: string): void {
  const literal = template.replace(PLACEHOLDER, 'X');
  if (literal.includes('{') || literal.includes('}')) throw new VaultError('vault-invalid', `serial template ${JSON.stringify(template)}: unknown placeholder (use {uuid}, {random:N}, {counter:N}, {date})`);
  if (!/\{(uuid|random:\d+|counter:\d+)\}/.test(template)) throw new VaultError('vault-invalid', `serial template ${JSON.stringify(template)} needs {uuid}, {random:N} or {counter:N}`);
  for (const m of template.matchAll(PLACEHOLDER)) {
    const n = Number(m[2] ?? m[3] ?? 8);
    if (m[2] !== undefined && n < 8) throw new VaultError('vault-invalid', '{random:N} needs N >= 8');
    if (n < 1 || n > 32) throw new VaultError('vault-invalid', 'placeholder widths are 1..32');
  }
  if (!SERIAL_SYNTAX.test(render(template, 1, new Date(0)))) throw new VaultError('vault-invalid', `serial template ${JSON.stringify(template)} makes serials outside [A-Za-z0-9._:+=@~-]`);
}

export function usesCounter(template: string): boolean {
  return /\{counter:\d+\}/.test(template);
}

/** Renders a template with the given counter value. */
export function render(template: string, counter: number, now: Date): string {
  return template.replace(PLACEHOLDER, (_m, what: string, rnd?: string, cnt?: string) => {
    if (what === 'uuid') return randomUUID();
    if (what === 'date') return now.toISOString().slice(0, 10).replaceAll('-', '');
    if (rnd !== undefined) {
      const bytes = randomBytes(Number(rnd));
      return [...bytes].map((b) => ALPHABET[b & 31]).join('');
    }
    return String(counter).padStart(Number(cnt), '0');
  });
}
