// snapline serve: the server (store, vault, console on one spine), in this
// process or, with --workers N, in N worker processes on one port.
import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { Config, ConfigFlags } from '../../platform/config.ts';
import { listenUrl, startServer, type RunningServer } from '../../platform/server.ts';
import { superviseWorkers } from '../../platform/workers.ts';
import { CliError, io } from '../io.ts';
import { SERVICES_AVAILABLE } from '../../services.ts';
import { serverConfig, withConfigOptions } from '../server-config.ts';

export function registerServe(program: Command): void {
  withConfigOptions(program.command('serve').description('run the server: store, vault and console on the embedded defaults (SQLite and files under ./data)'))
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8080)')
    .option('--only <services>', 'serve only these services (comma-separated: store,vault,console)')
    .option('--workers <n>', 'worker processes serving on the same address: a number, or "auto" for one per core (default 1)')
    .action(async (flags: ConfigFlags) => {
      const config = await serverConfig(flags);
      if (cluster.isWorker) return serveAsWorker(config);
      if (config.workers > 1) return serveWithWorkers(config);
      const server = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE });
      announceFirstStart(server, config);
      io.err(`Snapline listening on ${server.url} (root authority ${config.rootId}; services: ${config.only.join(', ')})\n`);
      io.err(`${await stopSignal()}: finishing requests in flight, then stopping\n`);
      await closeReporting(server);
    });
}

/** The primary: prepares the data once (first start prints its credentials once), then supervises the workers. */
async function serveWithWorkers(config: Config): Promise<void> {
  const prepared = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE, listen: false });
  announceFirstStart(prepared, config);
  await prepared.close();
  let workers;
  try {
    workers = await superviseWorkers({ count: config.workers, log: (line) => io.err(line) });
  } catch (err) {
    throw new CliError(`cannot start the workers: ${(err as Error).message}`);
  }
  io.err(`Snapline listening on ${listenUrl(config.listen.host, workers.address.port)} (root authority ${config.rootId}; services: ${config.only.join(', ')}; ${config.workers} worker processes)\n`);
  const outcome = await Promise.race([stopSignal().then((signal) => ({ signal })), workers.ended.then((code) => ({ code }))]);
  if ('code' in outcome) throw new CliError('the workers kept dying; the server stopped');
  io.err(`${outcome.signal}: the workers finish their requests in flight, then stop (signal again to kill them)\n`);
  const force = () => workers.kill();
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await workers.stop();
}

/** A worker: serves; the primary has already prepared the data and announces the address. */
async function serveAsWorker(config: Config): Promise<void> {
  try {
    const server = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE });
    await stopSignal();
    await closeReporting(server);
  } finally {
    process.disconnect(); // the channel to the primary would keep this process alive, failed or stopped
  }
}

function announceFirstStart(server: RunningServer, config: Config): void {
  if (server.generatedMasterKey) {
    io.err(`First start: generated the master key ${server.generatedMasterKey}. Back it up: without it the signing keys cannot be opened.\n`);
  }
  if (server.admin) {
    // The password and token go to an owner-only file, never to the terminal
    // (or to whatever collects its output: journald, CI logs).
    io.err(
      `First start: created the administrator "${server.admin.username}" of root authority ${config.rootId}.\n` +
        `  Its password${server.admin.token ? ' and API token are' : ' is (the API token is the value of SNAPLINE_ADMIN_TOKEN)'} in ${server.adminCredentialsFile} (readable by you only).\n` +
        '  The database keeps only hashes: read the file, then delete it.\n',
    );
  }
  for (const w of server.warnings) io.err(`warning: ${w}\n`);
}

/**
 * Resolves with the first SIGINT or SIGTERM. A second one kills the process
 * as usual; a worker ignores it instead (a terminal's Ctrl-C reaches every
 * worker as well as the primary, which decides when to force).
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const listen = cluster.isWorker ? process.on.bind(process) : process.once.bind(process);
    listen('SIGINT', () => resolve('SIGINT'));
    listen('SIGTERM', () => resolve('SIGTERM'));
  });
}

async function closeReporting(server: RunningServer): Promise<void> {
  await server.close().catch((err: unknown) => io.err(`error while stopping: ${String(err)}\n`));
}
