import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Import boundaries (docs/architecture.md): the pure core does no I/O and
// imports nothing above it; the platform imports no service; services do not
// import each other. A later block with the same rule replaces an earlier one
// for its files, so each group lists everything it forbids.
const IO_MODULES = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'child_process', 'worker_threads', 'cluster', 'os', 'readline']
  .flatMap((m) => [m, `node:${m}`])
  .concat(['fastify', 'pg', 'better-sqlite3', 'kysely', 'undici']);
// A relative import that climbs out of its folder into the top-level folder `name` of src/.
const layer = (name) => ({ regex: `^(\\.\\./)+${name}/`, message: `this layer may not import src/${name}/ (docs/architecture.md, import boundaries)` });
const forbid = (layers, { io = false } = {}) => ({
  'no-restricted-imports': [
    'error',
    {
      ...(io ? { paths: IO_MODULES.map((name) => ({ name, message: 'the pure core does no I/O: take the data or a function from the caller' })) } : {}),
      patterns: layers.map(layer),
    },
  ],
});
const SERVICES_AND_UP = ['store', 'vault', 'image', 'device', 'fleet', 'rollout', 'console', 'cli'];
const ABOVE_CORE = ['platform', 'keys', ...SERVICES_AND_UP];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'test-results/', '.bench-tmp/', '.scratch/', 'native/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Library code takes its configuration from the caller; only the CLI (the edge) reads the environment.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'library code does not read process.env: take it as an option (the CLI reads the environment)' }] },
  },
  // The pure core: assertions, channels, error codes, snap metadata and squashfs.
  {
    files: ['src/assertions/**/*.ts', 'src/channel/**/*.ts', 'src/errors/**/*.ts', 'src/snap/**/*.ts', 'src/rollout/**/*.ts'],
    ignores: ['src/snap/snap-file.ts', 'src/snap/pack.ts', 'src/snap/squashfs/source.ts'],
    rules: forbid(ABOVE_CORE, { io: true }),
  },
  // The snap package's file adapters (reading a .snap, packing a folder) may touch the disk, nothing above the core.
  { files: ['src/snap/snap-file.ts', 'src/snap/pack.ts', 'src/snap/squashfs/source.ts'], rules: forbid(ABOVE_CORE) },
  { files: ['src/keys/**/*.ts'], rules: forbid(['platform', ...SERVICES_AND_UP]) },
  { files: ['src/platform/**/*.ts'], rules: forbid(SERVICES_AND_UP) },
  { files: ['src/store/**/*.ts'], rules: forbid(SERVICES_AND_UP.filter((s) => s !== 'store' && s !== 'rollout')) },
  { files: ['src/vault/**/*.ts'], rules: forbid(SERVICES_AND_UP.filter((s) => s !== 'vault')) },
  { files: ['src/image/**/*.ts'], rules: forbid(['platform', ...SERVICES_AND_UP.filter((s) => s !== 'image')]) },
  // The device agent talks to the store and the vault over HTTP only; its state machine (registration,
  // store client, refresh) does no I/O: HTTP, the clock and files are passed in (src/device/io.ts).
  { files: ['src/device/**/*.ts'], rules: forbid(['platform', ...SERVICES_AND_UP.filter((s) => s !== 'device')]) },
  {
    files: ['src/device/{io,errors,state,config,chain,registration,store-client,refresh}.ts'],
    rules: forbid(['platform', ...SERVICES_AND_UP.filter((s) => s !== 'device')], { io: true }),
  },
  // The fleet simulator drives the device agent (devices talk to the store and the vault over HTTP only);
  // its scheduler and figures are pure.
  { files: ['src/fleet/**/*.ts'], rules: forbid(['platform', ...SERVICES_AND_UP.filter((s) => s !== 'fleet' && s !== 'device')]) },
  { files: ['src/fleet/{scheduler,stats,errors}.ts'], rules: forbid(['platform', ...SERVICES_AND_UP.filter((s) => s !== 'fleet')], { io: true }) },
  // The demo drives everything as an operator would (server, API, image builder, fleet); nothing imports it but the CLI.
  { files: ['src/demo/**/*.ts'], rules: forbid(['cli']) },
  // The web console's server side (src/console/server/) is a service: it imports no other service.
  // Its browser app (src/console/app/) talks to the server over HTTP only: no Node module, no server code.
  { files: ['src/console/**/*.ts'], rules: forbid(SERVICES_AND_UP.filter((s) => s !== 'console')) },
  {
    files: ['src/console/app/**/*.{ts,tsx}'],
    rules: forbid(['assertions', 'channel', 'errors', 'snap', 'server', ...ABOVE_CORE.filter((s) => s !== 'console')], { io: true }),
  },
);
