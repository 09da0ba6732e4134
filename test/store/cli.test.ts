// The store's client commands against a listening server.
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';
import { eachEngine } from './engines.ts';
import { storeWorld, testSnaps, TEST_ADMIN_TOKEN } from './fixtures.ts';

eachEngine('snapline store create, register, push, release, close, status, revisions', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: TEST_ADMIN_TOKEN, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const pubEnv = { ...env, SNAPLINE_TOKEN: await s.tokenFor(['publisher'], 'acme') };
  const ok = async (args: string[], e = env) => {
    const r = await runCli(args, { env: e });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  assert.match(await ok(['store', 'create', 'brand-2', '--brand', 'acme', '--include', 'operator-store']), /^type: store\n/);
  assert.match(await ok(['register', 'acme-app', '--store', 'acme-store'], pubEnv), /Registered acme-app in acme-store: snap-id [a-zA-Z0-9]{32}, publisher acme/);
  const pushed = await runCli(['push', snaps.get('acme-app')!.file, '--release', 'stable,beta'], { env: pubEnv });
  assert.equal(pushed.code, 0, pushed.err);
  assert.match(pushed.out, /Revision 1 of acme-app \(version 1.0\) created, released to latest\/stable, latest\/beta/);
  assert.match(pushed.err, /Pushing acme-app: sent \d+ bytes/);
  await ok(['push', snaps.get('acme-app-2')!.file], pubEnv);
  assert.match(await ok(['release', 'acme-app', '2', 'edge,2.0/stable/fix', '--progressive', '20'], pubEnv), /Released acme-app revision 2 to latest\/edge, 2.0\/stable\/fix/);
  assert.match(await ok(['close', 'acme-app', 'beta'], pubEnv), /Closed latest\/beta of acme-app/);
  const status = await ok(['status', 'acme-app'], pubEnv);
  const lines = status.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
  assert.deepEqual(lines[0], ['Track', 'Arch', 'Channel', 'Version', 'Revision', 'Progress', 'Expires at']);
  assert.deepEqual(lines[1], ['latest', 'all', 'stable', '1.0', '1', '-']);
  assert.deepEqual(lines[2], ['', 'candidate', '↑', '↑', '-']);
  assert.deepEqual(lines[3], ['', 'beta', '↑', '↑', '-']);
  assert.deepEqual(lines[4], ['', 'edge', '2.0', '2', '0→20%']);
  assert.equal(lines[5]![0], '2.0');
  const revisions = await ok(['revisions', 'acme-app'], pubEnv);
  assert.match(revisions, /^Rev\.\s+Uploaded\s+Arches\s+Version\s+Channels\n2\s+\S+\s+all\s+2\.0\s+all:2\.0\/stable\/fix, all:latest\/edge\n1\s+\S+\s+all\s+1\.0\s+all:latest\/stable\n$/);
  assert.match(await ok(['collaborator', 'add', 'acme-app', 'other']), /Collaborators of acme-app: other/);
  assert.match(await ok(['collaborator', 'remove', 'acme-app', 'other']), /Collaborators of acme-app: \(none\)/);
  // Errors come back with the server's code.
  const bad = await runCli(['release', 'acme-app', '1', 'stable/x/y/z'], { env: pubEnv });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /\(invalid-channel\)/);
  const wrong = await runCli(['push', snaps.get('other-app')!.file], { env: pubEnv });
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /error: .*unknown snap other-app/);
});
