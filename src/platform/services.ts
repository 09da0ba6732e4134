// A service (store, vault, console) plugs into the server with its own
// migrations and routes; it reaches the rest only through the context.
import type { FastifyInstance } from 'fastify';
import type { ServiceMigrations } from './db/index.ts';
import type { ServiceName } from './config.ts';
import type { PlatformContext } from './context.ts';

export interface Service {
  readonly name: ServiceName;
  readonly migrations?: ServiceMigrations;
  register(app: FastifyInstance, ctx: PlatformContext): Promise<void>;
}
