/*
 * Interop with the real `snap` CLI (Debian's snapd 2.57.6: /usr/bin/snap) and GnuPG.
 *
 * One 4096-bit RSA key, `acme-models`, is made per run with GnuPG in a temporary
 * SNAP_GNUPG_HOME the way `snap create-key` makes keys (batch generation, user id =
 * the key name, creation date 2016-01-01, SHA512 preference; `%no-protection`).
 * snapd finds it by listing `--list-secret-keys --with-colons` and comparing the uid
 * field with the name (asserts/gpgkeypairmgr.go), and signs through
 * `gpg --personal-digest-preferences SHA512 --default-key 0x<fpr> --detach-sign`.
 * The same key is exported from gpg (unprotected secret-key packet → PKCS#8 PEM, see
 * helpers/gpg.ts) and imported into a temporary snapline keyring.
 *
 * (a) snap → snapline: `snap sign` makes the self-signed `acme` account and account-key
 *     (public key from `snap export-key --account=acme`, as in protocol doc 1.11) and
 *     models (core20 with snaps, with and without body; core18); the real
 *     `snapline verify --trusted` accepts them, our decoder gives back the JSON headers.
 *     Also every other snap-signed fixture (all 18 types of snapd 2.57) whose chain the
 *     acme trust allows passes `snapline verify`.
 * (b) byte identity: for every fixture below whose type snapline registers, the content
 *     (everything before the blank line + signature) of `snapline sign` equals
 *     `snap sign`'s byte for byte (nested lists of maps, multi-line and empty values,
 *     bodies, format > 0, revision, no-authority types, optional primary keys...).
 *     Fixtures of types snapline does not register must be refused by `snapline sign`
 *     ("invalid assertion type"); they become byte-identity checks once registered.
 *     Inputs `snap sign` refuses must be refused by `snapline sign` too. One deliberate
 *     divergence is pinned: snapd's signer does not validate map keys and signs
 *     assertions nobody can decode; snapline refuses them.
 *     (Two incompatibilities found here were fixed in src/: a defaulted snap-revision
 *     provenance is written in name order, and JSON nulls are refused.)
 * (c) snapline → snapd. Decision, after reading cmd/snap and trying it: no `snap`
 *     command verifies assertion signatures against a trust database without the
 *     daemon. `snap known`, `ack`, `model`, `debug model` talk to snapd;
 *     `snap known --direct` only decodes what a store serves; `snap debug
 *     validate-seed` checks chains against the compiled-in Canonical root only (the
 *     Debian build has no `withtestkeys`), so no self-made brand can pass it.
 *     But `snap sign` itself verifies, with snapd's own OpenPGP verifier
 *     (asserts/crypto.go extPGPPrivateKey.sign → PublicKey.verify), every signature
 *     gpg hands back before it prints the assertion ("bad GPG produced signature: it
 *     does not verify"). So SNAP_GNUPG_CMD points at a wrapper that delegates to gpg
 *     except for `--detach-sign`, where it checks that snap asks to sign exactly the
 *     content snapline signed and answers with snapline's signature packet: snap must
 *     then print snapline's assertion byte for byte (a corrupted signature is refused —
 *     negative control). In addition `snap known --direct` fetches snapline's
 *     assertions from a local HTTP server (SNAPPY_FORCE_SAS_URL): snapd's decoder and
 *     per-type checks must accept them and re-encode the same bytes.
 *     A Go verifier built against /usr/share/gocode (golang-go 1.19 is installable from
 *     bookworm) would add snapd's database chain checks, but costs a large toolchain in
 *     CI plus a cold compile of snapd's asserts tree on every run; the shipped binary
 *     already covers decoding and signature verification, so it is not done.
 *
 * Skipped (with the reason printed) only when `snap` or `gpg` is missing.
 * Run: node scripts/run-tests.js interop/snap-sign
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PublicKey, assertionType, decode, decodeStream, type Assertion } from '../../src/assertions/index.ts';
import { runCli } from '../helpers/cli.ts';
import { GpgHome, pemFromGpgExport, privateKeyFromGpgExport, packageVersion, parseRsaSecretKeyPacket, readPackets, toolVersion, which } from './helpers/gpg.ts';
import { WORKED_EXAMPLE_CONTENT_HEAD, WORKED_EXAMPLE_INPUT } from '../helpers/worked-example.ts';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEY_NAME = 'acme-models';
const PASSPHRASE = 'interop-test-passphrase';

const SNAP = which('snap');
const GPG = which('gpg');
const SKIP = !SNAP
  ? 'the real `snap` CLI is not installed (Debian package snapd; CI installs it through .ci/run)'
  : !GPG
    ? '`gpg` is not installed (Debian package gnupg; CI installs it through .ci/run)'
    : undefined;
if (SKIP) console.log(`# interop/snap-sign skipped: ${SKIP}`);

// ---------------------------------------------------------------------------
// Running commands

interface RunResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? PROJECT, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {}); // a command that exits without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

function ok(r: RunResult, what: string): Buffer {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stderr}${r.stdout.toString('utf8')}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------
// Setup shared by every test: one gpg key, one snapline keyring, temp files.

interface Setup {
  root: string;
  home: GpgHome;
  /** Environment for `snap`: SNAP_GNUPG_HOME set, no external key manager. */
  snapEnv: NodeJS.ProcessEnv;
  /** Environment for `snapline`: keyring and passphrase set. */
  snaplineEnv: NodeJS.ProcessEnv;
  /** The wrapper used as SNAP_GNUPG_CMD in (c). */
  wrapper: string;
  /** `snap export-key --account=acme acme-models` output. */
  keyRequest: Buffer;
  /** The gpg secret key export. */
  gpgExport: Buffer;
}

let setup: Setup | undefined;
let counter = 0;

function S(): Setup {
  assert.ok(setup, 'setup did not run');
  return setup;
}

function tmpFile(name: string, data: string | Buffer): string {
  const path = join(S().root, `${++counter}-${name}`);
  writeFileSync(path, data);
  return path;
}

const snap = (args: string[], input?: string, env?: NodeJS.ProcessEnv) => run(SNAP!, args, { input, env: env ?? S().snapEnv });
const snapline = (args: string[], input?: string) => run(process.execPath, [join(PROJECT, 'bin/snapline.js'), ...args], { input, env: S().snaplineEnv });

async function snapSign(json: object): Promise<Buffer> {
  return ok(await snap(['sign', '-k', KEY_NAME], JSON.stringify(json)), `snap sign ${JSON.stringify(json).slice(0, 60)}`);
}

async function snaplineSign(json: object): Promise<Buffer> {
  return ok(await snapline(['sign', '-k', KEY_NAME], JSON.stringify(json)), 'snapline sign');
}

/** The signed content: everything before the last "\n\n" (what both signers sign). */
function contentOf(encoded: Buffer): Buffer {
  const i = encoded.lastIndexOf('\n\n');
  assert.ok(i > 0, 'no content/signature separator');
  return encoded.subarray(0, i);
}

const WRAPPER = `#!/bin/sh
# SNAP_GNUPG_CMD for interop/snap-sign (c): delegate to gpg, except that a
# detached signature is answered with the packet snapline made for the same content.
for a in "$@"; do
  if [ "$a" = "--detach-sign" ]; then
    cat > "$SNAPLINE_WRAP_DIR/asked" || exit 3
    if ! cmp -s "$SNAPLINE_WRAP_DIR/asked" "$SNAPLINE_WRAP_DIR/content"; then
      echo "snapline gpg wrapper: snap asked to sign other content than snapline signed" >&2
      exit 2
    fi
    exec cat "$SNAPLINE_WRAP_DIR/signature.pgp"
  fi
done
exec "$SNAPLINE_REAL_GPG" "$@"
`;

async function doSetup(): Promise<Setup> {
  const root = mkdtempSync(join(tmpdir(), 'snapline-interop-'));
  const home = new GpgHome(GPG!);
  setup = { root, home } as Setup; // partial, so that after() cleans up on failure
  const t0 = Date.now();
  home.generateKey(KEY_NAME);
  const genMs = Date.now() - t0;
  const base = { ...process.env };
  for (const k of ['SNAPD_EXT_KEYMGR', 'SNAP_GNUPG_CMD', 'SNAPPY_FORCE_SAS_URL', 'SNAPPY_FORCE_API_URL', 'SNAPPY_USE_STAGING_STORE', 'SNAPLINE_TRUSTED']) delete base[k];
  const snapEnv = { ...base, SNAP_GNUPG_HOME: home.dir, GNUPGHOME: home.dir };
  const keyring = join(root, 'keyring');
  const snaplineEnv = { ...base, SNAPLINE_KEYRING: keyring, SNAPLINE_PASSPHRASE: PASSPHRASE };
  const wrapper = join(root, 'gpg-wrapper');
  writeFileSync(wrapper, WRAPPER);
  chmodSync(wrapper, 0o755);
  const gpgExport = home.exportSecretKeys(KEY_NAME);
  Object.assign(setup, { snapEnv, snaplineEnv, wrapper, gpgExport });
  const pemPath = join(root, 'acme-models.pem');
  writeFileSync(pemPath, pemFromGpgExport(gpgExport), { mode: 0o600 });
  ok(await snapline(['key', 'import', KEY_NAME, pemPath]), 'snapline key import');
  rmSync(pemPath);
  const keyRequest = ok(await snap(['export-key', `--account=acme`, KEY_NAME]), 'snap export-key --account=acme');
  Object.assign(setup, { keyRequest });
  // (`snap --version` would wait ~25 s for the absent daemon: ask dpkg instead.)
  console.log(`# snapd package ${packageVersion('snapd')}; ${toolVersion(GPG!)}; RSA-4096 key generated in ${genMs} ms`);
  return setup;
}

// ---------------------------------------------------------------------------
// Fixtures: `snap sign` JSON input.

const TS = '2024-01-15T10:00:00Z';
const SINCE = '2024-01-01T00:00:00Z';
const digest = (s: string) => crypto.createHash('sha3-384').update(s).digest('base64url');
const SNAP_ID = 'buPKUD3TKqCOgLEjjHx5kSiCpIs5cMuQ';
const PC_ID = 'UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH';

// A device key for the serial-shaped fixtures (any RSA key: snapd makes 4096-bit ones).
const deviceKeyObject = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const deviceKey = PublicKey.fromKeyObject(deviceKeyObject);

const ACCOUNT = {
  type: 'account',
  'authority-id': 'acme',
  'account-id': 'acme',
  'display-name': 'Acme Corp',
  username: 'acme',
  validation: 'unproven',
  timestamp: '2024-01-01T00:00:00Z',
};

/** protocol doc 1.11's input, verbatim. */
const MODEL_CORE20 = WORKED_EXAMPLE_INPUT;

/** The content protocol doc 1.11 shows for MODEL_CORE20, minus the sign-key line. */
const MODEL_CORE20_TEXT = WORKED_EXAMPLE_CONTENT_HEAD;

const MODEL_CORE20_BODY = {
  ...MODEL_CORE20,
  model: 'acme-gadget-20-notes',
  'system-user-authority': '*',
  body: 'Release notes\n\nFirst model of the gadget line.\n  indented line, trailing spaces  \r\nüñíçødé ✓\n\n',
};

const MODEL_CORE18 = {
  type: 'model',
  'authority-id': 'acme',
  series: '16',
  'brand-id': 'acme',
  model: 'acme-gadget-18',
  'display-name': 'Acme Gadget 18',
  architecture: 'arm64',
  base: 'core18',
  gadget: 'acme-pi=18',
  kernel: 'pi-kernel=18',
  store: 'acme-store',
  'required-snaps': ['hello-world', 'network-manager'],
  'system-user-authority': ['acme', 'acme-support'],
  revision: '3',
  timestamp: TS,
};

function accountKeyJson(id: string, publicKey: string, extra: Record<string, string> = {}) {
  return { type: 'account-key', 'authority-id': 'acme', 'account-id': 'acme', name: KEY_NAME, 'public-key-sha3-384': id, since: SINCE, ...extra, body: publicKey };
}

/** Headers of odd shapes snapd's codec must round-trip (protocol doc 1.2). */
const ODD_HEADERS = {
  'empty-value': '',
  'leading-and-trailing': '  two leading spaces, two trailing  ',
  'looks-like-list': '- not a list',
  'colons-inside': 'a: b: c',
  'multi-line': 'first line\n\n    indented fourth\nlast',
  'ends-with-newline': 'x\ny\n',
  'lines-of-maps': [
    { board: 'rev-2', ports: ['usb0', 'eth0'], notes: 'line one\nline two' },
    { board: '', sensors: { temp: ['t0', 't1'], humidity: '', nested: { deeper: 'yes' } } },
  ],
  'nested-lists': [['a', 'b'], ['c', ['d', 'e']], 'plain'],
  'list-with-empties': ['a', [], {}, 'b'],
  'byte-order-keys': { ab: '3', 'a-b': '1', a1: '2', a: '0', 'a-1': '00' },
  'starts-with-newline': '\nsecond line',
  'only-spaces': '   ',
  // snapd signs any control character; Snapline refuses all but the tab and the newline (docs/assertions.md).
  tabs: 'tab\there,\tand here',
  'empty-list': [],
  'empty-map': {},
  unicode: 'Grüße — ✓ 日本',
};

/** A serial; the device key is the gpg key unless given (so snap can sign device-session-requests as the device). */
function serialJson(serial: string, extra: Record<string, unknown> = {}, device: { encoded: string; id: string } = gpgDeviceKey()) {
  return {
    type: 'serial',
    'authority-id': 'acme',
    'brand-id': 'acme',
    model: 'acme-gadget-20',
    serial,
    'device-key': device.encoded,
    'device-key-sha3-384': device.id,
    timestamp: TS,
    ...extra,
  };
}

function gpgDeviceKey(): { encoded: string; id: string } {
  const request = decode(S().keyRequest);
  return { encoded: request.body!.toString('utf8'), id: request.headerString('public-key-sha3-384') };
}

interface Fixture {
  name: string;
  json: Record<string, unknown>;
  /** Not fetched with `snap known --direct` (no primary key, or not storable). */
  noFetch?: boolean;
  /** A known incompatibility of snapline (src/), reported and not yet fixed: the subtest runs as `todo`. */
  todo?: string;
  /** Why `snapline verify` is not run on snap's output (part of the trusted set, or not storable). */
  noVerify?: string;
}

/** snap sign's output per fixture name, collected by the (b)+(c) test for the verify test. */
const snapSigned = new Map<string, Buffer>();

/** Fixtures that need the gpg key's id and public key. */
function fixtures(keyId: string, publicKey: string): Fixture[] {
  const snapSha = digest('acme hello snap');
  return [
    { name: 'account', json: ACCOUNT, noVerify: 'in the trusted set' },
    {
      name: 'account-key with multi-line body (no request)',
      json: accountKeyJson(keyId, publicKey, { until: '2034-01-01T00:00:00Z' }),
      noVerify: 'same primary key and revision as the trusted account-key, other bytes',
    },
    { name: 'account of a developer', json: { ...ACCOUNT, 'account-id': 'acme-dev1', 'display-name': 'Dev One', username: 'dev1', validation: 'verified' } },
    { name: 'account of another developer, empty body', json: { ...ACCOUNT, 'account-id': 'acme-dev2', 'display-name': 'Dev Two', username: 'dev2', validation: 'starred', body: '' } },
    { name: 'model core20 (protocol doc 1.11)', json: MODEL_CORE20 },
    { name: 'model core20 with body', json: MODEL_CORE20_BODY },
    { name: 'model core18', json: MODEL_CORE18 },
    { name: 'serial, plain', json: serialJson('SN-0001') },
    { name: 'serial with odd header shapes and a body', json: serialJson('SN 0002 ünï', { ...ODD_HEADERS, body: 'HW-DETAILS: x\n\n\nmore: y\n' }, { encoded: deviceKey.encode(), id: deviceKey.id }) },
    {
      name: 'account-key-request (no authority)',
      json: { type: 'account-key-request', 'account-id': 'acme', name: KEY_NAME, 'public-key-sha3-384': keyId, since: SINCE, body: publicKey },
      noFetch: true,
      noVerify: 'account-key requests are not database assertions',
    },
    {
      name: 'serial-request (no authority, no primary key) with body',
      json: { type: 'serial-request', 'brand-id': 'acme', model: 'acme-gadget-20', 'request-id': 'REQ-1', serial: 'SN-0003', 'device-key': publicKey, body: 'HW-DETAILS: x\n\n' },
      noFetch: true,
    },
    {
      name: 'device-session-request (no authority)',
      json: { type: 'device-session-request', 'brand-id': 'acme', model: 'acme-gadget-20', serial: 'SN-0001', nonce: 'n0nce-abc', timestamp: TS },
      noFetch: true,
    },
    // Types snapline may not register yet: byte identity as soon as it does.
    {
      name: 'system-user format 1 with serials',
      json: {
        type: 'system-user',
        format: '1',
        'authority-id': 'acme',
        'brand-id': 'acme',
        email: 'jane.doe@acme.example',
        series: ['16'],
        models: ['acme-gadget-20'],
        serials: ['SN-0001', 'SN 0002 ünï'],
        name: 'Jane Doe',
        username: 'jane',
        password: '$6$rounds=10000$s4lt.salt$Xn0mZ5kJ1q0Hn6sD1pQm8z0zW2yJ7q3lQm0W9tI1bM2vC6eF4gH8jK0lN3oP5rS7uT9wX1yZ3aB5cD7eF9gH1',
        'force-password-change': 'true',
        'ssh-keys': ['ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC jane@laptop', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI jane@desk'],
        since: SINCE,
        until: '2025-01-01T00:00:00Z',
      },
    },
    {
      name: 'snap-declaration format 1 with plugs, aliases',
      json: {
        type: 'snap-declaration',
        format: '1',
        'authority-id': 'acme',
        series: '16',
        'snap-id': SNAP_ID,
        'snap-name': 'hello-acme',
        'publisher-id': 'acme',
        'refresh-control': [PC_ID],
        aliases: [
          { name: 'hi', target: 'hello' },
          { name: 'hey.there', target: 'hello' },
        ],
        plugs: {
          'network-control': { 'allow-installation': 'true', 'allow-auto-connection': { 'slot-snap-type': ['core'] } },
          'serial-port': { 'allow-connection': [{ 'slot-attributes': { path: '/dev/ttyS[0-9]+' } }, { 'slot-snap-type': ['gadget'] }] },
        },
        timestamp: TS,
      },
    },
    {
      name: 'snap-declaration format 5: $SLOT(), on-store/on-model, plug-names, alternatives, revision-authority',
      json: {
        type: 'snap-declaration',
        format: '5',
        'authority-id': 'acme',
        series: '16',
        'snap-id': PC_ID,
        'snap-name': 'acme-pi',
        'publisher-id': 'acme',
        plugs: {
          gpio: {
            'allow-auto-connection': [
              { 'on-store': ['acme-store'], 'on-model': ['acme/acme-gadget-20'], 'plug-names': ['led', 'button'], 'slot-attributes': { number: ['17', '27'] } },
              { 'plug-attributes': { number: '$SLOT(number)' } },
            ],
          },
        },
        slots: { 'serial-port': { 'deny-connection': 'true', 'allow-installation': { 'slot-snap-type': ['gadget', 'core'] } } },
        'revision-authority': [
          { 'account-id': 'acme', provenance: ['acme-factory', 'acme-lab'], 'min-revision': '1', 'max-revision': '100', 'on-store': ['acme-store'] },
        ],
        timestamp: TS,
      },
    },
    {
      name: 'base-declaration',
      json: {
        type: 'base-declaration',
        'authority-id': 'acme',
        series: '16',
        plugs: { 'snapd-control': { 'allow-installation': 'false', 'deny-auto-connection': 'true' } },
        slots: { network: { 'allow-installation': { 'slot-snap-type': ['core'] } }, 'home': { 'deny-auto-connection': { 'on-classic': 'false' } } },
        timestamp: TS,
      },
    },
    {
      name: 'store',
      json: { type: 'store', 'authority-id': 'acme', store: 'acme-store', 'operator-id': 'acme', url: 'https://store.acme.example', 'friendly-stores': ['acme-store-2', 'acme-lab'], location: 'eu-west', timestamp: TS },
    },
    {
      name: 'snap-revision (no provenance)',
      json: { type: 'snap-revision', 'authority-id': 'acme', 'snap-sha3-384': digest('another snap'), 'snap-id': SNAP_ID, 'snap-size': '123456789', 'snap-revision': '1', 'developer-id': 'acme', timestamp: TS },
    },
    {
      name: 'snap-revision (default provenance written out)',
      json: { type: 'snap-revision', 'authority-id': 'acme', 'snap-sha3-384': snapSha, provenance: 'global-upload', 'snap-id': SNAP_ID, 'snap-size': '4096', 'snap-revision': '7', 'developer-id': 'acme', timestamp: TS },
    },
    {
      // Allowed by the revision-authority of the format-5 snap-declaration of PC_ID.
      name: 'snap-revision with provenance',
      json: { type: 'snap-revision', 'authority-id': 'acme', 'snap-sha3-384': snapSha, provenance: 'acme-factory', 'snap-id': PC_ID, 'snap-size': '4096', 'snap-revision': '8', 'developer-id': 'acme', timestamp: TS },
    },
    {
      name: 'snap-build',
      json: { type: 'snap-build', 'authority-id': 'acme', 'snap-sha3-384': snapSha, 'snap-id': SNAP_ID, grade: 'stable', 'snap-size': '4096', timestamp: TS },
    },
    {
      name: 'snap-developer',
      json: {
        type: 'snap-developer',
        'authority-id': 'acme',
        'snap-id': SNAP_ID,
        'publisher-id': 'acme',
        developers: [
          { 'developer-id': 'acme-dev1', since: SINCE },
          { 'developer-id': 'acme-dev2', since: SINCE, until: '2024-06-01T00:00:00Z' },
        ],
        timestamp: TS,
      },
    },
    {
      name: 'validation',
      json: { type: 'validation', 'authority-id': 'acme', series: '16', 'snap-id': SNAP_ID, 'approved-snap-id': PC_ID, 'approved-snap-revision': '5', revoked: 'false', timestamp: TS },
    },
    {
      name: 'validation-set',
      json: {
        type: 'validation-set',
        'authority-id': 'acme',
        series: '16',
        'account-id': 'acme',
        name: 'acme-base',
        sequence: '3',
        snaps: [
          { name: 'pc', id: PC_ID, presence: 'required', revision: '12' },
          { name: 'hello-world', id: SNAP_ID, presence: 'invalid' },
        ],
        timestamp: TS,
      },
    },
    {
      name: 'repair with script body',
      json: {
        type: 'repair',
        'authority-id': 'acme',
        'brand-id': 'acme',
        'repair-id': '42',
        summary: 'restart the frobnicator',
        series: ['16'],
        architectures: ['amd64', 'arm64'],
        models: ['acme/acme-gadget-*', 'acme/acme-gadget-18'],
        timestamp: TS,
        body: '#!/bin/sh\nset -e\necho "fixed"\n\nexit 0\n',
      },
    },
    {
      name: 'preseed',
      json: {
        type: 'preseed',
        'authority-id': 'acme',
        series: '16',
        'brand-id': 'acme',
        model: 'acme-gadget-20',
        'system-label': '20240115',
        snaps: [{ name: 'pc', id: PC_ID, revision: '12' }, { name: 'hello-world' }],
        'artifact-sha3-384': digest('preseed artifact'),
        timestamp: TS,
      },
    },
  ];
}

/**
 * What the headers of a signed assertion must decode to, given the JSON input
 * (protocol doc 1.2/1.3): empty lists and maps vanish, `format`/`revision` "0"
 * are dropped, a default optional primary key is added back by decoding.
 */
function expectedHeaders(json: Record<string, unknown>, signed: Assertion): Record<string, unknown> {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(norm).filter((x) => x !== undefined);
      return items.length ? items : undefined;
    }
    if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v)
        .map(([k, x]) => [k, norm(x)] as const)
        .filter(([, x]) => x !== undefined);
      return entries.length ? Object.fromEntries(entries) : undefined;
    }
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === 'body') continue;
    const n = norm(v);
    if (n !== undefined) out[k] = n;
  }
  for (const k of ['format', 'revision']) if (out[k] === '0') delete out[k];
  for (const [k, v] of Object.entries(signed.assertionType.optionalPrimaryKeyDefaults ?? {})) if (!Object.hasOwn(out, k)) out[k] = v;
  out['sign-key-sha3-384'] = signed.signKeyId;
  if (typeof json['body'] === 'string' && json['body'].length > 0) out['body-length'] = String(Buffer.byteLength(json['body']));
  return out;
}

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

// ---------------------------------------------------------------------------

describe('interop with the real snap sign (GnuPG)', () => {
  before(async () => {
    if (!SKIP) await doSetup();
  });
  after(() => {
    if (!setup) return;
    setup.home?.destroy();
    rmSync(setup.root, { recursive: true, force: true });
  });

  const skip = (t: TestContext): boolean => {
    if (!SKIP) return false;
    t.skip(SKIP);
    return true;
  };

  test('gpg export → PEM: snap and snapline agree on the key', async (t) => {
    if (skip(t)) return;
    const { gpgExport, keyRequest } = S();
    // The converter saw the OpenPGP convention: p < q, u = p^-1 mod q.
    const secret = readPackets(gpgExport).find((p) => p.tag === 5);
    assert.ok(secret, 'no secret-key packet in the gpg export');
    const k = parseRsaSecretKeyPacket(secret.body);
    assert.equal(k.created, 1451606400);
    assert.equal(k.n.toString(2).length, 4096);
    assert.equal((k.u * k.p) % k.q, 1n);
    const node = privateKeyFromGpgExport(gpgExport);
    const probe = Buffer.from('probe');
    assert.ok(crypto.verify('sha512', probe, crypto.createPublicKey(node), crypto.sign('sha512', probe, node)));
    // A protected key is refused with a clear error, not silently mis-parsed.
    const protectedBody = Buffer.from(secret.body);
    const afterPublic = 6 + 2 + ((protectedBody.readUInt16BE(6) + 7) >> 3);
    const eBits = protectedBody.readUInt16BE(afterPublic);
    protectedBody[afterPublic + 2 + ((eBits + 7) >> 3)] = 254;
    assert.throws(() => parseRsaSecretKeyPacket(protectedBody), /protected \(s2k usage 254\)/);

    const request = decode(keyRequest);
    assert.equal(request.type, 'account-key-request');
    const id = request.headerString('public-key-sha3-384');
    assert.equal(request.signKeyId, id);
    PublicKey.decode(request.body!.toString('utf8')).verify(request.content, request.signatureText);

    const snapKeys = ok(await snap(['keys']), 'snap keys').toString('utf8');
    assert.match(snapKeys, new RegExp(`^${KEY_NAME}\\s+${id.replace(/[-]/g, '\\-')}$`, 'm'));
    const list = JSON.parse(ok(await snapline(['key', 'list', '--json']), 'snapline key list').toString('utf8')) as { name: string; id: string; bits: number }[];
    assert.deepEqual(list, [{ name: KEY_NAME, id, bits: 4096 }]);
    const exported = ok(await snapline(['key', 'export', KEY_NAME]), 'snapline key export').toString('utf8');
    assert.equal(exported, request.body!.toString('utf8') + '\n');

    // `snap export-key --account` = `snapline key export --account` at the same `since`.
    const since = request.headerString('since');
    const ours = ok(await snapline(['key', 'export', KEY_NAME, '--account=acme', `--since=${since}`]), 'snapline key export --account');
    assert.equal(contentOf(ours).toString('utf8'), request.content.toString('utf8'));
  });

  test('(a) snap-signed account, account-key and models pass `snapline verify` and decode to the JSON input', async (t) => {
    if (skip(t)) return;
    const request = decode(S().keyRequest);
    const id = request.headerString('public-key-sha3-384');
    const accountKeyInput = accountKeyJson(id, request.body!.toString('utf8'));
    const [account, accountKey, m20, m20body, m18, serial] = await Promise.all(
      [ACCOUNT, accountKeyInput, MODEL_CORE20, MODEL_CORE20_BODY, MODEL_CORE18, serialJson('SN-0001')].map(snapSign),
    );
    const trusted = tmpFile('trusted.assert', Buffer.concat([account!, Buffer.from('\n'), accountKey!]));
    assert.equal(decodeStream(Buffer.concat([account!, Buffer.from('\n'), accountKey!])).length, 2);

    // Every header exactly as in the JSON input; body as given.
    const models: [Record<string, unknown>, Buffer][] = [
      [MODEL_CORE20, m20!],
      [MODEL_CORE20_BODY, m20body!],
      [MODEL_CORE18, m18!],
      [ACCOUNT, account!],
      [accountKeyInput, accountKey!],
    ];
    for (const [json, bytes] of models) {
      const a = decode(bytes);
      const { body, ...headers } = json as Record<string, unknown> & { body?: string };
      const got = plain(a.headers) as Record<string, unknown>;
      for (const [k, v] of Object.entries(headers)) assert.deepEqual(got[k], v, `${json['type']} header ${k}`);
      const extra = Object.keys(got).filter((k) => !Object.hasOwn(headers, k));
      assert.deepEqual(extra.sort(), body ? ['body-length', 'sign-key-sha3-384'] : ['sign-key-sha3-384'], `${json['type']}: unexpected headers`);
      assert.equal(a.signKeyId, id);
      assert.equal(a.body?.toString('utf8'), body);
      // The signature snap made is a GnuPG one (issuer fingerprint + creation time hashed,
      // protocol doc 2.4) and verifies with our code.
      const sig = Buffer.from(a.signatureText.replace(/\s+/g, ''), 'base64');
      assert.deepEqual([...sig.subarray(0, 2)], [0x01, 0xc2]);
      assert.deepEqual([...sig.subarray(4, 10)], [0x04, 0x00, 0x01, 0x0a, 0x00, 0x1d]);
      PublicKey.decode(request.body!.toString('utf8')).verify(a.content, a.signatureText);
      assert.ok(a.encode().equals(bytes), 'decode keeps the original bytes');
    }
    // The worked example of the protocol doc, byte for byte (except the key).
    assert.equal(contentOf(m20!).toString('utf8'), `${MODEL_CORE20_TEXT}sign-key-sha3-384: ${id}`);
    assert.match(m20body!.toString('utf8'), /\nbody-length: \d+\nsign-key-sha3-384: [^\n]+\n\nRelease notes\n\n/);

    const files = [m20!, m20body!, m18!, serial!].map((b, i) => tmpFile(`signed-${i}.assert`, b));
    const r = await snapline(['verify', '--trusted', trusted, ...files]);
    const out = ok(r, 'snapline verify').toString('utf8');
    assert.equal(
      out,
      [
        'model 16/acme/acme-gadget-20: OK',
        'model 16/acme/acme-gadget-20-notes: OK',
        'model 16/acme/acme-gadget-18: OK',
        'serial acme/acme-gadget-20/SN-0001: OK',
        '',
      ].join('\n'),
    );

    // Negative controls: one changed header byte, and an untrusted chain.
    const tampered = tmpFile('tampered.assert', Buffer.from(m20!.toString('utf8').replace('Acme Gadget 20', 'Acme Gadget 21')));
    const bad = await snapline(['verify', '--trusted', trusted, tampered]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout.toString('utf8'), /model 16\/acme\/acme-gadget-20: FAILED/);
    const onlyAccount = tmpFile('account-only.assert', account!);
    const noKey = await snapline(['verify', '--trusted', onlyAccount, files[0]!]);
    assert.notEqual(noKey.status, 0, 'a model must not verify without its account-key');
  });

  test('(b)+(c) each fixture: snapline sign = snap sign byte for byte; snapd verifies and decodes snapline output', { concurrency: Math.max(2, availableParallelism()) }, async (t) => {
    if (skip(t)) return;
    const request = decode(S().keyRequest);
    const id = request.headerString('public-key-sha3-384');
    const publicKey = PublicKey.decode(request.body!.toString('utf8'));
    const all = fixtures(id, request.body!.toString('utf8'));

    const server = await startAssertionServer();
    try {
      await Promise.all(
        all.map((f) =>
          t.test(f.name, f.todo ? { todo: f.todo } : {}, async (st) => {
            const registered = assertionType(f.json['type'] as string) !== undefined;
            const fromSnap = await snapSign(f.json);
            snapSigned.set(f.name, fromSnap);
            if (!registered) {
              const r = await snapline(['sign', '-k', KEY_NAME], JSON.stringify(f.json));
              assert.notEqual(r.status, 0, `snapline sign accepted unregistered type ${f.json['type']}`);
              assert.match(r.stderr, /invalid assertion type/);
              st.diagnostic(`type ${f.json['type']} is not registered in snapline yet: only snap's side checked`);
              return;
            }
            const ours = await snaplineSign(f.json);
            // (b) identical content; both signatures verify with the same key.
            assert.equal(contentOf(ours).toString('utf8'), contentOf(fromSnap).toString('utf8'));
            assert.ok(contentOf(ours).equals(contentOf(fromSnap)));
            const a = decode(ours);
            const s = decode(fromSnap);
            publicKey.verify(a.content, a.signatureText);
            publicKey.verify(s.content, s.signatureText);
            assert.deepEqual(plain(a.headers), plain(s.headers));
            assert.deepEqual(plain(a.headers), expectedHeaders(f.json, a));
            assert.ok(ours.subarray(-1).equals(Buffer.from('\n')) && !ours.subarray(-2).equals(Buffer.from('\n\n')));

            // (c1) snapd's OpenPGP verifier accepts snapline's signature: snap sign
            // prints snapline's assertion unchanged.
            assert.ok((await snapSignWith(f.json, a)).equals(ours), 'snap sign (snapline signature) output differs from snapline sign output');

            // (c2) snapd's decoder and type checks accept snapline's bytes.
            if (!f.noFetch) {
              const known = await server.known(a, ours);
              assert.ok(known.equals(ours), `snap known --direct re-encoded differently:\n${known.toString('utf8')}`);
            }
          }),
        ),
      );
    } finally {
      await server.close();
    }
  });

  test('(a) snapline verify accepts every snap-signed fixture (with the acme chain trusted)', async (t) => {
    if (skip(t)) return;
    const request = decode(S().keyRequest);
    const all = fixtures(request.headerString('public-key-sha3-384'), request.body!.toString('utf8'));
    const [account, accountKey] = await Promise.all([ACCOUNT, accountKeyJson(request.headerString('public-key-sha3-384'), request.body!.toString('utf8'))].map(snapSign));
    const trusted = tmpFile('trusted.assert', Buffer.concat([account!, Buffer.from('\n'), accountKey!]));
    const chosen = all.filter((f) => !f.noVerify);
    const files = chosen.map((f) => {
      const bytes = snapSigned.get(f.name);
      assert.ok(bytes, `no snap sign output for ${f.name}: did the (b)+(c) test run?`);
      return tmpFile('verify.assert', bytes);
    });
    const r = await snapline(['verify', '--trusted', trusted, ...files]);
    const lines = r.stdout.toString('utf8').trimEnd().split('\n');
    assert.equal(lines.length, chosen.length, r.stdout.toString('utf8') + r.stderr);
    const failed = lines.filter((l) => !l.endsWith(': OK'));
    assert.deepEqual(failed, [], `snapline verify rejected snap-signed assertions:\n${failed.join('\n')}`);
    assert.equal(r.status, 0, r.stderr);
  });

  test('(b) inputs snap sign refuses are refused by snapline sign too', async (t) => {
    if (skip(t)) return;
    const declaration = fixtures('x', 'y').find((f) => f.name.startsWith('snap-declaration format 1'))!.json;
    const cases: [string, Record<string, unknown>, string?][] = [
      ['a number where a string is expected', { ...ACCOUNT, revision: 1 }],
      ['a boolean value', { ...ACCOUNT, extra: true }],
      ['a null header value', { ...ACCOUNT, extra: null }],
      ['a null inside a list', { ...ACCOUNT, extra: ['a', null] }],
      ['a null inside a map', { ...ACCOUNT, extra: { a: 'x', b: null } }],
      ['a non-string body', { ...ACCOUNT, body: 7 }],
      ['no type', { ...ACCOUNT, type: undefined }],
      ['an unknown type', { ...ACCOUNT, type: 'authority-delegation' }],
      ['a model whose authority is not its brand', { ...MODEL_CORE20, 'authority-id': 'other' }],
      ['a format above the maximum', { ...MODEL_CORE20, format: '1' }],
      ['a format below what the features need', { ...declaration, format: '0' }],
      ['an empty primary key', { ...MODEL_CORE20, model: '' }],
      ['a "/" in a primary key', { ...MODEL_CORE20, model: 'a/b' }],
      ['authority-id on a no-authority type', { type: 'device-session-request', 'authority-id': 'acme', 'brand-id': 'acme', model: 'm', serial: 's', nonce: 'n', timestamp: TS }],
      ['a negative revision', { ...ACCOUNT, revision: '-1' }],
      ['a core20 model with a kernel header', { ...MODEL_CORE20, kernel: 'pc-kernel' }],
      ['a snaps entry without id', { ...MODEL_CORE20, snaps: [...MODEL_CORE20.snaps.slice(0, 4), { name: 'hello-world' }] }],
    ];
    // snap in parallel; snapline's CLI in-process (same commander program, keyring and
    // signer as bin/snapline.js, without 17 more node start-ups), one at a time.
    const bySnap = await Promise.all(cases.map(([, json]) => snap(['sign', '-k', KEY_NAME], JSON.stringify(json))));
    for (const [i, [what, json, todo]] of cases.entries()) {
      await t.test(what, todo ? { todo } : {}, async (st) => {
        const input = JSON.stringify(json);
        const theirs = bySnap[i]!;
        assert.notEqual(theirs.status, 0, `snap sign accepted ${input}`);
        st.diagnostic(`snap: ${theirs.stderr.trim()}`);
        const ours = await runCli(['sign', '-k', KEY_NAME], { env: S().snaplineEnv, stdin: input });
        assert.notEqual(ours.code, 0, `snapline sign accepted what snap sign refuses (${theirs.stderr.trim()}): ${input}`);
        st.diagnostic(`snapline: ${ours.err.trim()}`);
      });
    }
  });

  test('deliberate divergence: snap sign signs an invalid map key that no decoder (not even snapd\'s) accepts; snapline refuses', async (t) => {
    if (skip(t)) return;
    const json = { ...ACCOUNT, 'account-id': 'acme-bad-key', extra: { Bad: 'x' } };
    const fromSnap = await snapSign(json);
    assert.match(fromSnap.toString('utf8'), /\nextra:\n {2}Bad: x\n/);
    const ours = await snapline(['sign', '-k', KEY_NAME], JSON.stringify(json));
    assert.notEqual(ours.status, 0);
    assert.match(ours.stderr, /invalid map entry key: "Bad"/);
    assert.throws(() => decode(fromSnap), /invalid map entry key/);
    const server = await startAssertionServer();
    try {
      const stub = { type: 'account', shortPrimaryKey: ['acme-bad-key'], assertionType: { primaryKey: ['account-id'] }, headerString: () => 'acme-bad-key' } as unknown as Assertion;
      await assert.rejects(server.known(stub, fromSnap), /invalid map entry key/);
    } finally {
      await server.close();
    }
  });

  test('(c) negative control: snap sign refuses a corrupted snapline signature', async (t) => {
    if (skip(t)) return;
    const ours = decode(await snaplineSign(ACCOUNT));
    const packet = Buffer.from(ours.signatureText.replace(/\s+/g, ''), 'base64').subarray(1);
    packet[packet.length - 10]! ^= 0x01;
    const r = await snapSignWithPacket(ACCOUNT, ours.content, packet);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /bad GPG produced signature: it does not verify/);
    // And content that differs from what snapline signed is caught by the wrapper.
    const other = await snapSignWithPacket({ ...ACCOUNT, 'display-name': 'Other' }, ours.content, packet);
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /other content than snapline signed/);
  });
});

/** `snap sign` with SNAP_GNUPG_CMD answering with `packet` (checked against `content`). */
async function snapSignWithPacket(json: object, content: Buffer, packet: Buffer): Promise<RunResult> {
  const dir = join(S().root, `wrap-${++counter}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'content'), content);
  writeFileSync(join(dir, 'signature.pgp'), packet);
  return snap(['sign', '-k', KEY_NAME], JSON.stringify(json), {
    ...S().snapEnv,
    SNAP_GNUPG_CMD: S().wrapper,
    SNAPLINE_REAL_GPG: GPG!,
    SNAPLINE_WRAP_DIR: dir,
  });
}

async function snapSignWith(json: object, signed: Assertion): Promise<Buffer> {
  const raw = Buffer.from(signed.signatureText.replace(/\s+/g, ''), 'base64');
  assert.equal(raw[0], 1, 'v1 signature wrapping');
  return ok(await snapSignWithPacket(json, signed.content, raw.subarray(1)), 'snap sign with snapline signature');
}

/** A tiny store assertion service for `snap known --direct` (SNAPPY_FORCE_SAS_URL). */
async function startAssertionServer(): Promise<{ known(a: Assertion, bytes: Buffer): Promise<Buffer>; close(): Promise<void> }> {
  const served = new Map<string, Buffer>();
  const keyOf = (segments: string[]) => JSON.stringify(segments);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const body = served.get(keyOf(path.split('/').slice(1).map(decodeURIComponent)));
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'application/problem+json' });
      res.end(JSON.stringify({ 'error-list': [{ code: 'not-found', message: 'not found' }] }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x.ubuntu.assertion' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    async known(a, bytes) {
      served.set(keyOf(['v2', 'assertions', a.type, ...a.shortPrimaryKey]), bytes);
      const filters = a.assertionType.primaryKey.map((k) => `${k}=${a.headerString(k)}`);
      const env = { ...S().snapEnv, SNAPPY_FORCE_SAS_URL: `http://127.0.0.1:${port}/`, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' };
      const r = await snap(['known', '--direct', a.type, ...filters], undefined, env);
      return ok(r, `snap known --direct ${a.type} (server saw ${requests.join(', ') || 'nothing'})`);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
