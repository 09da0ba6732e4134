// Every error code a client can see, with its HTTP status, in one place.
// Pure data: the HTTP edge (src/platform/http/error-shapes.ts) renders a code
// in the wire shape of the route that failed:
//   platform  {"error": {"code", "message", "details"?}}       the admin and publisher API
//   snapd     {"error-list": [{"code", "message"}]}             the store's snapd-facing API
//   vault     {"code", "message", "error_list": [{"code", "message"}]}   the vault's device API;
//             there a 500 is sent as 503 with Retry-After, since snapd's
//             registration reads a 500 as a permanent failure.
// docs/errors.md lists the same table; test/errors/catalog.test.ts keeps the two equal.

export interface ErrorEntry {
  readonly status: number;
  readonly description: string;
}

const entry = (status: number, description: string): ErrorEntry => ({ status, description });

export const ERROR_CATALOG = {
  // HTTP and platform
  'bad-request': entry(400, 'the request is malformed (unreadable JSON, bad header, wrong body encoding)'),
  'validation-failed': entry(400, 'a body, query or path parameter does not match the route schema'),
  unauthorized: entry(401, 'no credentials, or credentials that are not accepted'),
  forbidden: entry(403, 'the caller is known but may not do this'),
  'not-found': entry(404, 'no such route or object'),
  'method-not-allowed': entry(405, 'the route does not take this method'),
  conflict: entry(409, 'the write collides with an existing object (a unique value is taken)'),
  'reference-missing': entry(409, 'the write names an object that does not exist, or one still in use'),
  'request-timeout': entry(408, 'the request (headers or body) did not arrive within the time limit; the connection is closed'),
  'payload-too-large': entry(413, 'the request body is over the limit'),
  'unsupported-media-type': entry(415, 'the route does not read this Content-Type'),
  'headers-too-large': entry(431, 'the request headers are over the size limit; the connection is closed'),
  'rate-limited': entry(429, 'too many requests for this token: slow down'),
  unavailable: entry(503, 'the server cannot serve now (starting, stopping, or a dependency is down)'),
  'internal-error': entry(500, 'a fault of the server; details are in its log, never in the answer'),

  // accounts, users, tokens, logins
  'account-not-found': entry(404, 'no account with that id'),
  'account-exists': entry(409, 'an account with that id already exists'),
  'account-invalid': entry(400, 'account id, display name or validation not acceptable'),
  'user-not-found': entry(404, 'no user with that name'),
  'user-exists': entry(409, 'a user with that name already exists'),
  'user-invalid': entry(400, 'username or password not acceptable'),
  'role-invalid': entry(400, "not a known role, or 'superuser' on an account-scoped token"),
  'role-not-held': entry(403, 'a token may not carry a role that its creator does not hold'),
  'token-invalid': entry(401, 'the API token is unknown or malformed'),
  'token-expired': entry(401, 'the API token has expired'),
  'token-revoked': entry(401, 'the API token was revoked'),
  'token-not-found': entry(404, 'no token with that id'),
  'login-failed': entry(401, 'wrong username or password (deliberately not saying which)'),
  'login-throttled': entry(429, 'too many failed logins for this username or address; see Retry-After'),
  'password-hash-invalid': entry(500, 'a stored password hash cannot be parsed'),

  // signing key custody (master key and decryption problems are server faults)
  'master-key-invalid': entry(500, 'no usable master key is configured'),
  'master-key-unknown': entry(500, 'a stored key was sealed under a master key that is not configured'),
  'key-decrypt-failed': entry(500, 'a stored key failed authenticated decryption'),
  'key-not-found': entry(404, 'no signing key with that name or id'),
  'key-disabled': entry(409, 'the signing key was disabled'),
  'key-exists': entry(409, 'a signing key with that name, or that same key, is already stored'),
  'key-invalid': entry(400, 'the key cannot be used: unreadable PEM, not RSA, under 4096 bits, or a bad name'),
  'key-signature-invalid': entry(500, 'a signer produced a signature that does not verify'),
  'root-authority-mismatch': entry(500, 'the stored root authority does not match the configured one'),

  // blob storage
  'blob-too-large': entry(413, 'the upload went over its size limit; nothing was kept'),
  'blob-aborted': entry(400, 'the upload stream failed or was aborted before its end; nothing was kept'),
  'blob-digest-mismatch': entry(400, "the content's SHA3-384 is not the expected one; nothing was kept"),
  'blob-not-found': entry(404, 'no blob with that digest'),
  'blob-range-invalid': entry(416, 'the byte range lies outside the blob'),
  'blob-digest-invalid': entry(400, 'the name is not a SHA3-384 digest'),

  // data layer (configuration and migration faults are server faults)
  'db-url-invalid': entry(500, 'the database URL is not sqlite:PATH, a file path or postgres://…'),
  'migration-failed': entry(500, 'a migration threw; nothing of that run was kept'),
  'migration-unknown': entry(500, 'the database holds migrations this code does not know'),
  'migration-invalid': entry(500, "a service's migration list is malformed, or the ledger has gaps"),
  'database-unavailable': entry(503, 'the database cannot serve now (connection lost or refused, pool exhausted, locked, I/O error, file or schema gone): retry after Retry-After'),

  // assertions (the caller's input being wrong, unless said otherwise)
  'assertion-malformed': entry(400, 'the text is not an assertion: separators, header syntax, body length, UTF-8'),
  'assertion-too-large': entry(413, 'a size limit (headers, body, signature, nesting, stream) was exceeded'),
  'assertion-unknown-type': entry(400, 'the type header names no known assertion type'),
  'assertion-invalid': entry(400, "a header is missing or invalid for the assertion's type"),
  'assertion-bad-signature': entry(400, 'the signature block cannot be parsed or does not verify'),
  'assertion-bad-key': entry(400, 'a public key (account-key body, device-key) cannot be parsed'),
  'assertion-key-not-found': entry(400, 'no account-key matches the signing key, or it belongs to another account'),
  'assertion-key-expired': entry(400, "the signing key is not valid now, or not at the assertion's timestamp"),
  'assertion-untrusted': entry(400, 'the assertion must be signed by a directly trusted authority and is not'),
  'assertion-inconsistent': entry(400, 'a prerequisite is missing, or the assertion contradicts what is stored'),
  'assertion-revision': entry(409, 'an equal or newer revision is already stored'),
  'assertion-unsupported-format': entry(400, 'the format is newer than this implementation supports'),
  'assertion-not-found': entry(404, 'no such assertion'),
  'assertion-sign-refused': entry(400, 'signing was refused (bad headers for the type, unusable key)'),

  // brand store: publisher API
  'store-not-found': entry(404, 'no store with that id'),
  'store-exists': entry(409, 'a store with that id already exists'),
  'store-required': entry(400, 'the snap name is registered in several stores: name one'),
  'snap-invalid': entry(400, 'the uploaded file is not a valid snap, or breaks a store rule for its type'),
  'snap-name-mismatch': entry(400, 'the uploaded snap has another name than the snap it is pushed to'),
  'snap-name-registered': entry(409, 'the snap name is already registered'),
  'snap-name-reserved': entry(403, 'the name is a base snap snapd knows by its snap-id: only the root account may publish it'),
  'snap-publisher-invalid': entry(400, "a gadget or kernel must be published by the store's brand (or the root account)"),
  'revision-exists': entry(409, 'this file was already uploaded as a revision'),
  'revision-not-found': entry(404, 'the snap has no such revision'),
  'rollout-not-found': entry(404, 'nothing is released to that channel of the snap: there is no rollout to show, pause, resume or roll back'),
  'rollout-conflict': entry(409, 'the rollout or device group is not in a state for this action (already paused, not paused, already a rollback, released before update control, already held, not held)'),
  'group-not-found': entry(404, 'the store has no device group of that name'),
  'group-exists': entry(409, 'the store already has a device group of that name'),
  'approval-not-found': entry(404, 'no release request with that id'),
  'approval-conflict': entry(409, 'the release request was approved or denied already'),
  'approval-own-request': entry(403, 'nobody approves or denies their own release request: another approver decides it'),
  'validation-set-invalid': entry(400, 'the validation set cannot be decoded, verified or signed, names another account, or pins a revision the store never had'),
  'validation-set-conflict': entry(409, 'that sequence point of the validation set exists with other snaps: push the next sequence'),
  'validation-set-breaks-model': entry(409, "the validation set makes invalid a snap one of the brand's models requires"),
  'validation-invalid': entry(400, 'the validation (gating) cannot be decoded or verified, is not signed by the gating snap\'s publisher, approves a snap the gating snap does not gate, or a revision the store does not have'),
  'rollout-plan-invalid': entry(400, 'the rollout plan is not valid (the message names the step and field), or a release gives both a plan and a percentage or health rules'),

  // brand store: snapd-facing API
  'invalid-channel': entry(400, 'not a valid channel (track/risk/branch)'),
  'invalid-cohort-key': entry(400, 'the cohort key is not one this store issued'),
  'name-not-found': entry(404, 'no snap with that name is visible to the caller'),
  'resource-not-found': entry(404, "no snap of that name for the caller and architecture (snapd's info answer)"),
  'invalid-request': entry(400, "a device-session request snapd's store would refuse"),
  'invalid-credentials': entry(401, 'the device session or its request does not verify'),
  'device-authorization-needs-refresh': entry(401, 'the device session expired: snapd opens a new one'),

  // serial vault: device API
  'api-key-missing': entry(401, 'no factory API key (api-key header) and no operator token'),
  'api-key-invalid': entry(401, 'the factory API key is unknown'),
  'api-key-forbidden': entry(403, 'the factory API key may not register this model'),
  'api-key-expired': entry(403, 'the factory API key is outside its validity window'),
  'api-key-quota': entry(403, 'the factory API key has used its serial quota'),
  'stream-invalid': entry(400, 'the body is not a serial-request followed by a model (or a serial, for remodels)'),
  'serial-request-invalid': entry(400, 'the serial-request breaks a rule of the vault'),
  'serial-request-bad-signature': entry(400, 'the serial-request is not signed by its device key'),
  'request-id-unknown': entry(400, 'the request-id was not issued by this vault'),
  'request-id-used': entry(409, 'the request-id was already used'),
  'request-id-expired': entry(400, 'the request-id has expired: ask for a new one'),
  'model-unknown': entry(404, 'the vault does not sign serials for this model'),
  'model-mismatch': entry(400, 'the model sent does not match the one the vault holds'),
  'model-invalid': entry(400, 'the model assertion does not verify'),
  'serial-invalid': entry(400, 'the proposed serial is not acceptable for this model'),
  'serial-taken': entry(409, 'the serial is already held by another device'),
  'device-registered': entry(409, 'this device key already has a serial and the model refuses duplicates'),
  'remodel-invalid': entry(400, 'the remodel request does not verify'),
  'remodel-forbidden': entry(403, 'the target model does not accept devices from this model'),
  'key-unusable': entry(503, "the model's signing key cannot be used now"),
  'vault-unavailable': entry(503, 'the vault cannot sign now: retry later'),

  // serial vault: admin API
  'vault-model-exists': entry(409, 'the vault already signs for this model'),
  'vault-model-not-found': entry(404, 'the vault does not know this model'),
  'vault-key-not-found': entry(404, 'the vault has no key with that name'),
  'vault-api-key-not-found': entry(404, 'no factory API key with that id'),
  'vault-invalid': entry(400, 'the vault settings are not acceptable'),

  // device agent (src/device): what a simulated device ends in; never sent by the server
  'device-seed-invalid': entry(400, 'the seed fails verification: an assertion does not chain to the trusted root, or a snap file does not match its snap-revision'),
  'device-state-invalid': entry(500, 'the device state folder is missing, unreadable or from another version'),
  'device-hook-failed': entry(400, "the gadget's prepare-device hook failed, timed out, or set unusable registration settings (its output is recorded)"),
  'device-registration-failed': entry(502, "the serial vault refused the registration, or kept failing past snapd's limits"),
  'device-serial-invalid': entry(502, 'the serial the vault returned does not match the device (brand, model, key) or does not verify'),
  'device-not-registered': entry(409, 'the device has no serial yet: boot (and register) it first'),
  'device-session-failed': entry(502, 'the store did not open a device session'),
  'device-store-error': entry(502, 'the store answered a refresh with an error, or kept failing past the retry limit'),
  'device-snap-digest-mismatch': entry(502, "a downloaded snap's SHA3-384 or size is not the one the store or its snap-revision announced; nothing was installed"),
  'device-snap-unverified': entry(502, "a downloaded snap's snap-revision or snap-declaration does not verify against the trusted root; nothing was installed"),
  'device-install-failed': entry(500, 'installing a refreshed snap failed; the device kept (returned to) the old revision'),
  'device-validation-sets': entry(409, "the model's enforced validation sets cannot be met: one cannot be fetched or verified, one declares an installed snap invalid, or two require different revisions"),
  // fleet simulator (src/fleet): a fleet that cannot start; its devices end in the device agent's codes
  'fleet-keys-invalid': entry(400, 'the fleet keys file cannot be read: a line is not JSON, holds no usable PEM private key, or names another key id'),
  'fleet-keygen-failed': entry(500, 'a device key generation worker failed'),
  'fleet-options-invalid': entry(400, 'the fleet options do not fit: device count, keys (one distinct key per device), concurrency, failure probability, period or duration'),
  'demo-data-not-empty': entry(409, 'snapline demo needs a new or empty data folder: it creates a root authority, a brand and its store there'),
  'demo-step-failed': entry(500, 'a step of snapline demo failed; the message names the step and the server\'s answer'),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** The catalog entry of a code, or undefined for a string that is not one. */
export function errorEntry(code: string): ErrorEntry | undefined {
  return Object.hasOwn(ERROR_CATALOG, code) ? ERROR_CATALOG[code as ErrorCode] : undefined;
}
