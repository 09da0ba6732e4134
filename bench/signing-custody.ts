// Signing assertions through key custody: the database custody (the key
// sealed in SQLite, opened per signature, and kept open as the vault's serial
// keys are) against PKCS#11 custody in a SoftHSM2 token, measured in the same
// run. Each figure is assertions signed per second with 4 signatures in flight
// (libuv's thread pool size, the token signer's session pool size), through
// signAssertion: token signatures are verified before use, as in production.
// Ratio line: pkcs11 / database. Needs SoftHSM2 (apt-get install softhsm2) and
// the pkcs11js binding; prints why and exits 0 without them.
// BENCH_N (default 200) assertions per measurement; 3 interleaved rounds, median.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountType } from '../src/assertions/index.ts';
import { migrate, openDatabase, platformMigrations, type Database } from '../src/platform/db/index.ts';
import { KeyCustody, MasterKeyRing, Pkcs11Token, generateMasterKey, loadPkcs11Binding, masterKeyFromBase64, signAssertion, type Signer } from '../src/platform/keys/index.ts';
import { vectorKey } from '../test/helpers/vectors.ts';

const MODULE = process.env['SNAPLINE_TEST_PKCS11_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';
const N = Number(process.env['BENCH_N'] ?? 200);
const IN_FLIGHT = 4;
const PIN = '123456';

function unavailable(): string | undefined {
  if (!existsSync(MODULE)) return `no ${MODULE} (apt-get install softhsm2)`;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'pipe' });
    loadPkcs11Binding();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

const why = unavailable();
if (why) {
  console.log(`skipped: PKCS#11 custody cannot be measured here: ${why}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-custody-'));
mkdirSync(join(dir, 'tokens'));
const conf = join(dir, 'softhsm2.conf');
writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
process.env['SOFTHSM2_CONF'] = conf;
execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '654321'], { stdio: 'pipe' });

async function database(name: string): Promise<Database> {
  const db = openDatabase(`sqlite:${join(dir, `${name}.db`)}`);
  await migrate(db, [platformMigrations], () => new Date());
  return db;
}

/** Signs n account assertions with `signer`, IN_FLIGHT at a time; assertions per second. */
async function rate(signer: Signer, n: number): Promise<number> {
  let next = 0;
  const when = new Date();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) {
        const i = next++;
        await signAssertion(AccountType, { headers: { 'authority-id': 'acme', 'account-id': `a${i}`, 'display-name': `A ${i}`, username: `a${i}`, validation: 'unproven', timestamp: '2025-01-01T00:00:00Z' } }, signer, when);
      }
    }),
  );
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ring = new MasterKeyRing(masterKeyFromBase64(generateMasterKey()));
const sealedDb = await database('sealed');
const tokenDb = await database('token');
const token = Pkcs11Token.open({ module: MODULE, token: 'bench', pin: PIN });
try {
  const sealed = new KeyCustody(sealedDb.kysely, ring);
  const inToken = new KeyCustody(tokenDb.kysely, ring, () => new Date(), { token });
  // The same RSA-4096 key in both custodies.
  const key = vectorKey('brand');
  await sealed.import('brand', key.toPem());
  await inToken.import('brand', key.toPem());
  const signers = {
    database: await sealed.signer({ name: 'brand' }),
    databaseKeptOpen: await sealed.signer({ name: 'brand' }, { keepOpenMs: 60_000 }),
    pkcs11: await inToken.signer({ name: 'brand' }),
  };
  for (const s of Object.values(signers)) await rate(s, 8); // warm-up
  const results: Record<keyof typeof signers, number[]> = { database: [], databaseKeptOpen: [], pkcs11: [] };
  for (let round = 0; round < 3; round++) {
    for (const name of Object.keys(signers) as (keyof typeof signers)[]) results[name].push(await rate(signers[name], N));
  }
  const db = median(results.database);
  const open = median(results.databaseKeptOpen);
  const hsm = median(results.pkcs11);
  console.log(`${N} account assertions, RSA-4096, ${IN_FLIGHT} in flight, median of 3 rounds:`);
  console.log(`database custody (opened per signature): ${db.toFixed(1)} signatures/s`);
  console.log(`database custody (kept open, as the vault's serial keys): ${open.toFixed(1)} signatures/s`);
  console.log(`pkcs11 custody (SoftHSM2, CKM_SHA512_RSA_PKCS, each signature verified): ${hsm.toFixed(1)} signatures/s`);
  console.log(`ratio pkcs11/database = ${(hsm / db).toFixed(2)}; pkcs11/database kept open = ${(hsm / open).toFixed(2)}`);
} finally {
  token.close();
  await sealedDb.close();
  await tokenDb.close();
  rmSync(dir, { recursive: true, force: true });
}
