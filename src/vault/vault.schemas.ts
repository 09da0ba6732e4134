// The vault admin API's request schemas (TypeBox): fastify validates bodies,
// queries and path parameters with them, @fastify/swagger documents them at
// /api/docs, and the service's input types are their static types. Admin
// bodies and queries forbid unknown properties. The device API takes raw
// assertion streams and declares no body schema.
import { Type, type Static } from 'typebox';
import { DUPLICATE_POLICIES } from './vault.repo.ts';

export const ACCOUNT_ID_PATTERN = '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$';
export const KEY_NAME_PATTERN = '^[a-z0-9](?:-?[a-z0-9]){0,23}$';
export const MODEL_PATTERN = '^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$';

const account = Type.String({ pattern: ACCOUNT_ID_PATTERN });
const keyName = Type.String({ pattern: KEY_NAME_PATTERN });
const modelName = Type.String({ pattern: MODEL_PATTERN });
/** RFC 3339 times are checked by the service (snapd's parser, not a regular expression). */
const time = Type.String();

// ---- path parameters

export const BrandParams = Type.Object({ account });
export const KeyParams = Type.Object({ account, name: keyName });
export const ModelParams = Type.Object({ account, model: modelName });
export const ApiKeyParams = Type.Object({ account, id: Type.Integer({ minimum: 1 }) });

// ---- signing keys

export const CreateKeyBody = Type.Object(
  {
    name: keyName,
    pem: Type.Optional(Type.String({ maxLength: 65536 })),
    passphrase: Type.Optional(Type.String({ maxLength: 1024 })),
    register: Type.Optional(Type.Boolean({ default: true })),
    accountKey: Type.Optional(Type.String({ maxLength: 65536 })),
    since: Type.Optional(time),
    until: Type.Optional(time),
  },
  { additionalProperties: false },
);
export type CreateKeyInput = Static<typeof CreateKeyBody>;

export const AccountKeyBody = Type.Object({ accountKey: Type.String({ maxLength: 65536 }) }, { additionalProperties: false });
export type AccountKeyInput = Static<typeof AccountKeyBody>;

// ---- models

const modelSettings = {
  serialAuthority: Type.Optional(account),
  serialTemplate: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  serialPattern: Type.Optional(Type.String({ maxLength: 256 })),
  allowProposed: Type.Optional(Type.Boolean()),
  duplicates: Type.Optional(Type.Enum(DUPLICATE_POLICIES)),
  remodelFrom: Type.Optional(Type.Array(Type.String({ pattern: '^[-a-zA-Z0-9]{2,32}/[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$' }), { maxItems: 100 })),
};

export const AddModelBody = Type.Object({ model: Type.String({ pattern: MODEL_PATTERN, maxLength: 128 }), key: keyName, ...modelSettings }, { additionalProperties: false });
export type AddModelInput = Static<typeof AddModelBody>;

export const UpdateModelBody = Type.Object({ key: Type.Optional(keyName), ...modelSettings }, { additionalProperties: false, minProperties: 1 });
export type UpdateModelInput = Static<typeof UpdateModelBody>;

// ---- factory API keys

export const CreateApiKeyBody = Type.Object(
  {
    // "user:<username>" names the operators who register with their token.
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^(?!user:)' }),
    models: Type.Optional(Type.Array(modelName, { maxItems: 1000 })),
    maxSerials: Type.Optional(Type.Integer({ minimum: 1 })),
    validFrom: Type.Optional(time),
    validUntil: Type.Optional(time),
  },
  { additionalProperties: false },
);
export type CreateApiKeyInput = Static<typeof CreateApiKeyBody>;

// ---- signing log

const logFilters = {
  model: Type.Optional(Type.String({ maxLength: 128 })),
  serial: Type.Optional(Type.String({ maxLength: 128 })),
  deviceKey: Type.Optional(Type.String({ maxLength: 128 })),
  apiKey: Type.Optional(Type.Integer({ minimum: 1 })),
  since: Type.Optional(time),
  until: Type.Optional(time),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
};

export const LogSearchQuery = Type.Object({ ...logFilters, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false });
export type LogSearchInput = Static<typeof LogSearchQuery>;

export const LOG_EXPORT_FORMATS = ['csv', 'json'] as const;
export const LogExportQuery = Type.Object(
  { ...logFilters, format: Type.Optional(Type.Enum(LOG_EXPORT_FORMATS)), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) },
  { additionalProperties: false },
);
export type LogExportInput = Static<typeof LogExportQuery>;

// ---- system-user assertions

export const SystemUserBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    username: Type.String({ pattern: '^[a-z0-9][-a-z0-9+._]*$', maxLength: 32 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    password: Type.Optional(Type.String({ maxLength: 512, description: 'a crypt(3) hash ($6$...), never a clear password' })),
    forcePasswordChange: Type.Optional(Type.Boolean()),
    sshKeys: Type.Optional(Type.Array(Type.String({ maxLength: 16384 }), { maxItems: 50 })),
    models: Type.Array(modelName, { minItems: 1, maxItems: 100 }),
    serials: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 10000 })),
    since: Type.Optional(time),
    until: Type.Optional(time),
    validHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 366 })),
    key: Type.Optional(keyName),
  },
  { additionalProperties: false },
);
export type SystemUserInput = Static<typeof SystemUserBody>;

// ---- device API (raw assertion-stream bodies; headers and query typed here)

/**
 * What snapd's registration sends: the factory API key (from the gadget's
 * device-service.headers), or an operator's bearer token, and its user agent
 * (kept in the signing log). Other headers are allowed; these are bounded.
 */
export const DeviceHeaders = Type.Object({
  'api-key': Type.Optional(Type.String({ maxLength: 1024 })),
  authorization: Type.Optional(Type.String({ maxLength: 8192 })),
  'user-agent': Type.Optional(Type.String({ maxLength: 2048 })),
});

/** snapd sends no query parameter to the device API: any is allowed and ignored. */
export const DeviceQuery = Type.Object({}, { additionalProperties: true });
