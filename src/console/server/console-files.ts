// Where the built console is: dist/console/, next to the bundled server
// (dist/*.js) or three folders up from these sources (src/console/server/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['./console/', '../../../dist/console/'];

/** The folder holding the console's index.html, or undefined when it was not built. */
export function findConsoleBuild(from: string = import.meta.url, candidates: readonly string[] = CANDIDATES): string | undefined {
  for (const c of candidates) {
    const dir = fileURLToPath(new URL(c, from));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

/** Vite names built assets `name-<hash>.ext`: their content never changes under one name. */
export function isHashedAsset(path: string): boolean {
  return /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(path);
}
