// The device API snapd calls (gadget device-service.url = <server>/v1/):
// POST request-id, POST serial, GET version: HTTP in and out of the
// RegistrationService (registration.service.ts), which holds the rules.
// Public routes: the factory API key in the "api-key" header (set by the
// gadget's prepare-device hook in device-service.headers), or an operator's
// bearer token, is checked by the service. Errors are rendered in the vault's
// wire shape by the HTTP edge (errorShape: 'vault').
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MEDIA_TYPE } from '../assertions/index.ts';
import type { DeviceCredentials, RegistrationService } from './registration.service.ts';
import { DeviceHeaders, DeviceQuery } from './vault.schemas.ts';

/** The header carrying the factory API key. */
export const API_KEY_HEADER = 'api-key';

/** JSON with Content-Type exactly application/json (a Buffer body keeps fastify from adding a charset). */
function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.status(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The api-key header, or a factory operator's bearer token. */
function credentials(h: Record<string, string | string[] | undefined>): DeviceCredentials {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header(h['authorization']) ?? '')?.[1];
  return { apiKey: header(h[API_KEY_HEADER]), bearer };
}

export async function deviceRoutes(app: FastifyInstance, vault: RegistrationService, version: string): Promise<void> {
  await app.register(async (child) => {
    // Raw bodies here only (assertion streams, empty bodies), whatever the content type.
    child.addContentTypeParser(MEDIA_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    child.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const config = { access: { kind: 'public' as const }, rawBody: true, errorShape: 'vault' as const };
    const schema = { hide: true, headers: DeviceHeaders, querystring: DeviceQuery };

    const requestId = async (req: FastifyRequest, reply: FastifyReply) => {
      const r = await vault.requestId(credentials(req.headers));
      return sendJson(reply, 200, { 'request-id': r.requestId, 'expires-at': r.expiresAt.toISOString() });
    };
    const serial = async (req: FastifyRequest, reply: FastifyReply) => {
      // The content-type parsers above give every body as a Buffer (none: no body).
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await vault.register({
        body,
        ...credentials(req.headers),
        origin: req.ip,
        userAgent: header(req.headers['user-agent']) ?? '',
      });
      if (result.status === 202) {
        reply.header('retry-after', String(result.retryAfterSeconds));
        return sendJson(reply, 202, { message: 'signing queued: send the same request again later' });
      }
      return reply.status(200).type(MEDIA_TYPE).send(result.stream);
    };
    child.post('/v1/request-id', { config, schema }, requestId);
    child.post('/v1/serial', { config, schema }, serial);
    // Where snapd registers when the gadget sets no device-service.url: the
    // store base URL's default vault endpoints (a device whose proxy store is
    // this server, or SNAPPY_FORCE_API_URL-style setups).
    child.post('/api/v1/snaps/auth/request-id', { config, schema }, requestId);
    child.post('/api/v1/snaps/auth/devices', { config, schema }, serial);

    child.get('/v1/version', { config: { access: { kind: 'public' as const }, errorShape: 'vault' as const }, schema }, async (_req, reply) =>
      sendJson(reply, 200, { version, service: 'snapline-vault' }),
    );
  });
}
