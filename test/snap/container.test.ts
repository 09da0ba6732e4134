import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPackExcluded, validateContainer, type ContainerEntry } from '../../src/snap/container.ts';
import { parseSnapYaml } from '../../src/snap/snap-yaml.ts';
import { SnapPackError } from '../../src/snap/errors.ts';

const Y = parseSnapYaml('name: ab\nversion: 1\napps:\n  a:\n    command: bin/a --x\n  d:\n    command: $SNAP/sbin/d\n    daemon: simple\n    stop-command: sbin/stop\n');
const OK: ContainerEntry[] = [
  { path: '.', type: 'directory', mode: 0o755 },
  { path: 'bin', type: 'directory', mode: 0o755 },
  { path: 'bin/a', type: 'file', mode: 0o755 },
  { path: 'sbin', type: 'directory', mode: 0o700 },
  { path: 'sbin/stop', type: 'file', mode: 0o700 },
  { path: 'meta', type: 'directory', mode: 0o755 },
  { path: 'meta/snap.yaml', type: 'file', mode: 0o644 },
  { path: 'private', type: 'directory', mode: 0o700 },
  { path: 'private/x', type: 'file', mode: 0o600 },
];

test('snap pack exclusions', () => {
  for (const [name, depth, excluded] of [
    ['.git', 1, true],
    ['.git', 2, false],
    ['DEBIAN', 1, true],
    ['x.snap', 3, true],
    ['.#lock', 2, true],
    ['.file.swp', 2, true],
    ['backup~', 2, true],
    [',,tmp', 2, true],
    ['snap', 1, false],
    ['bin', 1, false],
  ] as const) {
    assert.equal(isPackExcluded(name, depth), excluded, `${name} at depth ${depth}`);
  }
});

test('container checks as snapd: commands present, services may be private, meta readable', () => {
  assert.throws(() => validateContainer(OK, Y), (e: unknown) => e instanceof SnapPackError && /path "\$SNAP\/sbin\/d" does not exist/.test(e.message));
  const y2 = parseSnapYaml('name: ab\nversion: 1\napps:\n  a:\n    command: bin/a --x\n  d:\n    command: sbin/d\n    daemon: simple\n    stop-command: sbin/stop\n');
  assert.throws(() => validateContainer(OK, y2), /path "sbin\/d" does not exist/);
  validateContainer([...OK, { path: 'sbin/d', type: 'file', mode: 0o700 }], y2);
  assert.throws(() => validateContainer([...OK, { path: 'sbin/d', type: 'file', mode: 0o600 }], y2), /"sbin\/d" should be executable/);
  assert.throws(
    () => validateContainer(OK.map((e) => (e.path === 'bin/a' ? { ...e, mode: 0o700 } : e)), parseSnapYaml('name: ab\nversion: 1\napps:\n  a:\n    command: bin/a\n')),
    /"bin\/a" should be world-readable and executable/,
  );
  assert.throws(() => validateContainer([...OK, { path: 'meta/gadget.yaml', type: 'file', mode: 0o600 }], parseSnapYaml('name: ab\nversion: 1\n')), /"meta\/gadget.yaml" should be world-readable/);
});
