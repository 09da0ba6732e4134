// Cohort maths: keys, snapshot windows, and the channel map replayed from history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannel } from '../../src/channel/channel.ts';
import {
  COHORT_WINDOW_MS,
  CohortKeyError,
  cohortContent,
  cohortIdentity,
  cohortSnapshotTime,
  cohortWindowEnd,
  formatCohortKey,
  parseCohortKey,
  releasesAt,
  resolveCohort,
  type Cohort,
  type ReleaseEvent,
} from '../../src/store/cohorts.ts';

const SNAP = 'a'.repeat(32);
const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const cohort = (createdAt: Date, id = 'cohort-id-000001'): Cohort => ({ snapId: SNAP, createdAt, id });
const ev = (minutes: number, channel: string, revision: number | null, architecture = 'all'): ReleaseEvent => ({ architecture, channel, revision, progressivePercentage: null, at: at(minutes) });

test('a cohort key round-trips its fields and refuses anything malformed', () => {
  const c = cohort(at(5));
  const key = formatCohortKey(cohortContent(c), Buffer.from('signature'));
  const parsed = parseCohortKey(key);
  assert.deepEqual(parsed.cohort, c);
  assert.equal(parsed.signature.toString(), 'signature');
  assert.match(key, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'opaque and URL-safe');
  for (const bad of ['', 'x', 'a.b.c', `${key}!`, 42, null, formatCohortKey(Buffer.from(`snapline-cohort-v1\nshort\n1\ncohort-id-000001`), Buffer.from('s')), formatCohortKey(Buffer.from('other\nthing'), Buffer.from('s')), 'x'.repeat(5000)]) {
    assert.throws(() => parseCohortKey(bad), (e: unknown) => e instanceof CohortKeyError && e.code === 'invalid-cohort-key', String(bad).slice(0, 40));
  }
});

test('the cohort identity is stable per cohort and differs between cohorts', () => {
  assert.equal(cohortIdentity(cohort(at(1))), cohortIdentity(parseCohortKey(formatCohortKey(cohortContent(cohort(at(1))), Buffer.from('s'))).cohort));
  assert.notEqual(cohortIdentity(cohort(at(1))), cohortIdentity(cohort(at(1), 'cohort-id-000002')));
  assert.notEqual(cohortIdentity(cohort(at(1))), cohortIdentity(cohort(at(2))));
});

test('a cohort serves its creation moment for 90 days, then the start of each next window', () => {
  const c = cohort(T0);
  assert.deepEqual(cohortSnapshotTime(c, T0), T0);
  assert.deepEqual(cohortSnapshotTime(c, new Date(T0.getTime() + COHORT_WINDOW_MS - 1)), T0);
  assert.deepEqual(cohortSnapshotTime(c, new Date(T0.getTime() + COHORT_WINDOW_MS)), new Date(T0.getTime() + COHORT_WINDOW_MS));
  assert.deepEqual(cohortSnapshotTime(c, new Date(T0.getTime() + 2.5 * COHORT_WINDOW_MS)), new Date(T0.getTime() + 2 * COHORT_WINDOW_MS));
  assert.deepEqual(cohortWindowEnd(c, at(10)), new Date(T0.getTime() + COHORT_WINDOW_MS));
  // Another process's clock a little ahead is fine; a key from far in the future is not.
  assert.deepEqual(cohortSnapshotTime(cohort(at(5)), at(0)), at(5));
  assert.throws(() => cohortSnapshotTime(cohort(at(60)), at(0)), CohortKeyError);
});

test('releases are replayed from the history as of a moment', () => {
  const history = [ev(0, 'latest/stable', 1), ev(10, 'latest/stable', 2), ev(20, 'latest/edge', 3), ev(30, 'latest/stable', 4, 'arm64'), ev(40, 'latest/edge', null)];
  const revs = (m: number) => releasesAt(history, at(m)).map((r) => `${r.architecture}:${r.track}/${r.risk}=${r.revision}`).sort();
  assert.deepEqual(revs(-1), []);
  assert.deepEqual(revs(0), ['all:latest/stable=1'], 'an event at the very moment counts');
  assert.deepEqual(revs(25), ['all:latest/edge=3', 'all:latest/stable=2']);
  assert.deepEqual(revs(35), ['all:latest/edge=3', 'all:latest/stable=2', 'arm64:latest/stable=4']);
  assert.deepEqual(revs(45), ['all:latest/stable=2', 'arm64:latest/stable=4'], 'a close removes the channel');
  // A release for "all" replaces the arch-specific ones of that channel (as the publisher API does).
  assert.deepEqual(releasesAt([...history, ev(50, 'latest/stable', 5)], at(50)).map((r) => `${r.architecture}=${r.revision}`), ['all=5']);
  // Branches expire 30 days after their release.
  const branch = [ev(0, 'latest/beta/fix', 7)];
  assert.equal(releasesAt(branch, at(1))[0]!.expiresAt!.getTime(), at(30 * 24 * 60).getTime());
});

test('a cohort gets what its channel had at its snapshot, with fall-through, per architecture', () => {
  const history = [ev(0, 'latest/stable', 1), ev(10, 'latest/candidate', 2), ev(20, 'latest/stable', 3), ev(30, 'latest/stable', 9, 'arm64')];
  const resolve = (created: number, now: number, channel: string, arch = 'amd64') => resolveCohort(history, cohort(at(created)), arch, parseChannel(channel), at(now))?.release.revision;
  assert.equal(resolve(5, 100, 'stable'), 1, 'not the later release');
  assert.equal(resolve(5, 100, 'candidate'), 1, 'candidate was empty then: it followed stable');
  assert.equal(resolve(15, 100, 'candidate'), 2);
  assert.equal(resolve(25, 100, 'stable'), 3);
  assert.equal(resolve(25, 100, 'stable', 'arm64'), 3, 'the arm64 release came after the cohort');
  assert.equal(resolve(35, 100, 'stable', 'arm64'), 9);
  assert.equal(resolve(-5, 100, 'stable'), undefined, 'nothing was released when the cohort was created');
  // After 90 days the same cohort fixes the channel of that later moment.
  const later = resolveCohort(history, cohort(at(5)), 'amd64', parseChannel('stable'), new Date(at(5).getTime() + COHORT_WINDOW_MS + 1));
  assert.equal(later?.release.revision, 3);
  assert.equal(later?.effectiveChannel, 'latest/stable');
});
