// Approvals (update control): a brand's admin marks channels of its store as
// controlled; a release to one becomes a pending request (202, nothing
// released) that a user with the approver role approves (released then, as
// asked) or denies; nobody decides their own request; every step audited.
// Through the CLI against a listening server, on both engines (the role's
// database check: platform migration 0008).
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';
import type { StoreOwnTables } from '../../src/store/store.tables.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { core20TwoRevisions, packYaml, expectStatus, push, storeWorld, testSnaps } from './fixtures.ts';

const cli = (s: TestServer, token: string, args: string[]) => runCli(args, { env: { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: token, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' } });
const stableRevision = async (s: TestServer, token: string) =>
  ((await expectStatus(s.request('GET', '/api/store/snaps/acme-app', { token }), 200)).json().channelMap as { channel: string; revision: number | null }[]).find((r) => r.channel === 'latest/stable')?.revision ?? null;

eachEngine('a release to a controlled channel waits for an approver who did not ask it', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const admin = await s.tokenFor(['admin'], 'acme');
  const publisher = await s.tokenFor(['publisher'], 'acme');
  const approver = await s.tokenFor(['approver'], 'acme');
  const both = await s.tokenFor(['publisher', 'approver'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const otherApprover = await s.tokenFor(['approver'], 'other');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name: 'acme-app' } }), 201);
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app')!.bytes), 201);
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);

  // Only the brand's admins set the controlled channels; a bad one is refused with the reason.
  assert.equal((await s.request('PUT', '/api/store/stores/acme-store/controlled-channels', { token: publisher, body: { channels: ['stable'] } })).status, 403);
  const bad = await s.request('PUT', '/api/store/stores/acme-store/controlled-channels', { token: admin, body: { channels: ['solid'] } });
  assert.equal(bad.json().error.code, 'validation-failed');
  const set = await cli(s, admin, ['approvals', 'channels', 'acme-store', '--set', 'stable,2.0/candidate']);
  assert.equal(set.code, 0, set.err);
  assert.equal(set.out, '2.0/candidate\nstable\n');

  // To edge: released at once. To stable: a pending request, nothing released.
  const edge = await cli(s, publisher, ['release', 'acme-app', '1', 'edge']);
  assert.match(edge.out, /^Released acme-app revision 1 to latest\/edge/);
  const asked = await cli(s, publisher, ['release', 'acme-app', '1', 'stable']);
  assert.equal(asked.code, 0, asked.err);
  const id = Number(/waits for approval: request (\d+) \(snapline approve \d+\)/.exec(asked.out)?.[1]);
  assert.ok(id > 0, asked.out);
  const raw = await s.request('POST', '/api/store/snaps/acme-app/releases', { token: publisher, body: { revision: 2, channels: ['stable'] } });
  assert.equal(raw.status, 202);
  const second = raw.json().pending.id as number;
  assert.equal(await stableRevision(s, publisher), null);

  // Readers and approvers list the pending requests; the publisher cannot approve; an approver of another brand neither.
  const listed = await cli(s, viewer, ['approvals', 'list', 'acme-store']);
  assert.match(listed.out, new RegExp(`^${second}: acme-app revision 2 to latest/stable, asked by \\S+ at \\S+: pending\\n${id}: acme-app revision 1 to latest/stable`));
  for (const token of [publisher, viewer, admin, otherApprover]) {
    const refused = await s.request('POST', `/api/store/approvals/${id}/approve`, { token, body: {} });
    assert.equal(refused.status, 403, refused.body);
  }
  // A user who may both release and approve cannot approve their own request.
  const own = (await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: both, body: { revision: 2, channels: ['2.0/candidate', 'beta'] } }), 202)).json().pending.id as number;
  const ownTry = await cli(s, both, ['approve', String(own)]);
  assert.notEqual(ownTry.code, 0);
  assert.match(ownTry.err, /own: another approver decides it/);

  // Approved: released as it was asked, recorded as the requester's.
  const approved = await cli(s, approver, ['approve', String(id), '--reason', 'tested on the bench']);
  assert.equal(approved.code, 0, approved.err);
  assert.match(approved.out, /: approved by \S+ \(tested on the bench\)\nReleased acme-app revision 1 to latest\/stable\n$/);
  assert.equal(await stableRevision(s, publisher), 1);
  const again = await cli(s, approver, ['approve', String(id)]);
  assert.match(again.err, /approved already/);
  // Denied: nothing released.
  const denied = await cli(s, approver, ['deny', String(second), '--reason', 'not this week']);
  assert.equal(denied.code, 0, denied.err);
  assert.equal(await stableRevision(s, publisher), 1);
  assert.equal((await s.request('POST', '/api/store/approvals/999/approve', { token: approver, body: {} })).status, 403, 'an unknown request is nobody’s to decide');
  const all = await cli(s, approver, ['approvals', 'list', 'acme-store', '--all']);
  assert.match(all.out, new RegExp(`${second}: .*: denied by \\S+ \\(not this week\\)`));
  assert.match((await cli(s, approver, ['approvals', 'list', 'acme-store'])).out, new RegExp(`^${own}: acme-app revision 2 to 2.0/candidate, latest/beta`));

  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select(['action']).where('action', 'like', 'store.approval.%').orderBy('id').execute();
  assert.deepEqual(
    audited.map((a) => a.action),
    ['store.approval.channels', 'store.approval.request', 'store.approval.request', 'store.approval.request', 'store.approval.approve', 'store.approval.deny'],
  );
  const history = await s.server.ctx.db.kysely.withTables<StoreOwnTables>().selectFrom('store_release_history').select('actor').where('channel', '=', 'latest/stable').execute();
  assert.match(history[0]!.actor, /^user:\S+ approved by user:\S+$/);
});

eachEngine('an upload released to a controlled channel (push --release) waits for approval too', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  const snaps = await testSnaps();
  const dir = await core20TwoRevisions(s, t, 'approval-push');
  const admin = await s.tokenFor(['admin'], 'acme');
  const publisher = await s.tokenFor(['publisher'], 'acme');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name: 'acme-app' } }), 201);
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(s.request('PUT', '/api/store/stores/acme-store/controlled-channels', { token: admin, body: { channels: ['stable'] } }), 200);
  // Uploaded, not released: a pending request instead, as `snapline release` would make.
  const up = (await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app-2')!.bytes, 'stable'), 201)).json();
  assert.equal(up.revision.revision, 2);
  assert.deepEqual(up.released, []);
  assert.ok(up.pending.id > 0);
  assert.equal(await stableRevision(s, publisher), 1);
  // To a channel nobody controls, an upload still releases at once.
  const edge = (await expectStatus(push(s, publisher, 'acme-app', (await packYaml(dir, 'app-3', 'name: acme-app\nversion: "3.0"\nbase: core20\n')).bytes, 'edge'), 201)).json();
  assert.deepEqual(edge.released, ['latest/edge']);
  assert.equal(edge.pending, undefined);
  // The CLI says so.
  const four = await packYaml(dir, 'app-4', 'name: acme-app\nversion: "4.0"\nbase: core20\n');
  const pushed = await cli(s, publisher, ['push', four.file, '--release', 'stable']);
  assert.equal(pushed.code, 0, pushed.err);
  assert.match(pushed.out, /^Revision 4 of acme-app \(version 4\.0\) created\nRelease of acme-app revision 4 to latest\/stable waits for approval: request \d+ \(snapline approve \d+\)\n$/);
});
