// Kernel assets and `$kernel:` gadget content, resolved as snapd resolves them
// (gadget/validate.go, gadget/layout.go, kernel/kernel.go): what parses, what
// resolves, and the errors for what does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGadgetYaml } from '../../src/snap/index.ts';
import { checkGadgetKernelContent, parseKernelRef, parseKernelYaml, resolveKernelRef } from '../../src/image/kernel-assets.ts';

const KERNEL_YAML = 'assets:\n  dtbs:\n    update: true\n    content:\n      - dtbs/broadcom/\n      - dtbs/overlays\n      - dtbs/single.dtb\n  firmware:\n    content:\n      - fw/\n';
const assets = parseKernelYaml(KERNEL_YAML, 'pi-kernel');

test('kernel.yaml: assets with update and content; optional; bad names and shapes refused', () => {
  assert.deepEqual([...assets], [
    ['dtbs', { update: true, content: ['dtbs/broadcom/', 'dtbs/overlays', 'dtbs/single.dtb'] }],
    ['firmware', { update: false, content: ['fw/'] }],
  ]);
  assert.equal(parseKernelYaml('', 'k').size, 0);
  assert.equal(parseKernelYaml('assets:\n', 'k').size, 0);
  const refused = (text: string, why: RegExp) => assert.throws(() => parseKernelYaml(text, 'k'), (e: Error & { code?: string }) => e.code === 'image-snap-invalid' && why.test(e.message), text);
  refused('assets:\n  bad_name:\n    update: true\n', /invalid asset name "bad_name"/);
  refused('assets:\n  -dash:\n    update: true\n', /invalid asset name "-dash"/);
  refused('assets:\n  dtbs:\n    update: yes-please\n', /update is not a boolean/);
  refused('assets:\n  dtbs:\n    content: dtbs/\n', /content is not a list of paths/);
  refused('assets: [1]\n', /assets is not a map/);
  refused('assets: {\n', /cannot parse kernel metadata/);
});

test('kernel refs: split and checked as snapd does', () => {
  assert.deepEqual(parseKernelRef('$kernel:dtbs/dtbs/broadcom/'), { asset: 'dtbs', content: 'dtbs/broadcom/' });
  assert.deepEqual(parseKernelRef('$kernel:dtbs/single.dtb'), { asset: 'dtbs', content: 'single.dtb' });
  for (const [ref, why] of [
    ['$kernel:dtbs', /invalid asset and content/],
    ['$kernel:/dtbs', /missing asset name or content/],
    ['$kernel:dtbs/', /missing asset name or content/],
    ['$kernel:dtbs/a/../b', /invalid content/],
    ['$kernel:dtbs/a//b', /invalid content/],
    ['$kernel:dtbs/./a', /invalid content/],
    ['$kernel:dtbs/a//', /invalid content/],
    ['$kernel:dt_bs/a', /invalid asset name/],
  ] as const) {
    assert.throws(() => parseKernelRef(ref), (e: Error & { code?: string }) => e.code === 'image-gadget-invalid' && why.test(e.message) && e.message.includes(JSON.stringify(ref)), ref);
  }
});

test('kernel refs resolve to an exact content entry or a path under one', () => {
  assert.equal(resolveKernelRef('$kernel:dtbs/dtbs/broadcom/', assets, 'k'), 'dtbs/broadcom/');
  assert.equal(resolveKernelRef('$kernel:dtbs/dtbs/broadcom/bcm2711.dtb', assets, 'k'), 'dtbs/broadcom/bcm2711.dtb');
  assert.equal(resolveKernelRef('$kernel:dtbs/dtbs/overlays/x.dtbo', assets, 'k'), 'dtbs/overlays/x.dtbo');
  assert.equal(resolveKernelRef('$kernel:dtbs/dtbs/single.dtb', assets, 'k'), 'dtbs/single.dtb');
  assert.throws(() => resolveKernelRef('$kernel:dtbs/dtbs/overlaysx/y', assets, 'k'), /cannot find wanted kernel content "dtbs\/overlaysx\/y" in k/);
  assert.throws(() => resolveKernelRef('$kernel:dtbs/dtbs/other.dtb', assets, 'k'), /cannot find wanted kernel content/);
  assert.throws(() => resolveKernelRef('$kernel:boot/vmlinuz', assets, 'k'), /cannot find "boot" in kernel info from k/);
});

const gadget = (content: string) =>
  parseGadgetYaml(
    Buffer.from(`volumes:\n  pi:\n    schema: mbr\n    bootloader: u-boot\n    structure:\n      - name: boot\n        filesystem: vfat\n        type: "0C"\n        size: 256M\n        content:\n${content}`),
    { model: 'uc16' },
  );

test('prepare-image checks: every ref resolves; a kernel asset needing synced update must be used', () => {
  checkGadgetKernelContent(gadget('          - source: $kernel:dtbs/dtbs/broadcom/\n            target: /\n'), assets, 'pi-kernel');
  // No asset needs a synced update: nothing has to be used.
  checkGadgetKernelContent(gadget('          - source: boot.scr\n            target: /\n'), parseKernelYaml('assets:\n  fw:\n    content: [fw/]\n', 'k'), 'k');
  assert.throws(
    () => checkGadgetKernelContent(gadget('          - source: $kernel:firmware/fw/a.bin\n            target: /\n'), assets, 'pi-kernel'),
    /no asset from the kernel.yaml needing synced update is consumed by the gadget \(kernel snap pi-kernel: "dtbs"\)/,
  );
  assert.throws(
    () => checkGadgetKernelContent(gadget('          - source: $kernel:dtbs/nope/\n            target: /\n'), assets, 'pi-kernel'),
    (e: Error & { code?: string }) => e.code === 'image-gadget-invalid' && /^invalid layout of volume "pi": cannot find wanted kernel content "nope\/" in kernel snap pi-kernel$/.test(e.message),
  );
});
