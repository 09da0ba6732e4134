import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreType, decode, type Assertion, type StoreData } from '../../../src/assertions/index.ts';
import { vectorBytes, vectorIndex } from '../../helpers/vectors.ts';
import { account, assertDecodeFails, checkInvalidRows, consistency, fakeView, lit, mutate, signedText } from './helpers.ts';

const PREFIX = 'assertion store: ';
const TS = '2024-01-15T10:00:00Z';
const urlLine = 'url: https://store.example.com\n';
const valid = signedText(StoreType, {
  'authority-id': 'vectors-root',
  store: 'store1',
  'operator-id': 'op-id1',
  url: 'https://store.example.com',
  location: 'upstairs',
  timestamp: TS,
});

function data(a: Assertion): StoreData {
  assert.ok(a.is(StoreType));
  return a.data;
}

test('decodes into typed data', () => {
  assert.deepEqual(data(decode(valid)), {
    store: 'store1',
    operatorId: 'op-id1',
    url: 'https://store.example.com',
    friendlyStores: [],
    location: 'upstairs',
    timestamp: new Date(TS),
  });
  const friendly = data(decode(mutate(valid, urlLine, 'friendly-stores:\n  - store1\n  - store2\n  - store3\n')));
  assert.deepEqual(friendly.friendlyStores, ['store1', 'store2', 'store3']);
  assert.equal(friendly.url, undefined);
  assert.equal(data(decode(mutate(valid, urlLine, 'url: \n'))).url, undefined, 'an empty url is no url');
  assert.equal(data(decode(mutate(valid, 'location: upstairs\n', ''))).location, '');
  assert.equal(data(decode(mutate(valid, 'location: upstairs\n', 'location: \n'))).location, '');
});

// snapd asserts/store_asserts_test.go, TestDecodeInvalidHeaders
test('invalid store headers are rejected with snapd messages', () => {
  const tsLine = `timestamp: ${TS}\n`;
  checkInvalidRows(valid, PREFIX, [
    ['store: store1\n', '', lit('"store" header is mandatory')],
    ['store: store1\n', 'store: \n', lit('"store" header should not be empty')],
    ['operator-id: op-id1\n', '', lit('"operator-id" header is mandatory')],
    ['operator-id: op-id1\n', 'operator-id: \n', lit('"operator-id" header should not be empty')],
    [urlLine, 'url:\n  - foo\n', lit('"url" header must be a string')],
    ['location: upstairs\n', 'location:\n  - foo\n', lit('"location" header must be a string')],
    [tsLine, '', lit('"timestamp" header is mandatory')],
    [tsLine, 'timestamp: \n', lit('"timestamp" header should not be empty')],
    [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
    [urlLine, 'friendly-stores: foo\n', lit('"friendly-stores" header must be a list of strings')],
  ]);
});

// TestURL: snapd parses with Go's net/url and then checks scheme, host, query, fragment.
test('url validation', () => {
  const ok = ['http://example.com/', 'https://example.com/', 'https://example.com/some/path/', 'https://example.com:443/', 'https://example.com:1234/', 'https://user:pass@example.com/', 'https://token@example.com/', 'HTTPS://example.com', 'https://example.com/?', 'https://example.com/#', 'https://[::1]:8443/'];
  for (const url of ok) assert.equal(data(decode(mutate(valid, urlLine, `url: ${url}\n`))).url, url);
  const bad: Array<[string, string]> = [
    ['://example.com', '"url" header must be a valid URL'],
    ['https://exa mple.com', '"url" header must be a valid URL'],
    ['https://example.com:8x/', '"url" header must be a valid URL'],
    ['https://example.com/%zz', '"url" header must be a valid URL'],
    ['example.com', '"url" header scheme must be "https" or "http"'],
    ['//example.com', '"url" header scheme must be "https" or "http"'],
    ['ftp://example.com', '"url" header scheme must be "https" or "http"'],
    ['mailto:someone@example.com', '"url" header scheme must be "https" or "http"'],
    ['https://', '"url" header must have a host'],
    ['https:///', '"url" header must have a host'],
    ['https:///some/path', '"url" header must have a host'],
    ['https:example.com', '"url" header must have a host'],
    ['https://example.com/?foo=bar', '"url" header must not have a query'],
    ['https://example.com/#fragment', '"url" header must not have a fragment'],
  ];
  for (const [url, msg] of bad) assertDecodeFails(mutate(valid, urlLine, `url: ${url}\n`), PREFIX, lit(`${msg}: ${url}`));
});

test('prerequisites and consistency: directly trusted signer, operator account', () => {
  const a = decode(valid) as Assertion<StoreData>;
  assert.deepEqual(StoreType.prerequisites!(a), [{ type: 'account', primaryKey: ['op-id1'] }]);
  assert.equal(consistency(a, fakeView([account('op-id1')])), 'ok');
  assert.equal(
    consistency(a, fakeView([account('op-id1')], ['other'])),
    'assertion-untrusted: store assertion "store1" is not signed by a directly trusted authority: vectors-root',
  );
  assert.equal(consistency(a, fakeView([])), 'assertion-inconsistent: store assertion "store1" does not have a matching account assertion for the operator "op-id1"');
});

test('the snapd-made vector decodes into the typed data', () => {
  const entry = vectorIndex.vectors.find((v) => v.file === 'store.store')!;
  assert.deepEqual(data(decode(vectorBytes(entry.file))), {
    store: entry.headers['store'],
    operatorId: entry.headers['operator-id'],
    url: entry.headers['url'],
    friendlyStores: [],
    location: entry.headers['location'],
    timestamp: new Date(entry.headers['timestamp'] as string),
  });
});
