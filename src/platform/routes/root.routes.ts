// The root authority's public face: its id, keys and trusted stream.
import type { FastifyInstance } from 'fastify';
import { MEDIA_TYPE } from '../../assertions/index.ts';
import type { PlatformContext } from '../context.ts';

export async function rootRoutes(app: FastifyInstance, ctx: PlatformContext): Promise<void> {
  app.get(
    '/api/root',
    {
      config: { access: { kind: 'public' } },
      schema: {
        tags: ['root'],
        summary: 'The root authority: its account id and key ids',
        response: { 200: { type: 'object', properties: { rootId: { type: 'string' }, rootKeyId: { type: 'string' }, storeKeyId: { type: 'string' } } } },
      },
    },
    async () => ({ rootId: ctx.root.rootId, rootKeyId: ctx.root.rootSigner.keyId, storeKeyId: ctx.root.storeSigner.keyId }),
  );
  app.get(
    '/api/root/trusted',
    {
      config: { access: { kind: 'public' } },
      schema: { tags: ['root'], summary: 'The trusted stream: root account, root account-key, store account-key (what `snapline root export` prints)' },
    },
    async (_req, reply) => reply.type(MEDIA_TYPE).send(ctx.root.trustedStream),
  );
}
