// Headers and query strings of the store's snapd-facing API (the vault's
// device API has its own, in src/vault/vault.schemas.ts): fastify validates
// them like bodies, so a header or parameter of the wrong shape is a 400 in
// snapd's error shape, never a fault in a handler.
// Lenient like snapd's stores: unknown headers and parameters are allowed
// (snapd sends some a store may ignore); the known ones are typed and their
// length bounded. Header names are those of snapd's store client
// (store/store.go newRequest, store_action.go, store_download.go), at both
// API levels (Snap-Device-* and the older X-Ubuntu-*).
import { Type } from 'typebox';

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }));
/** snapd sends strconv.FormatBool; an empty value counts as absent. */
const flag = Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('')]));

/** The headers snapd's store client sends to the store. */
export const SnapdHeaders = Type.Object({
  'snap-device-authorization': text(8192),
  'x-device-authorization': text(8192),
  'snap-device-store': text(128),
  'x-ubuntu-store': text(128),
  'snap-device-series': text(32),
  'x-ubuntu-series': text(32),
  'snap-device-architecture': text(64),
  'x-ubuntu-architecture': text(64),
  'snap-classic': flag,
  'x-ubuntu-classic': flag,
  'snap-device-capabilities': text(1024),
  'snap-client-user-agent': text(1024),
  'x-ubuntu-wire-protocol': text(32),
  'snap-refresh-reason': text(64),
  'snap-refresh-managed': text(32),
  'snap-accept-delta-format': text(256),
  'snap-cdn': text(1024),
  range: text(256),
});

/** A query string the route does not read: snapd's parameters are allowed (and ignored). */
export const AnyQuery = Type.Object({}, { additionalProperties: true });

/** The header and query schemas of a snapd-facing route that reads no query parameter. */
export const SnapdRequest = { headers: SnapdHeaders, querystring: AnyQuery };
