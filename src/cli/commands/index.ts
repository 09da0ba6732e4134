// The table of top-level commands. Loading a command module loads the library
// behind it (the server stack for `serve`, squashfs for `pack`...), so the
// modules are imported on demand: only the one(s) behind the command being run.
// `snapline --help` is printed from this table alone; test/cli/main.test.ts
// checks it against what the modules register.
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

/**
 * The command modules, in the order they register (a command that two modules
 * extend, like `root`, lists its subcommands in this order). String-literal
 * imports, so that esbuild gives each module its own chunk.
 */
export const COMMAND_MODULES = {
  key: async () => (await import('./key.ts')).registerKey,
  root: async () => (await import('./root.ts')).registerRoot,
  rootImport: async () => (await import('./root-import.ts')).registerRootImport,
  account: async () => (await import('./account.ts')).registerAccount,
  sign: async () => (await import('./sign.ts')).registerSign,
  verify: async () => (await import('./verify.ts')).registerVerify,
  pack: async () => (await import('./pack.ts')).registerPack,
  serve: async () => (await import('./serve.ts')).registerServe,
  serverClient: async () => (await import('./server-client.ts')).registerServerClient,
  store: async () => (await import('./store.ts')).registerStore,
  rollout: async () => (await import('./rollout.ts')).registerRollout,
  vault: async () => (await import('./vault.ts')).registerVault,
  image: async () => (await import('./image.ts')).registerImage,
  device: async () => (await import('./device.ts')).registerDevice,
  fleet: async () => (await import('./fleet.ts')).registerFleet,
  demo: async () => (await import('./demo.ts')).registerDemo,
} satisfies Record<string, () => Promise<RegisterCommand>>;

export type CommandModule = keyof typeof COMMAND_MODULES;

export interface CommandEntry {
  readonly name: string;
  /** What `snapline --help` shows after the name: "[options]" and the arguments. */
  readonly terms: string;
  readonly description: string;
  /** The modules that register the command or its subcommands. */
  readonly modules: readonly CommandModule[];
}

/** Every top-level command, in the order `snapline --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'key', terms: '', description: 'manage signing keys in the local keyring ($SNAPLINE_KEYRING)', modules: ['key'] },
  { name: 'root', terms: '', description: 'the root authority (trust root)', modules: ['root', 'rootImport', 'serverClient'] },
  { name: 'account', terms: '', description: 'accounts (brands, developers)', modules: ['account', 'serverClient'] },
  { name: 'sign', terms: '[options] [file]', description: 'sign an assertion from JSON headers, like `snap sign`', modules: ['sign'] },
  { name: 'verify', terms: '[options] <files...>', description: 'verify assertions: one line per assertion, non-zero exit on any failure', modules: ['verify'] },
  { name: 'pack', terms: '[options] <dir>', description: 'pack a directory into a .snap (squashfs, xz), as `snap pack`; honours SOURCE_DATE_EPOCH', modules: ['pack'] },
  { name: 'snap', terms: '', description: 'inspect snap files', modules: ['pack'] },
  { name: 'serve', terms: '[options]', description: 'run the server: store, vault and console on the embedded defaults (SQLite and files under ./data)', modules: ['serve'] },
  { name: 'login', terms: '[options]', description: 'log in to a Snapline server and remember the token (SNAPLINE_PASSWORD or a prompt gives the password)', modules: ['serverClient'] },
  { name: 'store', terms: '', description: 'brand stores', modules: ['store'] },
  { name: 'register', terms: '[options] <snap>', description: 'register a snap name in a store (the server signs its snap-declaration)', modules: ['store'] },
  { name: 'push', terms: '[options] <file>', description: 'upload a .snap (the server signs its snap-revision); prints the revision', modules: ['store'] },
  { name: 'release', terms: '[options] <snap> <revision> <channels>', description: 'release a revision to channels', modules: ['store'] },
  { name: 'close', terms: '[options] <snap> <channels>', description: 'close channels: devices tracking them follow the next more stable risk', modules: ['store'] },
  { name: 'status', terms: '[options] <snap>', description: 'the channel map of a snap (like snapcraft status)', modules: ['store'] },
  { name: 'revisions', terms: '[options] <snap>', description: 'the revisions of a snap, newest first', modules: ['store'] },
  { name: 'collaborator', terms: '', description: 'accounts that may push and release a snap besides its publisher', modules: ['store'] },
  { name: 'rollout', terms: '', description: 'update control: progressive releases per device, plans, pause, resume, advance, roll back, and why a device gets a revision', modules: ['rollout'] },
  { name: 'group', terms: '', description: "a store's device groups (update control): by models, serials, a serial pattern or device labels; a held group is offered nothing new", modules: ['rollout'] },
  { name: 'approvals', terms: '', description: "update control's approvals: a store's controlled channels and its release requests", modules: ['rollout'] },
  { name: 'approve', terms: '[options] <id>', description: 'approve a pending release request (the approver role; not your own)', modules: ['rollout'] },
  { name: 'deny', terms: '[options] <id>', description: 'deny a pending release request (the approver role; not your own)', modules: ['rollout'] },
  { name: 'validation-set', terms: '', description: 'validation sets (update control): create and sign, push, list', modules: ['rollout'] },
  { name: 'gate', terms: '[options] <snap>', description: "set refresh-control in a snap's declaration: devices refresh the named snaps only to revisions it validates", modules: ['rollout'] },
  { name: 'validate', terms: '[options] <account> <gating-snap-id> <gated-snap-id> <revision>', description: 'sign a validation of a gated snap revision with the local keyring and push it', modules: ['rollout'] },
  { name: 'vault', terms: '', description: 'the serial vault: signing keys, models, factory API keys, signing log, system-users', modules: ['vault'] },
  { name: 'image', terms: '', description: 'build seeds and disk images from signed models', modules: ['image'] },
  { name: 'device', terms: '', description: 'a simulated device: boot from a seed, register with the serial vault, refresh from the brand store', modules: ['device'] },
  { name: 'fleet', terms: '', description: 'the fleet simulator: many simulated devices in one process, registering and refreshing', modules: ['fleet'] },
  { name: 'demo', terms: '[options]', description: 'the production model end to end: root, brand, stores, vault, snaps, model, image, N devices registering and installing, a release they refresh to', modules: ['demo'] },
];

/** The registration functions of the modules behind these commands, in registration order. */
export async function loadCommands(names: readonly string[]): Promise<RegisterCommand[]> {
  const wanted = new Set(COMMANDS.filter((c) => names.includes(c.name)).flatMap((c) => c.modules));
  const modules = (Object.keys(COMMAND_MODULES) as CommandModule[]).filter((m) => wanted.has(m));
  return Promise.all(modules.map((m) => COMMAND_MODULES[m]()));
}
