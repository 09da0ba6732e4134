// authority-delegation: an account letting another account (the delegate)
// sign a constrained set of assertions on its behalf (snapd
// asserts/authority_delegation.go).
//
// Opt-in, NOT in the default registry. History: the type first appeared in
// snapd 2.55 (January 2022), but snapd never registered it (its registry
// line is commented out, "authority-delegation disabled") and ignores
// signatory-id, so snapd 2.57.6 fails to decode `type: authority-delegation`
// with `unknown assertion type`; snapd 2.58 (August 2022) then dropped the
// code altogether in favour of the snap-declaration revision-authority
// mechanism, so no snapd release accepts it. We keep Snapline's default
// decoding identical to 2.57.6 (unknown type) and export the type, written
// from the 2.57.6 source (identical to the last upstream version before its
// removal), for callers that want to build a registry including it.
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkMap, checkNotEmptyString } from '../checks.ts';
import { isHeaderList, isHeaderMap } from '../headers.ts';
import { assertionType } from '../registry.ts';
import { checkSinceUntil, inconsistent, notDirectlyTrusted, type SinceUntil } from './common.ts';
import { compileAttributeMatcher, type AttributeMatcher } from './constraints.ts';
import { goQuote } from '../go-compat/go-strconv.ts';

/** Which assertions the delegate may sign: a type, header constraints and a validity window. */
export interface AssertionConstraints extends SinceUntil {
  readonly type: string;
  /** Constraints on the assertion's headers (no $OP() forms allowed). */
  readonly headers: AttributeMatcher;
}

export interface AuthorityDelegationData {
  readonly accountId: string;
  readonly delegateId: string;
  readonly assertions: readonly AssertionConstraints[];
}

export const AuthorityDelegationType: AssertionType<AuthorityDelegationData> = {
  name: 'authority-delegation',
  primaryKey: ['account-id', 'delegate-id'],
  maxFormat: 0,
  assemble({ headers }) {
    if (!Object.hasOwn(headers, 'assertions')) throw new HeaderError('assertions constraints are mandatory');
    const list = headers['assertions'];
    const wrong = () => new HeaderError('assertions constraints must be a list of maps');
    if (!isHeaderList(list)) throw wrong();
    if (list.length === 0) throw new HeaderError('assertions constraints cannot be empty');
    const assertions = list.map((m): AssertionConstraints => {
      if (!isHeaderMap(m)) throw wrong();
      const type = checkNotEmptyString(m, 'type', 'constraint');
      // Types as registered (so not authority-delegation itself).
      if (!assertionType(type)) throw new HeaderError(`${goQuote(type)} is not a valid assertion type`);
      const hm = checkMap(m, 'headers', 'constraint');
      let matcher: AttributeMatcher;
      try {
        matcher = compileAttributeMatcher(hm, []);
      } catch (err) {
        if (err instanceof HeaderError) throw new HeaderError(`cannot compile headers constraint: ${err.message}`);
        throw err;
      }
      const window = checkSinceUntil(m, 'constraint');
      if (['on-store', 'on-brand', 'on-model'].some((k) => Object.hasOwn(m, k))) {
        throw new HeaderError('device scope constraints not yet implemented');
      }
      return { type, headers: matcher, ...window };
    });
    return { accountId: headers['account-id'] as string, delegateId: headers['delegate-id'] as string, assertions };
  },
  prerequisites: (a) => [
    { type: 'account', primaryKey: [a.data.accountId] },
    { type: 'account', primaryKey: [a.data.delegateId] },
  ],
  checkConsistency(db, a) {
    const { accountId, delegateId } = a.data;
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(`authority-delegation assertion for ${goQuote(accountId)}`, a.authorityId);
    if (!db.find('account', [accountId])) {
      inconsistent(`authority-delegation assertion for ${goQuote(accountId)} does not have a matching account assertion`);
    }
    if (!db.find('account', [delegateId])) {
      inconsistent(`authority-delegation assertion for ${goQuote(accountId)} does not have a matching account assertion for delegated ${goQuote(delegateId)}`);
    }
  },
};
