// The web console as `snapline serve` mounts it (service "console"): the
// built pages at /console/ and the read-only listings they need under
// /api/console. Everything else the console does goes through the same
// platform, store and vault APIs the CLI uses.
import type { Service } from '../../platform/services.ts';
import { findConsoleBuild } from './console-files.ts';
import { consoleReadRoutes } from './read.routes.ts';
import { consoleStaticRoutes } from './static.routes.ts';
import { consoleVerifyRoutes } from './verify.routes.ts';

export const consoleService: Service = {
  name: 'console',
  async register(app, ctx) {
    const dir = findConsoleBuild();
    if (!dir) app.log.warn('the web console was not built (npm run build:console): /console/ answers 503');
    await consoleStaticRoutes(app, dir);
    await consoleReadRoutes(app, ctx);
    await consoleVerifyRoutes(app, ctx);
  },
};
