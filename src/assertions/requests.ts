// Assertions signed by the key they carry: account-key-requests (proof of
// possession of a key) and serial-requests (a device's first words to a vault).
import { sign, type Assertion } from './assertion.ts';
import type { PrivateKey } from './crypto.ts';
import { AssertionError, quote } from './errors.ts';
import { AccountKeyRequestType, type AccountKeyRequestData } from './types/account-key.ts';
import { formatTimestamp } from './checks.ts';

/** Builds an account-key-request for `key` (what `snap export-key --account` prints). */
export function createAccountKeyRequest(init: { key: PrivateKey; accountId: string; name: string; since: Date; until?: Date }): Assertion {
  return sign(
    AccountKeyRequestType,
    {
      headers: {
        'account-id': init.accountId,
        name: init.name,
        'public-key-sha3-384': init.key.id,
        since: formatTimestamp(init.since),
        ...(init.until ? { until: formatTimestamp(init.until) } : {}),
      },
      body: init.key.publicKey.encode(),
    },
    init.key,
    init.since,
  );
}

/** Checks that an account-key-request is signed by the key it carries. */
export function verifyAccountKeyRequest(req: Assertion): void {
  if (req.type !== 'account-key-request') {
    throw new AssertionError('assertion-invalid', `expected an account-key-request, got ${quote(req.type)}`);
  }
  const data = req.data as AccountKeyRequestData;
  if (req.signKeyId !== data.publicKeyId) {
    throw new AssertionError('assertion-bad-signature', 'account-key-request is not signed by the key it carries');
  }
  data.publicKey.verify(req.content, req.signatureText);
}
