// The web console as `snapline serve` mounts it (service "console"): the
// built pages at /console/ and the few read-only listings they need under
// /api/console. Everything else the console does goes through the same
// platform, store and vault APIs the CLI uses.
import type { Service } from '../../platform/services.ts';
import { findConsoleBuild } from './console-files.ts';
import { consoleModelRoutes } from './models.routes.ts';
import { consoleReadRoutes } from './read.routes.ts';
import { consoleStaticRoutes } from './static.routes.ts';
import { consoleVerifyRoutes } from './verify.routes.ts';

export interface ConsoleOptions {
  /** The built console (index.html and assets/); found next to the server's code when absent. */
  dir?: string;
}

export function createConsoleService(opts: ConsoleOptions = {}): Service {
  return {
    name: 'console',
    async register(app, ctx) {
      const dir = opts.dir ?? findConsoleBuild();
      if (!dir) app.log.warn('the web console was not built (npm run build:console): /console/ answers 503');
      await consoleStaticRoutes(app, dir);
      await consoleReadRoutes(app, ctx);
      await consoleVerifyRoutes(app, ctx);
      await consoleModelRoutes(app, ctx);
    },
  };
}

export const consoleService: Service = createConsoleService();
