// `$kernel:` references: snapd's own accepted and refused examples
// (gadget/validate_test.go TestValidateContentKernelAssetsRef and
// TestSplitKernelRefErrors, snapd 2.57.6), the edges of its filepath.Clean
// rule, and Clean itself against Go's answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPath, splitKernelRef } from '../../src/snap/kernel-ref.ts';

test("snapd's accepted references split into asset and content", () => {
  const accepted: [string, string, string][] = [
    ['$kernel:a/b', 'a', 'b'],
    ['$kernel:A/b', 'A', 'b'],
    ['$kernel:a-a/bb', 'a-a', 'bb'],
    ['$kernel:a-a/b-b', 'a-a', 'b-b'],
    ['$kernel:aB-0/cD-3', 'aB-0', 'cD-3'],
    ['$kernel:aB-0/foo-21B.dtb', 'aB-0', 'foo-21B.dtb'],
    ['$kernel:aB-0/nested/bar-77A.raw', 'aB-0', 'nested/bar-77A.raw'],
    ['$kernel:a/a/', 'a', 'a/'],
    // Beyond snapd's table, what its rules accept: a trailing dash in the asset name, and
    // contents that filepath.Clean leaves unchanged ("." and a rooted path).
    ['$kernel:a-/b', 'a-', 'b'],
    ['$kernel:dtbs/.', 'dtbs', '.'],
    ['$kernel:dtbs//b', 'dtbs', '/b'],
  ];
  for (const [ref, asset, content] of accepted) assert.deepEqual(splitKernelRef(ref), { asset, content }, ref);
});

test("snapd's refused references, with snapd's messages", () => {
  const refused: [string, string][] = [
    ['no-kernel-ref', 'not a kernel reference: "no-kernel-ref"'],
    ['$kernel:a', 'invalid asset and content in kernel ref "$kernel:a"'],
    ['$kernel:ab', 'invalid asset and content in kernel ref "$kernel:ab"'],
    ['$kernel:a/', 'missing asset name or content in kernel ref "$kernel:a/"'],
    ['$kernel:/b', 'missing asset name or content in kernel ref "$kernel:/b"'],
    ['$kernel:/', 'missing asset name or content in kernel ref "$kernel:/"'],
    ['$kernel:-/-', 'invalid asset name in kernel ref "$kernel:-/-"'],
    ['$kernel:#garbage/a', 'invalid asset name in kernel ref "$kernel:#garbage/a"'],
    ['$kernel:a!invalid/b', 'invalid asset name in kernel ref "$kernel:a!invalid/b"'],
    ['$kernel:dt_bs/a', 'invalid asset name in kernel ref "$kernel:dt_bs/a"'],
    ['$kernel:a/b/..', 'invalid content in kernel ref "$kernel:a/b/.."'],
    ['$kernel:a/b//', 'invalid content in kernel ref "$kernel:a/b//"'],
    ['$kernel:a/b/./', 'invalid content in kernel ref "$kernel:a/b/./"'],
    ['$kernel:a//', 'invalid content in kernel ref "$kernel:a//"'],
    ['$kernel:a///', 'invalid content in kernel ref "$kernel:a///"'],
    ['$kernel:a////', 'invalid content in kernel ref "$kernel:a////"'],
    ['$kernel:a/a/../', 'invalid content in kernel ref "$kernel:a/a/../"'],
    ['$kernel:a/./b', 'invalid content in kernel ref "$kernel:a/./b"'],
    ['$kernel:a/x..y', 'invalid content in kernel ref "$kernel:a/x..y"'],
  ];
  for (const [ref, error] of refused) assert.deepEqual(splitKernelRef(ref), { error }, ref);
});

test("cleanPath answers as Go's filepath.Clean", () => {
  // Each pair printed by Go 1.19's filepath.Clean.
  const go: [string, string][] = [
    ['.', '.'], ['/b', '/b'], ['a/.', 'a'], ['./a', 'a'], ['..', '..'], ['../a', '../a'], ['/..', '/'], ['/../a', '/a'],
    ['a/b/../..', '.'], ['a/b/../../..', '..'], ['', '.'], ['//', '/'], ['a//b', 'a/b'], ['/', '/'], ['a/b/', 'a/b'],
  ];
  for (const [path, clean] of go) assert.equal(cleanPath(path), clean, JSON.stringify(path));
});
