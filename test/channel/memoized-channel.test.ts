import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelError, memoizedChannel, parseChannelVerbatim } from '../../src/channel/channel.ts';

test('a channel is parsed once, its error too, and the cache stays bounded', () => {
  const cache = new Map<string, string | ChannelError>();
  let parses = 0;
  const track = (name: string) =>
    memoizedChannel(cache, name, () => {
      parses++;
      return parseChannelVerbatim(name).track;
    }, 3);
  assert.equal(track('22/stable'), '22');
  assert.equal(track('22/stable'), '22');
  const bad = track('a/b/c/d');
  assert.ok(bad instanceof ChannelError);
  assert.equal(track('a/b/c/d'), bad);
  assert.equal(parses, 2);
  track('x/edge');
  track('y/edge'); // the fourth entry empties the cache first
  assert.equal(cache.size, 1);
});

test('other failures are not cached', () => {
  const cache = new Map<string, string | ChannelError>();
  assert.throws(() => memoizedChannel(cache, 'k', () => { throw new TypeError('bug'); }), TypeError);
  assert.equal(cache.size, 0);
});
