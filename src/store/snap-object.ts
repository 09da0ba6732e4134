// The snap object snapd decodes (protocol 6.6): typed fields only, digests in
// lowercase hex, `type` one snapd knows (`os` for the core snap, never `core`).
import type { Publisher } from './catalog.repo.ts';
import type { Revision, Snap } from './store.repo.ts';

const SNAPD_TYPES = new Set(['app', 'gadget', 'kernel', 'base', 'os', 'snapd']);

export function downloadUrl(publicUrl: string, snap: Snap, rev: Revision): string {
  return `${publicUrl}/api/v1/snaps/download/${rev.sha3_384}/${snap.name}_${rev.revision}.snap`;
}

export function snapObject(publicUrl: string, snap: Snap, rev: Revision, publisher: Publisher, withYaml = false): Record<string, unknown> {
  const type = rev.type === 'application' ? 'app' : rev.type;
  const o: Record<string, unknown> = {
    name: snap.name,
    'snap-id': snap.snapId,
    revision: rev.revision,
    version: rev.version,
    epoch: rev.epoch,
    confinement: rev.confinement,
    architectures: rev.architectures,
    download: { url: downloadUrl(publicUrl, snap, rev), 'sha3-384': rev.sha3_384, size: rev.size, deltas: [] },
    'created-at': rev.createdAt,
    publisher,
    summary: rev.summary,
    title: rev.title || snap.name,
    description: rev.description,
    license: rev.license,
    contact: '',
    website: '',
    'store-url': '',
    private: snap.private,
    prices: {},
    media: [],
    'common-ids': [],
  };
  if (SNAPD_TYPES.has(type)) o['type'] = type;
  if (rev.base) o['base'] = rev.base;
  if (withYaml) o['snap-yaml'] = rev.snapYaml;
  return o;
}
