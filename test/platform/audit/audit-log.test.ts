import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import * as audit from '../../../src/platform/audit/index.ts';
import { actorOf, appendAudit, listAudit } from '../../../src/platform/audit/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';

const NOW = new Date('2025-03-01T10:00:00Z');

forEachEngine('append records every field; list pages newest first by account', async (db) => {
  const first = await appendAudit(
    db.kysely,
    {
      actor: actorOf({ username: 'alice' }),
      actorUserId: 1,
      action: 'account.create',
      target: 'acme',
      accountId: 'acme',
      origin: 'api',
      ip: '10.0.0.1',
      requestId: 'req-1',
      details: { displayName: 'Acme', nested: { ok: true } },
    },
    NOW,
  );
  assert.deepEqual(first, {
    id: first.id,
    at: NOW,
    actor: 'user:alice',
    actorUserId: 1,
    action: 'account.create',
    target: 'acme',
    accountId: 'acme',
    origin: 'api',
    ip: '10.0.0.1',
    requestId: 'req-1',
    details: { displayName: 'Acme', nested: { ok: true } },
  });
  for (let i = 0; i < 6; i++) {
    await appendAudit(db.kysely, { actor: 'system', action: i % 2 ? 'key.create' : 'token.create', target: `t${i}`, accountId: 'acme' }, NOW);
    await appendAudit(db.kysely, { actor: 'system', action: 'token.create', target: `other${i}`, accountId: 'bravo' }, NOW);
  }

  const targets: (string | null)[] = [];
  let before: number | undefined;
  const pageSizes: number[] = [];
  do {
    const page = await listAudit(db.kysely, { accountId: 'acme', limit: 3, ...(before === undefined ? {} : { before }) });
    pageSizes.push(page.entries.length);
    targets.push(...page.entries.map((e) => e.target));
    before = page.nextBefore;
  } while (before !== undefined);
  assert.deepEqual(pageSizes, [3, 3, 1]);
  assert.deepEqual(targets, ['t5', 't4', 't3', 't2', 't1', 't0', 'acme']);

  assert.deepEqual((await listAudit(db.kysely, { accountId: 'acme', action: 'key.create' })).entries.map((e) => e.target), ['t5', 't3', 't1']);
  assert.equal((await listAudit(db.kysely)).entries.length, 13);
  const minimal = (await listAudit(db.kysely, { accountId: 'bravo', limit: 1 })).entries[0]!;
  assert.deepEqual([minimal.actorUserId, minimal.origin, minimal.ip, minimal.requestId, minimal.details], [null, null, null, null, null]);
});

forEachEngine('the database refuses to update or delete audit entries', async (db) => {
  await appendAudit(db.kysely, { actor: 'system', action: 'x' }, NOW);
  await assert.rejects(db.kysely.updateTable('audit_log').set({ actor: 'mallory' }).execute(), /append-only/);
  await assert.rejects(db.kysely.deleteFrom('audit_log').execute(), /append-only/);
  await assert.rejects(sql`delete from audit_log`.execute(db.kysely), /append-only/);
  assert.equal((await listAudit(db.kysely)).entries[0]!.actor, 'system');
});

test('the module offers no way to change or remove entries', () => {
  assert.deepEqual(Object.keys(audit).sort(), ['actorOf', 'appendAudit', 'listAudit']);
});
