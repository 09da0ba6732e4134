// Simulated devices for the update-control tests of plans and approvals:
// serials signed by the brand key (one device key for all, signed once per
// process), device sessions opened as snapd opens them, and refreshes of
// core20 (its well-known snap-id, so buckets are the same on every run)
// sent as snapd sends them, installing what the store answers.
import { WELL_KNOWN_SNAP_IDS } from '../../src/assertions/index.ts';
import type { TestServer } from '../helpers/server.ts';
import { deviceIdentity, expectStatus, serialFor, sessionRequest } from './fixtures.ts';

export const SNAP_ID = WELL_KNOWN_SNAP_IDS['core20']!;
const FAKE_IDS = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: SNAP_ID, 'acme-app': 'a'.repeat(32) };
const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };

export interface SimDevice {
  serial: string;
  session: string;
  installed: number;
}

export const serialOf = (i: number) => `box-${String(i).padStart(4, '0')}`;

let signed: { model: string; serials: string[] } | undefined;
function identities(n: number): { model: string; serials: string[] } {
  if (signed && signed.serials.length >= n) return signed;
  const now = new Date();
  signed = { model: deviceIdentity(FAKE_IDS, now).model.toString(), serials: Array.from({ length: n }, (_, i) => serialFor(serialOf(i + 1), now).toString()) };
  return signed;
}

/** Device sessions for `n` serials of model acme/box, opened at the real time (the server's clock may move afterwards). */
export async function simFleet(s: TestServer, n: number): Promise<SimDevice[]> {
  const now = new Date();
  const { model, serials } = identities(n);
  const out: SimDevice[] = [];
  for (let i = 1; i <= n; i++) {
    const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
    const body = { 'device-session-request': sessionRequest(nonce, now, serialOf(i)).toString(), 'serial-assertion': serials[i - 1]!, 'model-assertion': model };
    out.push({ serial: serialOf(i), session: (await expectStatus(s.request('POST', '/api/v1/snaps/auth/sessions', { body }), 200)).json().macaroon as string, installed: 1 });
  }
  return out;
}

/** One refresh of core20 as snapd sends it: the revision offered, or undefined (no update); an offered revision is downloaded with the session, as snapd does. */
export async function simRefresh(s: TestServer, d: SimDevice, download = true): Promise<number | undefined> {
  const body = {
    context: [{ 'snap-id': SNAP_ID, 'instance-key': SNAP_ID, revision: d.installed, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'refreshed-date': '2026-01-01T00:00:00Z' }],
    actions: [{ action: 'refresh', 'instance-key': SNAP_ID, 'snap-id': SNAP_ID }],
    fields: ['revision', 'download'],
  };
  const res = await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${d.session}"` }, body }), 200);
  const results = res.json().results as { result: string; snap: { revision: number; download: { url: string } } }[];
  const got = results[0]?.result === 'refresh' ? results[0].snap : undefined;
  if (got && download) await expectStatus(s.request('GET', new URL(got.download.url).pathname, { headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${d.session}"` } }), 200);
  return got?.revision;
}

/**
 * Every device refreshes and installs what it is offered, unless `fails` says
 * its install fails (snapd undoes it) or `holds` says it does not even
 * download it (a refresh held on the device: not tried).
 */
export async function simRound(s: TestServer, devices: SimDevice[], fails: (d: SimDevice) => boolean = () => false, holds: (d: SimDevice) => boolean = () => false): Promise<Map<string, number | undefined>> {
  const offered = new Map<string, number | undefined>();
  for (const d of devices) {
    const held = holds(d);
    const rev = await simRefresh(s, d, !held);
    if (held) {
      offered.set(d.serial, rev);
      continue;
    }
    offered.set(d.serial, rev);
    if (rev !== undefined && !fails(d)) d.installed = rev;
  }
  return offered;
}
