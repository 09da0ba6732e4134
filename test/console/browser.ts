// Driving Debian's chromium with playwright-core (no browser download): a
// browser per test file, checks every page with axe-core (injected through
// the DevTools protocol, so the page's Content-Security-Policy stays on),
// watches for CSP violations and script errors, measures layout shift, and
// saves screenshots under test-results/console/.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/console/', import.meta.url));

/** Why the browser tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)`;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Problems the page reported: CSP violations, uncaught errors, failed console errors. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    // A refused API call logs "Failed to load resource: 4xx": the page shows those errors itself.
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of [45]\d\d/.test(text)) problems.push(`console error: ${text}`);
  });
  return problems;
}

let axeSource: Promise<string> | undefined;

/** Runs axe-core on the page (WCAG 2.1 A and AA rules); fails on any violation. */
export async function checkAccessibility(page: Page, where: string): Promise<void> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  await page.evaluate(source);
  // Browser-side code as text: this file is compiled without the DOM's types.
  const violations = (await page.evaluate(`(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return result.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ': ' + v.nodes.map((n) => JSON.stringify(n.target)).join(', '));
  })()`)) as string[];
  assert.deepEqual(violations, [], `accessibility violations on ${where}`);
}

/** Starts collecting layout shifts; call before the page loads. */
export async function watchLayoutShift(page: Page): Promise<void> {
  await page.addInitScript(`
    window.__shift = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  `);
}

/** The cumulative layout shift since the page loaded (without shifts right after user input). */
export function layoutShift(page: Page): Promise<number> {
  return page.evaluate('window.__shift') as Promise<number>;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Waits until a JavaScript expression is true in the page. Polled from here:
 * page.waitForFunction would evaluate it inside the page, which the
 * console's Content-Security-Policy (no 'unsafe-eval') refuses.
 */
export async function waitUntil(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
