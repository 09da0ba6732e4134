// The web console in a real browser (Debian's chromium through playwright-core)
// against a real server: sign in, publish and release from the UI, start and
// pause a progressive rollout, read, search and export the signing log, and a
// viewer who is not offered what a viewer may not do. Every page passes
// axe-core's WCAG 2.1 A/AA rules, loads without CSP violations or script
// errors and without layout shift; screenshots go to test-results/console/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { checkAccessibility, launch, layoutShift, screenshot, skipReason, waitUntil, watchLayoutShift, watchProblems } from './browser.ts';
import { consoleWorld, USERS, type ConsoleWorld } from './world.ts';
import { TEST_ADMIN_TOKEN } from '../store/fixtures.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { createAccountKeyRequest } from '../../src/assertions/index.ts';

const skip = skipReason();

test('the web console, page by page', { skip, timeout: 240_000 }, async (t) => {
  const world = await consoleWorld();
  t.after(() => world.close());
  const browser = await launch();
  t.after(() => browser.close());

  const { page, problems } = await newPage(browser, world);
  t.after(() => assert.deepEqual(problems, [], 'CSP violations or script errors in the page'));

  await t.test('sign-in: the server refuses a wrong password, the keyboard signs in', async () => {
    await page.goto(`${world.url}/console/`);
    await page.getByRole('heading', { name: 'Snapline console' }).waitFor();
    await checkAccessibility(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not-her-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /password|credentials|invalid/i }).waitFor();
    await page.getByLabel('Password').fill(USERS.alice.password);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });

  await t.test('overview: registrations per day and model, store figures, recent events', async () => {
    await page.getByRole('img', { name: /Registrations per day and model/ }).waitFor();
    await page.getByText('box', { exact: true }).first().waitFor();
    await page.getByRole('heading', { name: 'Recent events' }).waitFor();
    assert.ok((await layoutShift(page)) < 0.1, `layout shift ${await layoutShift(page)}`);
    await checkAccessibility(page, 'overview');
    await screenshot(page, 'overview');
  });

  await t.test('snaps: register a name, then release an uploaded revision and close a channel from the page', async () => {
    await nav(page, 'Snaps');
    const register = page.getByRole('region', { name: 'Register a snap name' });
    await register.getByLabel('Snap name').fill('Bad_Name');
    await register.getByRole('button', { name: 'Register' }).click();
    await register.getByRole('alert').filter({ hasText: /lower-case letters/ }).waitFor();
    await register.getByLabel('Snap name').fill('acme-hello');
    await register.getByRole('button', { name: 'Register' }).click();
    await register.getByRole('status').filter({ hasText: 'Registered acme-hello' }).waitFor();
    // The server's own refusal is shown as it is.
    await register.getByLabel('Snap name').fill('acme-hello');
    await register.getByRole('button', { name: 'Register' }).click();
    await register.getByRole('alert').filter({ hasText: /acme-hello/ }).waitFor();

    assert.equal(await world.upload('acme-hello', '1.0'), 1);
    await page.getByRole('link', { name: 'acme-hello' }).click();
    await page.getByRole('heading', { name: 'acme-hello', level: 2 }).waitFor();
    await page.getByText('Nothing is released yet.').waitFor();
    await page.getByRole('button', { name: 'Release 1…' }).click();
    const form = page.getByRole('region', { name: 'Release revision 1' });
    await form.getByRole('button', { name: 'Release' }).click();
    await form.getByRole('alert').filter({ hasText: 'Name at least one channel.' }).waitFor();
    await form.getByLabel('Channels').fill('latest/stable, latest/beta');
    await form.getByRole('button', { name: 'Release' }).click();
    await form.getByRole('status').filter({ hasText: 'Released revision 1 to' }).waitFor();
    const matrix = page.getByRole('table', { name: /Release matrix/ });
    await matrix.getByRole('row', { name: /latest\/beta/ }).getByRole('cell', { name: '1', exact: true }).waitFor();
    await matrix.getByRole('row', { name: /latest\/stable/ }).getByRole('cell', { name: '1', exact: true }).waitFor();
    await checkAccessibility(page, 'snap');
    await screenshot(page, 'snaps');

    // Promote: what latest/beta holds goes to latest/candidate.
    await page.getByRole('button', { name: 'Promote latest/beta…' }).click();
    const promote = page.getByRole('region', { name: 'Promote latest/beta' });
    await promote.getByLabel('To channel').fill('latest/candidate');
    await promote.getByRole('button', { name: 'Promote' }).click();
    await promote.getByRole('status').filter({ hasText: 'Promoted revision 1 from latest/beta to latest/candidate' }).waitFor();
    await matrix.getByRole('row', { name: /latest\/candidate/ }).getByRole('cell', { name: '1', exact: true }).waitFor();
    await promote.getByRole('button', { name: 'Done' }).click();

    // Closing asks first; cancel leaves the channel alone.
    await page.getByRole('button', { name: 'Close latest/beta' }).click();
    const dialog = page.getByRole('dialog', { name: 'Close latest/beta?' });
    await dialog.waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Cancel', 'the focus moves to the safe choice in the dialog');
    await checkAccessibility(page, 'confirm dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await matrix.getByRole('row', { name: /latest\/beta/ }).getByRole('cell', { name: '1', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Close latest/beta' }).click();
    await dialog.getByRole('button', { name: 'Close channel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await matrix.getByRole('row', { name: /latest\/beta/ }).getByRole('cell', { name: '↑ latest/candidate' }).or(matrix.getByRole('row', { name: /latest\/beta/ }).getByRole('cell', { name: /↑/ })).first().waitFor();
    await page.getByRole('table', { name: /Revisions of acme-hello/ }).getByRole('cell', { name: /:latest\/candidate, [a-z0-9]+:latest\/stable$/ }).waitFor();
  });

  await t.test('update control: start a progressive rollout, pause it, resume it; create and hold a device group', async () => {
    assert.equal(await world.upload('acme-hello', '2.0'), 2);
    await nav(page, 'Update control');
    const start = page.getByRole('region', { name: 'Start a progressive rollout' });
    await start.getByLabel('Snap').selectOption('acme-hello');
    await start.getByLabel('Revision').fill('2');
    await start.getByLabel('Percentage of devices').fill('0');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await start.getByRole('alert').filter({ hasText: 'from 1 to 100' }).waitFor();
    await start.getByLabel('Percentage of devices').fill('30');
    await start.getByLabel('Failed after check-ins (optional)').fill('3');
    await start.getByLabel('Error threshold % (optional)').fill('20');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await start.getByRole('status').filter({ hasText: 'Started: revision 2 of acme-hello to 30%' }).waitFor();

    const rollout = page.getByRole('article', { name: /Rollout of acme-hello/ });
    await rollout.getByRole('cell', { name: '30%', exact: true }).waitFor();
    await rollout.getByText(/of threshold 20%/).waitFor();
    await rollout.getByRole('progressbar').first().waitFor();
    await rollout.getByRole('button', { name: /^Pause acme-hello/ }).click();
    const pause = page.getByRole('dialog', { name: /Pause the rollout of acme-hello/ });
    await pause.getByRole('button', { name: 'Pause rollout' }).click();
    await pause.waitFor({ state: 'hidden' });
    await rollout.getByText('paused', { exact: true }).waitFor();
    await rollout.getByRole('button', { name: /^Resume acme-hello/ }).waitFor();
    const status = await world.s.request('GET', '/api/store/snaps/acme-hello/rollout?store=acme-store&channel=stable', { token: TEST_ADMIN_TOKEN });
    assert.equal(status.json().releases[0].progressive.paused, true, 'the server has the rollout paused');
    await checkAccessibility(page, 'update control');
    await screenshot(page, 'update-control');

    const groups = page.getByRole('region', { name: 'Device groups' });
    await groups.getByLabel('Group name').fill('lab');
    await groups.getByLabel('Serials').fill('box-0001, box-0002');
    await groups.getByRole('button', { name: 'Create group' }).click();
    await groups.getByRole('cell', { name: 'lab', exact: true }).waitFor();
    await groups.getByRole('button', { name: 'Hold lab' }).click();
    await page.getByRole('dialog', { name: 'Hold lab?' }).getByRole('button', { name: 'Hold group' }).click();
    await groups.getByRole('cell', { name: 'held', exact: true }).waitFor();

    // A validation set written here and signed by the server with the brand's vault key.
    const sets = page.getByRole('region', { name: 'Validation sets' });
    await sets.getByLabel('Set name').fill('fleet');
    await sets.getByLabel('Snaps', { exact: true }).fill('acme-hello sometimes 1');
    await sets.getByRole('button', { name: 'Sign and push' }).click();
    await sets.getByRole('alert').filter({ hasText: 'Each line is: snap' }).waitFor();
    await sets.getByLabel('Snaps', { exact: true }).fill('acme-hello required 1');
    await sets.getByRole('button', { name: 'Sign and push' }).click();
    await sets.getByRole('status').filter({ hasText: 'Signed and pushed fleet sequence 1' }).waitFor();
    await sets.getByRole('table').getByRole('cell', { name: 'acme-hello required r1' }).waitFor();

    // A rollout plan: 10 % soaking an hour, then everyone; advanced by hand from the page.
    await start.getByLabel('Channel').fill('latest/beta');
    await start.getByLabel('Failed after check-ins (optional)').fill('');
    await start.getByLabel('Error threshold % (optional)').fill('');
    await start.getByLabel('Rollout plan, JSON (optional)').fill('{"steps": [');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await start.getByRole('alert').filter({ hasText: 'The plan is a JSON object' }).waitFor();
    await start.getByLabel('Rollout plan, JSON (optional)').fill('{"steps": [{"percentage": 10, "soak": "1h"}, {"percentage": 100}]}');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await start.getByRole('status').filter({ hasText: /Started: revision 2 of acme-hello/ }).waitFor();
    const planned = page.getByRole('article', { name: 'Rollout of acme-hello latest/beta' });
    await planned.getByText(/plan step 1 of 2 \(10% → 100%\)/).waitFor();
    await planned.getByRole('button', { name: 'Advance acme-hello latest/beta' }).click();
    await page.getByRole('dialog', { name: 'Advance the plan of acme-hello latest/beta?' }).getByRole('button', { name: 'Advance to the next step' }).click();
    await planned.getByText(/plan step 2 of 2/).waitFor();
  });

  await t.test('approvals: a controlled channel turns a release into a request that waits', async () => {
    const approvals = page.getByRole('region', { name: 'Approvals' });
    await approvals.getByLabel('Controlled channels').fill('candidate');
    await approvals.getByRole('button', { name: 'Set controlled channels' }).click();
    await approvals.getByText('Controlled channels: candidate').waitFor();
    const start = page.getByRole('region', { name: 'Start a progressive rollout' });
    await start.getByLabel('Revision').fill('2');
    await start.getByLabel('Channel').fill('latest/candidate');
    await start.getByLabel('Percentage of devices').fill('50');
    await start.getByLabel('Failed after check-ins (optional)').fill('');
    await start.getByLabel('Error threshold % (optional)').fill('');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await start.getByRole('status').filter({ hasText: /release request #\d+ waits for an approver/ }).waitFor();
    await approvals.getByRole('table', { name: 'Pending release requests' }).getByRole('cell', { name: /candidate/ }).waitFor();
    // alice asked and is no approver: she is offered no decision.
    assert.equal(await approvals.getByRole('button', { name: /^(Approve|Deny) #/ }).count(), 0);
  });

  await t.test('serial vault: the signing log, searched, paged and exported; an API key shown once, then revoked', async () => {
    await nav(page, 'Serial vault');
    const log = page.getByRole('table', { name: /Serials signed for acme/ });
    await log.getByRole('cell', { name: 'box-0001' }).waitFor();
    await log.getByRole('cell', { name: 'box-0002' }).waitFor();
    const search = page.getByRole('search', { name: 'Search the signing log' });
    await search.getByLabel('Serial').fill('box-0002');
    await search.getByRole('button', { name: 'Search log' }).click();
    await log.getByRole('cell', { name: 'box-0001' }).waitFor({ state: 'detached' });
    await log.getByRole('cell', { name: 'box-0002' }).waitFor();

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.equal(csv.suggestedFilename(), 'acme-signing-log.csv');
    const csvText = await readFile((await csv.path())!, 'utf8');
    assert.match(csvText.split('\n')[0]!, /serial/);
    assert.match(csvText, /box-0002/);
    assert.doesNotMatch(csvText, /box-0001/, 'the export follows the search');
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const entries = JSON.parse(await readFile((await json.path())!, 'utf8')) as { serial: string; model: string }[];
    assert.deepEqual(entries.map((e) => [e.serial, e.model]), [['box-0002', 'box']]);

    const keys = page.getByRole('region', { name: 'Factory API keys' });
    await keys.getByLabel('Key name').fill('line-2');
    await keys.getByRole('button', { name: 'Create API key' }).click();
    const secret = keys.getByRole('status').filter({ hasText: 'shown this once' });
    await secret.waitFor();
    assert.ok(((await secret.locator('pre').textContent()) ?? '').trim().length >= 16, 'the secret is shown');
    await checkAccessibility(page, 'vault');
    await screenshot(page, 'vault');
    await keys.getByRole('button', { name: 'I have stored it' }).click();
    await secret.waitFor({ state: 'detached' });
    await keys.getByRole('button', { name: 'Revoke line-2' }).click();
    await page.getByRole('dialog', { name: 'Revoke the API key line-2?' }).getByRole('button', { name: 'Revoke' }).click();
    await keys.getByRole('row', { name: /line-2/ }).getByRole('cell', { name: 'revoked' }).waitFor();

    const systemUser = page.getByRole('region', { name: 'System-user assertion' });
    await systemUser.getByLabel('E-mail').fill('field@acme.example');
    await systemUser.getByLabel('System username').fill('field');
    await systemUser.getByLabel('Models').fill('box');
    await systemUser.getByRole('button', { name: 'Sign system-user' }).click();
    await systemUser.getByRole('status').filter({ hasText: 'Signed.' }).waitFor();
    const [assertion] = await Promise.all([page.waitForEvent('download'), systemUser.getByRole('button', { name: 'Download auto-import.assert' }).click()]);
    const stream = await readFile((await assertion.path())!, 'utf8');
    assert.match(stream, /^type: system-user$/m);
    assert.match(stream, /^username: field$/m);
  });

  await t.test('models: the vault models, a model assertion verified, a new model written as JSON', async () => {
    await nav(page, 'Models');
    await page.getByRole('table', { name: /Models the serial vault signs/ }).getByRole('cell', { name: 'box', exact: true }).waitFor();
    const verify = page.getByRole('region', { name: 'Decode and verify a model assertion' });
    await verify.getByLabel('Assertion or stream').fill(world.model);
    await verify.getByRole('button', { name: 'Verify' }).click();
    await verify.getByText('verified', { exact: true }).waitFor();
    await verify.getByLabel('Assertion or stream').fill(world.model.replace('architecture: amd64', 'architecture: arm64'));
    await verify.getByRole('button', { name: 'Verify' }).click();
    await verify.getByText(/NOT verified/).waitFor();
    const write = page.getByRole('region', { name: 'Write a new model' });
    await write.getByLabel('Model name').fill('box2');
    await write.getByLabel('Gadget snap').fill('acme-gadget');
    await write.getByLabel('Kernel snap').fill('acme-kernel');
    // A signed core22 model names its snaps by id: these are not in the store.
    await write.getByRole('button', { name: 'Write model JSON' }).click();
    await write.getByRole('alert').filter({ hasText: 'a signed model names each snap by its id: acme-gadget' }).waitFor();
    await write.getByLabel('Base').selectOption('core18');
    await write.getByRole('button', { name: 'Write model JSON' }).click();
    const [file] = await Promise.all([page.waitForEvent('download'), write.getByRole('button', { name: 'Download box2.model.json' }).click()]);
    const headers = JSON.parse(await readFile((await file.path())!, 'utf8')) as Record<string, unknown>;
    assert.equal(headers['brand-id'], 'acme');
    assert.equal(headers['model'], 'box2');
    assert.equal(headers['gadget'], 'acme-gadget');

    // Signed on the server with the brand's vault key: listed with the brand's models, verified.
    await write.getByLabel('Server key to sign with').selectOption('serials');
    await write.getByRole('button', { name: 'Sign on the server' }).click();
    await write.getByRole('status').filter({ hasText: 'Signed and stored' }).waitFor();
    await page.reload();
    await signIn(page, 'alice');
    await nav(page, 'Models');
    const assertions = page.getByRole('table', { name: /Models signed by the brand/ });
    await assertions.getByRole('row', { name: /box2/ }).getByText('verified', { exact: true }).waitFor();
    await assertions.getByRole('button', { name: 'Headers of box2' }).click();
    await page.getByRole('term').filter({ hasText: 'sign-key-sha3-384' }).waitFor();
    await checkAccessibility(page, 'models');
    await screenshot(page, 'models');
  });

  await t.test('keys, reached with the keyboard: the registered account-key and the vault key', async () => {
    // The skip link comes first and moves to the content; a navigation link opened with Enter moves the focus to the page's heading.
    await page.getByLabel('Account').focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    await waitUntil(page, 'document.activeElement.id === "main"');
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Keys', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.tagName + " " + document.activeElement.textContent'), 'H1 Keys');
    await page.getByRole('table', { name: /Account-keys of acme/ }).getByRole('cell', { name: 'models', exact: true }).waitFor();
    await page.getByRole('table', { name: /Keys the vault signs serials with/ }).getByRole('cell', { name: 'serials', exact: true }).waitFor();
    // Registering a brand key from its account-key-request.
    const register = page.getByRole('region', { name: 'Registered account-keys' });
    await register.getByLabel('Account-key-request').fill('not a request');
    await register.getByRole('button', { name: 'Register key' }).click();
    await register.getByRole('alert').filter({ hasText: 'snapline key export' }).waitFor();
    const request = createAccountKeyRequest({ key: vectorKey('stranger'), accountId: 'acme', name: 'releases', since: new Date('2020-01-01T00:00:00Z') }).toString();
    await register.getByLabel('Account-key-request').fill(request);
    await register.getByRole('button', { name: 'Register key' }).click();
    await register.getByRole('status').filter({ hasText: 'Registered releases' }).waitFor();
    await page.getByRole('table', { name: /Account-keys of acme/ }).getByRole('cell', { name: 'releases', exact: true }).waitFor();
    await checkAccessibility(page, 'keys');
    await screenshot(page, 'keys');
  });

  await t.test('devices: search by serial, one device with its registration and sessions', async () => {
    await nav(page, 'Devices');
    const search = page.getByRole('search', { name: 'Search devices' });
    await search.getByLabel('Serial starts with').fill('box-00');
    await search.getByRole('button', { name: 'Search devices' }).click();
    await page.getByRole('link', { name: 'box-0001' }).click();
    await page.getByRole('heading', { name: 'Device box-0001' }).waitFor();
    await page.getByRole('table', { name: 'Serial assertions signed for this serial' }).getByRole('cell', { name: 'line-1' }).waitFor();
    await page.getByRole('table', { name: /Device sessions/ }).getByRole('cell', { name: 'box', exact: true }).waitFor();
    await checkAccessibility(page, 'device');
    await screenshot(page, 'devices');
  });

  await t.test('audit log: the account events, filtered by action', async () => {
    await nav(page, 'Audit log');
    const table = page.getByRole('table', { name: /Audit log of acme/ });
    await table.getByRole('row').nth(3).waitFor();
    const actions = await table.locator('tbody td:nth-child(3)').allTextContents();
    const action = actions.find((a) => a.includes('release')) ?? actions[0]!;
    await page.getByLabel('Action').fill(action);
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitUntil(page, `[...document.querySelectorAll('tbody td:nth-child(3)')].every((td) => td.textContent === ${JSON.stringify(action)})`);
    await checkAccessibility(page, 'audit');
    await screenshot(page, 'audit');
  });

  await t.test('sign-out ends the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Snapline console' }).waitFor();
  });

  await t.test('an approver approves the pending request: the revision is released as asked', async () => {
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(USERS.carol.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // An approver may not list the brand's stores: she names hers.
    await page.getByLabel('Store id').fill('acme-store');
    await page.getByRole('button', { name: 'Use' }).click();
    await nav(page, 'Update control');
    const approvals = page.getByRole('region', { name: 'Approvals' });
    await approvals.getByRole('button', { name: /^Approve #\d+$/ }).click();
    const dialog = page.getByRole('dialog', { name: /Approve request #\d+\?/ });
    await dialog.getByLabel('Reason (optional)').fill('tested on the lab group');
    await checkAccessibility(page, 'approve dialog');
    await dialog.getByRole('button', { name: 'Approve and release' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await approvals.getByText('No release request waits for an approver.').waitFor();
    const map = (await world.s.request('GET', '/api/store/snaps/acme-hello?store=acme-store', { token: TEST_ADMIN_TOKEN })).json().channelMap as { channel: string; revision: number | null; following: string | null }[];
    assert.ok(map.some((r) => r.channel === 'latest/candidate' && r.revision === 2 && !r.following), JSON.stringify(map));
    await checkAccessibility(page, 'update control (approver)');
    await page.getByRole('button', { name: 'Sign out' }).click();
  });
});

test('a viewer is not offered what a viewer may not do', { skip, timeout: 120_000 }, async (t) => {
  const world = await consoleWorld();
  t.after(() => world.close());
  const browser = await launch();
  t.after(() => browser.close());
  const { page, problems } = await newPage(browser, world);
  await world.s.request('POST', '/api/store/stores/acme-store/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'acme-hello' } });
  await world.upload('acme-hello', '1.0');

  await page.goto(`${world.url}/console/`);
  await page.getByLabel('Username').fill('victor');
  await page.getByLabel('Password').fill(USERS.victor.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  // A store made since sign-in appears when the account picker is next used.
  await world.s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'acme-lab', brand: 'acme' } });
  await page.getByLabel('Account').focus();
  assert.equal((await world.s.request('GET', '/api/store/stores/acme-lab', { token: TEST_ADMIN_TOKEN })).status, 200);
  await page.getByRole('combobox', { name: /^Store/ }).locator('option', { hasText: 'acme-lab' }).waitFor({ state: 'attached' });
  const navLinks = await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();
  assert.ok(navLinks.includes('Snaps') && navLinks.includes('Serial vault'), navLinks.join(', '));
  assert.ok(!navLinks.includes('Audit log'), 'a viewer has no audit log');

  await nav(page, 'Snaps');
  assert.equal(await page.getByRole('region', { name: 'Register a snap name' }).count(), 0);
  await page.getByRole('link', { name: 'acme-hello' }).click();
  await page.getByRole('table', { name: /Revisions of acme-hello/ }).getByRole('cell', { name: '1.0' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^Release / }).count(), 0, 'no release for a viewer');

  await nav(page, 'Update control');
  await page.getByRole('region', { name: 'Device groups' }).getByRole('table').waitFor();
  assert.equal(await page.getByRole('region', { name: 'Start a progressive rollout' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^(Pause|Resume|Roll back|Hold) / }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Create group' }).count(), 0);

  await nav(page, 'Serial vault');
  await page.getByRole('table', { name: /Serials signed for acme/ }).getByRole('cell', { name: 'box-0001' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create API key' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Revoke / }).count(), 0);
  assert.equal(await page.getByRole('region', { name: 'System-user assertion' }).count(), 0);
  await checkAccessibility(page, 'vault (viewer)');

  // The page for what the role lacks is not there either, even by its address.
  await page.goto(`${world.url}/console/audit`);
  await page.getByLabel('Username').fill('victor');
  await page.getByLabel('Password').fill(USERS.victor.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();

  // A revoked token ends the session at its next request, saying so.
  const db = world.s.server.ctx.db.kysely;
  const victor = await db.selectFrom('users').select('id').where('username', '=', 'victor').executeTakeFirstOrThrow();
  const tokens = await db.selectFrom('api_tokens').select('id').where('user_id', '=', victor.id).where('revoked_at', 'is', null).execute();
  assert.ok(tokens.length > 0);
  for (const { id } of tokens) assert.equal((await world.s.request('DELETE', `/api/tokens/${id}`, { token: TEST_ADMIN_TOKEN })).status, 200);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Snaps', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Your session ended' }).waitFor();
  await page.getByRole('heading', { name: 'Snapline console' }).waitFor();
  assert.deepEqual(problems, []);
});

async function newPage(browser: Browser, world: ConsoleWorld): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true, baseURL: world.url });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = watchProblems(page);
  await watchLayoutShift(page);
  return { page, problems };
}

/** Signs in from the sign-in page (the session lives in memory: a reload asks again). */
async function signIn(page: Page, user: keyof typeof USERS): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(USERS[user].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

async function nav(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: title, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}
