// A quick world for boot tests without a database: the image tests' fake
// store (vectors' root, brand vectors-brand) serving a core20 model whose
// gadget (pc20) carries a prepare-device hook steered by files in the test's
// folder (`mode`: ok, fail, hang, garbage; `url`: the vault), a seed built
// from it, and a small HTTP vault whose answers the test chooses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Assertion } from '../../src/assertions/index.ts';
import { decode } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { vectorBytes } from '../helpers/vectors.ts';
import { FakeStore, type FakeSnap } from '../image/fake-store.ts';
import { packYaml } from '../store/fixtures.ts';
import { BRAND, core20Model, declaration, packedSnaps, revision, snapIdFor, STORE_ID, trustedRoot, UC20_GADGET_YAML } from '../image/world.ts';

export interface FakeWorld {
  dir: string;
  /** The image builder's output folder. */
  seed: string;
  trusted: Assertion[];
  store: FakeStore;
  /** What the gadget hook does next: ok (sets the vault URL from `url`), fail, hang, garbage. */
  setHook(mode: 'ok' | 'fail' | 'hang' | 'garbage', vaultUrl?: string): Promise<void>;
  close(): Promise<void>;
}

function hook(dir: string): string {
  return `#!/bin/sh
mode=$(cat '${dir}/mode')
case "$mode" in
  fail) echo "no TPM here" >&2; exit 1 ;;
  hang) echo "waiting for the network"; sleep 60 ;;
  garbage) snapctl set device-service.url="$(cat '${dir}/url')" device-service.headers='api-key: not json' ;;
  *) snapctl set device-service.url="$(cat '${dir}/url')" device-service.headers='{"api-key": "K"}' ;;
esac
`;
}

export async function fakeWorld(): Promise<FakeWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-device-fake-'));
  try {
    const snaps = await packedSnaps();
    const { bytes: gadget } = await packYaml(dir, 'pc20-hook', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', {
      'meta/gadget.yaml': UC20_GADGET_YAML,
      'pc-boot.img': 'x'.repeat(440),
      'grubx64.efi': 'GRUB-EFI-20\n',
      'grub.conf': '',
      'meta/hooks/prepare-device': hook(dir),
    });
    const specs: [string, string, string, number, Buffer, string[], string?][] = [
      ['snapd', 'snapd', '2.57', 10, snaps.get('snapd')!, ['latest/stable']],
      ['core20', 'base', '20', 12, snaps.get('core20')!, ['latest/stable']],
      ['pc-kernel20', 'kernel', '5.4', 14, snaps.get('pc-kernel20')!, ['20/stable']],
      ['pc20', 'gadget', '20', 16, gadget, ['20/stable'], 'core20'],
      ['hello', 'app', '2.1', 18, snaps.get('hello')!, ['latest/stable'], 'core20'],
    ];
    const fake: FakeSnap[] = [];
    const assertions: Assertion[] = [
      decode(vectorBytes('store-key.account-key')),
      decode(vectorBytes('brand.account')),
      decode(vectorBytes('brand.account-key')),
      decode(vectorBytes('store.store')),
      ...trustedRoot(),
    ];
    for (const [name, type, version, rev, bytes, channels, base] of specs) {
      fake.push({ name, snapId: snapIdFor(name), revision: rev, type, version, publisherId: BRAND, bytes, channels, ...(base ? { base } : {}) });
      assertions.push(declaration(name), revision(bytes, snapIdFor(name), rev));
    }
    const store = await new FakeStore(STORE_ID, fake, assertions).start();
    const seed = join(dir, 'out');
    await buildImage({ model: core20Model().encode(), storeUrl: store.url, out: seed, trusted: trustedRoot(), label: 'fake' });
    await writeFile(join(dir, 'mode'), 'ok');
    return {
      dir,
      seed,
      trusted: trustedRoot(),
      store,
      async setHook(mode, vaultUrl) {
        await writeFile(join(dir, 'mode'), mode);
        if (vaultUrl !== undefined) await writeFile(join(dir, 'url'), vaultUrl);
      },
      async close() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface FakeVault {
  url: string;
  hits: string[];
  /** The answer to every request from now on. */
  answer(fn: (path: string) => { status: number; type: string; body: string }): void;
  close(): Promise<void>;
}

/** A vault whose answers the test sets (HTML pages, 500s, 503s...). */
export async function fakeVault(): Promise<FakeVault> {
  let fn: (path: string) => { status: number; type: string; body: string } = () => ({ status: 500, type: 'text/html', body: '<html>no</html>' });
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`);
      const a = fn(req.url ?? '/');
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`,
    hits,
    answer: (f) => (fn = f),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
