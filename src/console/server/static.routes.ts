// The console's pages at /console/: built files from dist/console/, and
// index.html for every other path under it (the app routes in the browser).
// Hashed assets are cached for a year; index.html is revalidated every time,
// so a new build is picked up at the next load.
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { CONSOLE_SECURITY_HEADERS } from './security-headers.ts';
import { isHashedAsset } from './console-files.ts';

export const CONSOLE_PREFIX = '/console/';
const YEAR_SECONDS = 365 * 24 * 3600;
const PUBLIC = { access: { kind: 'public' as const } };

/** `dir`: the built console, or undefined to answer 503 with how to build it. */
export async function consoleStaticRoutes(parent: FastifyInstance, dir: string | undefined): Promise<void> {
  await parent.register(async (app) => {
    if (dir) await app.register(fastifyStatic, { root: dir, serve: false, index: false, dotfiles: 'deny', etag: true, lastModified: true });
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.headers(CONSOLE_SECURITY_HEADERS);
      return payload;
    });

    const page = (reply: FastifyReply) => {
      if (!dir) {
        return reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send('The web console was not built: run `npm run build:console` (npm ci does it), then restart.\n');
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    };

    app.get('/console', { config: PUBLIC, schema: { hide: true } }, async (_req, reply) => reply.redirect(CONSOLE_PREFIX, 308));
    app.get('/console/', { config: PUBLIC, schema: { hide: true } }, async (_req, reply) => page(reply));
    app.get<{ Params: { '*': string } }>('/console/*', { config: PUBLIC, schema: { hide: true } }, async (req, reply) => {
      const path = req.params['*'];
      // A file name (with an extension) is a file or nothing: a missing script must not come back as HTML.
      if (!/\.[A-Za-z0-9]+$/.test(path.split('/').at(-1) ?? '')) return page(reply);
      if (!dir) return page(reply);
      if (path.split('/').some((part) => part === '..' || part.startsWith('.'))) return reply.callNotFound();
      reply.header('cache-control', isHashedAsset(path) ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
      return reply.sendFile(path, { cacheControl: false });
    });
  });
}
