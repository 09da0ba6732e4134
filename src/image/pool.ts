// A sans-I/O assertion fetch planner (snapd asserts/pool.go and fetcher.go):
// the caller asks what is missing, fetches it however it likes, and feeds the
// results back; the planner follows prerequisites and signing keys until the
// chain of everything wanted is complete. Trusted (and otherwise known)
// assertions are never asked for. Pure.
import { assertionType, fillPrimaryKey, type Assertion, type Ref } from '../assertions/index.ts';
import { ImageError } from './errors.ts';

export function refKey(type: string, primaryKey: readonly string[]): string {
  return `${type}/${primaryKey.join('/')}`;
}

/** A ref with its primary key completed (default-valued optional elements filled in). */
export function fullRef(ref: Ref): Ref {
  const t = assertionType(ref.type);
  if (!t) throw new ImageError('image-assertion-invalid', `unknown assertion type ${JSON.stringify(ref.type)}`);
  const pk = fillPrimaryKey(t, ref.primaryKey);
  if (!pk) throw new ImageError('image-assertion-invalid', `bad primary key for ${ref.type}: ${ref.primaryKey.join('/')}`);
  return { type: ref.type, primaryKey: pk };
}

/** What a ref needs before it can be added: its prerequisites and its signing key. */
export function dependencies(a: Assertion): Ref[] {
  const deps: Ref[] = [...(a.assertionType.prerequisites?.(a) ?? [])];
  if (!a.assertionType.noAuthority) deps.push({ type: 'account-key', primaryKey: [a.signKeyId] });
  return deps.map(fullRef);
}

export class AssertionPool {
  private readonly have = new Map<string, Assertion>();
  private readonly wanted = new Map<string, { ref: Ref; optional: boolean }>();
  private readonly inFlight = new Set<string>();
  private readonly absent = new Set<string>();

  /** `known` says whether an assertion is already available without fetching (the trusted set). */
  constructor(private readonly known: (ref: Ref) => boolean) {}

  /** Asks for `ref` and, once it arrives, its whole chain. Optional refs may turn out not to exist. */
  want(ref: Ref, opts: { optional?: boolean } = {}): void {
    const r = fullRef(ref);
    const k = refKey(r.type, r.primaryKey);
    if (this.have.has(k) || this.known(r)) return;
    const cur = this.wanted.get(k);
    if (!cur || (cur.optional && !opts.optional)) this.wanted.set(k, { ref: r, optional: opts.optional ?? false });
  }

  /** Refs still to fetch (each is returned once until it is resolved or released). */
  missing(): { ref: Ref; optional: boolean }[] {
    const out: { ref: Ref; optional: boolean }[] = [];
    for (const [k, w] of this.wanted) {
      if (this.have.has(k) || this.absent.has(k) || this.inFlight.has(k)) continue;
      this.inFlight.add(k);
      out.push(w);
    }
    return out;
  }

  /** Whether nothing is wanted that is neither here, in flight, nor known to be absent. */
  get complete(): boolean {
    for (const k of this.wanted.keys()) if (!this.have.has(k) && !this.absent.has(k)) return false;
    return true;
  }

  /** Feeds a fetched assertion: its dependencies become wanted. */
  add(a: Assertion): void {
    const k = refKey(a.type, a.primaryKey);
    this.inFlight.delete(k);
    const cur = this.have.get(k);
    if (cur && cur.revision >= a.revision) return;
    this.have.set(k, a);
    for (const d of dependencies(a)) this.want(d);
  }

  /** Reports that the store has no such assertion: fine for optional refs, an error otherwise. */
  notFound(ref: Ref): void {
    const r = fullRef(ref);
    const k = refKey(r.type, r.primaryKey);
    this.inFlight.delete(k);
    const w = this.wanted.get(k);
    if (w && !w.optional) throw new ImageError('image-assertion-invalid', `the store has no ${r.type} assertion ${r.primaryKey.join('/')}`);
    this.absent.add(k);
  }

  get(ref: Ref): Assertion | undefined {
    const r = fullRef(ref);
    return this.have.get(refKey(r.type, r.primaryKey));
  }

  all(): Assertion[] {
    return [...this.have.values()];
  }

  /**
   * `roots` and everything they depend on that the pool holds, dependencies
   * first, skipping keys in `exclude` (already written elsewhere). Adds what it
   * returns to `exclude`.
   */
  closure(roots: readonly Ref[], exclude: Set<string>): Assertion[] {
    const out: Assertion[] = [];
    const visit = (ref: Ref, depth: number) => {
      if (depth > 64) throw new ImageError('image-assertion-invalid', 'assertion chain too deep');
      const r = fullRef(ref);
      const k = refKey(r.type, r.primaryKey);
      if (exclude.has(k)) return;
      const a = this.have.get(k);
      if (!a) return; // trusted, or known absent
      exclude.add(k);
      for (const d of dependencies(a)) visit(d, depth + 1);
      out.push(a);
    };
    for (const r of roots) visit(r, 0);
    return out;
  }
}
