// A fast-check arbitrary from a JSON schema: values that a route's own schema
// accepts (for the subset our TypeBox schemas use: object with properties,
// required, additionalProperties and patternProperties; string with pattern,
// minLength, maxLength, enum, const; integer and number with bounds; boolean;
// null; array with items, minItems, maxItems; anyOf, oneOf, allOf), and the
// same values with one place changed to a value of the wrong type.
import fc, { type Arbitrary } from 'fast-check';

export type JsonSchema = Record<string, unknown>;

const MAX_STRING = 40;
const MAX_ITEMS = 4;

function stringArb(s: JsonSchema): Arbitrary<string> {
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Math.max(min, MAX_STRING);
  const sized = (a: Arbitrary<string>) => a.filter((v) => v.length >= min && v.length <= max);
  const any = fc.string({ minLength: min, maxLength: Math.min(max, Math.max(min, MAX_STRING)) });
  if (typeof s.pattern === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(s.pattern, 'u');
    } catch {
      return any;
    }
    try {
      // fast-check builds strings from the regular expression; it knows no lookaround, so those fall back to filtering.
      return fc.oneof({ weight: 4, arbitrary: sized(fc.stringMatching(re)) }, { weight: 1, arbitrary: any.filter((v) => re.test(v)) }).filter((v) => re.test(v));
    } catch {
      return fc.oneof(
        any.filter((v) => re.test(v)),
        fc.constant(''),
      );
    }
  }
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z') }).map((d) => d.toISOString());
  // Short strings mostly, sometimes as long as the schema allows (the bounds matter too).
  if (max > MAX_STRING) return fc.oneof({ weight: 5, arbitrary: any }, { weight: 1, arbitrary: fc.string({ minLength: Math.min(max, Math.max(min, max - 2)), maxLength: max }) });
  return any;
}

function numberArb(s: JsonSchema, integer: boolean): Arbitrary<number> {
  const lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + (integer ? 1 : Number.EPSILON) : undefined;
  const hi = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - (integer ? 1 : Number.EPSILON) : undefined;
  if (integer) {
    const min = lo ?? -(2 ** 53 - 1);
    const max = hi ?? 2 ** 53 - 1;
    const edges = [min, max, 0, 1, -1, 2 ** 31, 2 ** 32 + 1].filter((n) => Number.isSafeInteger(n) && n >= min && n <= max);
    return fc.oneof({ weight: 3, arbitrary: fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }).filter((n) => n >= min && n <= max) }, { weight: 1, arbitrary: fc.constantFrom(...(edges.length ? edges : [min])) });
  }
  return fc.double({ noNaN: true, noDefaultInfinity: true, ...(lo !== undefined ? { min: lo } : {}), ...(hi !== undefined ? { max: hi } : {}) });
}

function objectArb(s: JsonSchema, depth: number): Arbitrary<Record<string, unknown>> {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const record: Record<string, Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(props)) record[k] = schemaArbitrary(v, depth + 1);
  const known = fc.record(record, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
  // Keys the schema does not name, when it takes them.
  const extraSchema = s.additionalProperties === false ? undefined : typeof s.additionalProperties === 'object' ? (s.additionalProperties as JsonSchema) : s.patternProperties ? (Object.values(s.patternProperties as Record<string, JsonSchema>)[0] ?? {}) : {};
  const minProps = typeof s.minProperties === 'number' ? s.minProperties : 0;
  const withExtra = extraSchema
    ? fc
        .tuple(known, fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in props) && k !== '__proto__'), depth > 3 ? fc.constant(null) : schemaArbitrary(extraSchema, depth + 1), { maxKeys: 3 }))
        .map(([a, b]) => ({ ...b, ...a }))
    : known;
  return minProps > 0 ? withExtra.filter((o) => Object.keys(o).length >= minProps) : withExtra;
}

/** An arbitrary of values `schema` accepts (best effort: filtered by nothing else). */
export function schemaArbitrary(schema: unknown, depth = 0): Arbitrary<unknown> {
  if (schema === true || schema === undefined || schema === null || typeof schema !== 'object') return fc.jsonValue({ maxDepth: 2 });
  const s = schema as JsonSchema;
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  for (const k of ['anyOf', 'oneOf'] as const) if (Array.isArray(s[k]) && (s[k] as unknown[]).length > 0) return fc.oneof(...(s[k] as unknown[]).map((x) => schemaArbitrary(x, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return schemaArbitrary(s.allOf[0], depth);
  const type = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : undefined;
  if (type && type.length > 1) return fc.oneof(...type.map((t) => schemaArbitrary({ ...s, type: t }, depth)));
  switch (type?.[0]) {
    case 'string':
      return stringArb(s);
    case 'integer':
      return numberArb(s, true);
    case 'number':
      return numberArb(s, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      const max = Math.max(min, Math.min(typeof s.maxItems === 'number' ? s.maxItems : MAX_ITEMS, MAX_ITEMS));
      return fc.array(depth > 6 ? fc.constant(null) : schemaArbitrary(s.items ?? {}, depth + 1), { minLength: min, maxLength: max });
    }
    case 'object':
      return objectArb(s, depth);
  }
  if (s.properties) return objectArb(s, depth);
  return fc.jsonValue({ maxDepth: 2 });
}

/** Values of every JSON type, to put where another type belongs. */
export const wrongTypes: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, '', 'x', [], [null], {}, { a: 1 }, '0', 'true', [[]], -0),
  fc.jsonValue({ maxDepth: 2 }),
);

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Every place in a JSON value: a list of paths (the root is []). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** `value` with the thing at one of its places (chosen by `n`) replaced by `wrong`, made to be of another type than what was there. */
export function mutate(value: unknown, n: number, wrong: unknown): unknown {
  const all = paths(value);
  const path = all[n % all.length]!;
  const copy = structuredClone(value);
  let target: unknown = copy;
  for (const k of path.slice(0, -1)) target = (target as Record<string | number, unknown>)[k];
  const old = path.length === 0 ? copy : (target as Record<string | number, unknown>)[path.at(-1)!];
  let replacement = wrong;
  if (typeOf(replacement) === typeOf(old)) replacement = typeOf(old) === 'string' ? 7 : typeOf(old) === 'number' ? '7' : typeOf(old) === 'null' ? false : null;
  if (path.length === 0) return replacement;
  (target as Record<string | number, unknown>)[path.at(-1)!] = replacement;
  return copy;
}

/** Values the schema accepts, and the same with one place of the wrong type. */
export function validAndMutated(schema: unknown): Arbitrary<{ value: unknown; mutated: boolean }> {
  const valid = schemaArbitrary(schema);
  return fc.oneof(
    valid.map((value) => ({ value, mutated: false })),
    fc.tuple(valid, fc.nat(), wrongTypes).map(([v, n, w]) => ({ value: mutate(v, n, w), mutated: true })),
  );
}
