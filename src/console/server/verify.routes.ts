// POST /api/console/assertions/verify: decodes an assertion stream (a model,
// with or without its chain) and checks every signature against this
// server's root authority and the accounts and account-keys it holds, as
// `snapline verify --trusted <root export>` would with the chain beside it.
// Any signed-in user may ask: it reads nothing that /v2/assertions does not serve.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AssertionError, decodeStream, type Assertion } from '../../assertions/index.ts';
import type { PlatformContext } from '../../platform/context.ts';
import { ApiError } from '../../platform/http/errors.ts';
import { verifyAssertions } from './verify-assertions.ts';

const MAX_STREAM = 256 * 1024;

export async function consoleVerifyRoutes(parent: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/api/console/assertions/verify',
    {
      bodyLimit: MAX_STREAM + 4096,
      config: { access: { kind: 'authenticated' } },
      schema: {
        tags: ['console'],
        summary: "Decode an assertion stream and verify each assertion against this server's root authority and the account-keys it holds",
        body: Type.Object({ stream: Type.String({ minLength: 1, maxLength: MAX_STREAM }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      let given: Assertion[];
      try {
        given = decodeStream(Buffer.from(req.body.stream.replace(/\r\n/g, '\n'), 'utf8'));
      } catch (err) {
        if (err instanceof AssertionError) throw new ApiError('validation-failed', `cannot decode: ${err.message}`);
        throw err;
      }
      if (given.length === 0) throw new ApiError('validation-failed', 'no assertion in the text');
      return { assertions: await verifyAssertions(ctx, given) };
    },
  );
}
