// The three wire shapes an error code is rendered in (the codes and their
// statuses are in src/errors/catalog.ts). A route picks its shape with
// `config.errorShape`; the admin and publisher API use the platform shape.
import type { FastifyReply } from 'fastify';
import { CodedError } from '../../errors/coded-error.ts';
import { errorEntry } from '../../errors/catalog.ts';

export type ErrorShape = 'platform' | 'snapd' | 'vault';

/** What the edge tells a client about a failure. */
export interface Problem {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

const INTERNAL: Problem = { status: 500, code: 'internal-error', message: 'internal error (see the server log)' };

/**
 * A coded error's problem from the catalog. Anything else, and any code whose
 * status is 500, is an internal error: logged, never described to the client.
 */
export function problemOf(err: unknown): Problem | undefined {
  if (!(err instanceof CodedError)) return undefined;
  const entry = errorEntry(err.code);
  if (!entry || entry.status === 500) return INTERNAL;
  return {
    status: entry.status,
    code: err.code,
    message: err.message,
    ...(err.details ? { details: err.details } : {}),
    ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
  };
}

export const internalProblem = (): Problem => ({ ...INTERNAL });

/**
 * The `database-unavailable` problem when `err`, or an error in its `cause`
 * chain (a service may wrap what the data layer threw), is that code; its
 * message is generic, the cause goes to the log only.
 */
export function unavailableCause(err: unknown): Problem | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof CodedError && e.code === 'database-unavailable') {
      return { status: 503, code: e.code, message: 'the database is unavailable: retry later', retryAfterSeconds: e.retryAfterSeconds ?? 5 };
    }
  }
  return undefined;
}

/** A problem as it goes on the wire: status, headers and a JSON body. */
export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

// Content-Type exactly application/json: snapd refuses "; charset=utf-8" on some answers.
const json = (status: number, headers: Record<string, string>, body: unknown): RenderedProblem => ({
  status,
  headers: { ...headers, 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(body)),
});

const SHAPES: Record<ErrorShape, (p: Problem) => RenderedProblem> = {
  platform(p) {
    return json(p.status, p.status === 401 ? { 'www-authenticate': 'Bearer' } : {}, { error: { code: p.code, message: p.message, ...(p.details ? { details: p.details } : {}) } });
  },
  // snapd's store client: {"error-list": [...]}; a 401 asks snapd to refresh its device session.
  snapd(p) {
    return json(p.status, p.status === 401 ? { 'www-authenticate': 'Macaroon refresh_device_session=1' } : {}, { 'error-list': [{ code: p.code, message: p.message }] });
  },
  // snapd's device registration reads {"message"} or {"error_list": [...]}; it
  // takes a 500 as a permanent failure, so server faults are sent as 503 and
  // retried from a new request-id.
  vault(p) {
    const status = p.status === 500 ? 503 : p.status;
    const headers: Record<string, string> = status >= 500 && p.retryAfterSeconds === undefined ? { 'retry-after': '60' } : {};
    return json(status, headers, { code: p.code, message: p.message, error_list: [{ code: p.code, message: p.message }] });
  },
};

/** A problem in a wire shape, for the edge (a reply) or below it (a raw socket). */
export function renderProblem(shape: ErrorShape, p: Problem): RenderedProblem {
  const out = SHAPES[shape](p);
  if (p.retryAfterSeconds !== undefined) out.headers['retry-after'] = String(p.retryAfterSeconds);
  return out;
}

export function sendProblem(reply: FastifyReply, shape: ErrorShape, p: Problem): FastifyReply {
  const out = renderProblem(shape, p);
  return reply.status(out.status).headers(out.headers).send(out.body);
}
