// Schemas shared by the platform's routes (accounts, users, tokens, audit):
// they validate the wire and give the handlers their types.
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';

export const ACCOUNT_ID_PATTERN = '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$';
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';

export const AccountParams = Type.Object({ account: Type.String({ pattern: ACCOUNT_ID_PATTERN }) });

/** The account a route acts on, for its access rule (runs before validation, so read as text). */
export const accountParam = (req: FastifyRequest): string => String((req.params as Record<string, unknown>)['account'] ?? '');

export const AuditQuery = Type.Object(
  { before: Type.Optional(Type.Integer({ minimum: 1 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), action: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);

/** A time in an answer: a Date on the server side, RFC 3339 text on the wire (fastify's serializer writes it). */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
