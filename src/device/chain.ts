// Adding an assertion with whatever it needs (its signing key chain and its
// prerequisites), fetching what the database lacks, as snapd's assertstate
// does for serials and snap revisions (protocol doc 4.4). Pure: the fetcher
// is passed in.
import type { Assertion, TrustDatabase } from '../assertions/index.ts';

/** Fetches one assertion by type and (full) primary key; undefined when the source has none. */
export type AssertionFetcher = (type: string, primaryKey: readonly string[]) => Promise<Assertion | undefined>;

const MAX_DEPTH = 8;

/**
 * Adds `a` to `db` after its missing prerequisites and signing key (fetched
 * with `fetch`, recursively). Assertions already present at the same or a
 * newer revision are left alone. Returns what was added, in order. Throws the
 * database's AssertionError when something does not verify.
 */
export async function addWithPrerequisites(db: TrustDatabase, a: Assertion, fetch: AssertionFetcher | undefined, depth = 0): Promise<Assertion[]> {
  if (db.has(a)) return [];
  const added: Assertion[] = [];
  const needs = [...(a.assertionType.prerequisites?.(a) ?? [])];
  if (!a.assertionType.noAuthority) needs.push({ type: 'account-key', primaryKey: [a.signKeyId] });
  for (const r of needs) {
    if (db.find(r.type, r.primaryKey) || !fetch || depth >= MAX_DEPTH) continue;
    const got = await fetch(r.type, r.primaryKey);
    if (got) added.push(...(await addWithPrerequisites(db, got, fetch, depth + 1)));
  }
  db.add(a);
  added.push(a);
  return added;
}
