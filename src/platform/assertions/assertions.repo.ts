// Stored assertions: put (only newer revisions), newest by primary key, and
// the chain of accounts and account-keys a client needs to verify one.
import type { Kysely } from 'kysely';
import { decode, fillPrimaryKey, assertionType, revisionError, type Assertion } from '../../assertions/index.ts';
import { toDbTime } from '../db/values.ts';
import type { PlatformTables } from '../db/platform.tables.ts';

const joinKey = (pk: readonly string[]) => pk.join('/');

/** Stores `a` if no equal or newer revision is stored; throws assertion-revision otherwise. */
export async function putAssertion(db: Kysely<PlatformTables>, a: Assertion, now: Date = new Date()): Promise<void> {
  const current = await db
    .selectFrom('assertions')
    .select('revision')
    .where('type', '=', a.type)
    .where('primary_key', '=', joinKey(a.primaryKey))
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (current && current.revision >= a.revision) throw revisionError(current.revision, a.revision);
  // The primary key (type, key, revision) settles races between processes.
  await db
    .insertInto('assertions')
    .values({
      type: a.type,
      primary_key: joinKey(a.primaryKey),
      revision: a.revision,
      format: a.format,
      authority_id: a.authorityId || null,
      sign_key_id: a.signKeyId,
      encoded: a.encode().toString('utf8'),
      created_at: toDbTime(now),
    })
    .execute();
}

/**
 * The newest revision of an assertion with format <= maxFormat. The key may
 * leave out default-valued optional elements (snap-revision provenance).
 */
export async function findAssertion(db: Kysely<PlatformTables>, type: string, primaryKey: readonly string[], maxFormat?: number): Promise<Assertion | undefined> {
  const t = assertionType(type);
  if (!t) return undefined;
  const full = fillPrimaryKey(t, primaryKey);
  if (!full || full.some((v) => v === '' || v.includes('/'))) return undefined;
  let q = db.selectFrom('assertions').select('encoded').where('type', '=', type).where('primary_key', '=', joinKey(full));
  if (maxFormat !== undefined) q = q.where('format', '<=', maxFormat);
  const row = await q.orderBy('revision', 'desc').limit(1).executeTakeFirst();
  return row ? decode(row.encoded) : undefined;
}

/**
 * The assertions needed to verify `assertions` against a trusted root: every
 * signing account-key and prerequisite, recursively, up to (not including) the
 * keys in `trustedKeyIds`. Dependencies come before what needs them; the given
 * assertions themselves are not included.
 */
export async function signingChain(db: Kysely<PlatformTables>, assertions: readonly Assertion[], trustedKeyIds: ReadonlySet<string> = new Set()): Promise<Assertion[]> {
  const out: Assertion[] = [];
  const done = new Set<string>(assertions.map((a) => `${a.type}/${joinKey(a.primaryKey)}`));
  const visit = async (a: Assertion): Promise<void> => {
    const deps = [...(a.assertionType.prerequisites?.(a) ?? [])];
    if (!a.assertionType.noAuthority && !trustedKeyIds.has(a.signKeyId)) deps.push({ type: 'account-key', primaryKey: [a.signKeyId] });
    for (const ref of deps) {
      const id = `${ref.type}/${joinKey(ref.primaryKey)}`;
      if (done.has(id)) continue;
      done.add(id);
      const dep = await findAssertion(db, ref.type, ref.primaryKey);
      if (!dep) continue;
      await visit(dep);
      out.push(dep);
    }
  };
  for (const a of assertions) await visit(a);
  return out;
}
