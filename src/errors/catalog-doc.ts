// docs/errors.md's table, rendered from the catalog: `npm run docs:errors`
// writes it, test/errors/catalog.test.ts checks the file is current.
import { ERROR_CATALOG } from './catalog.ts';

export const ERRORS_DOC_START = '<!-- error catalog: generated from src/errors/catalog.ts, do not edit by hand -->';
export const ERRORS_DOC_END = '<!-- end of error catalog -->';

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CATALOG).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.description.replaceAll('|', '\\|')} |`);
  return [ERRORS_DOC_START, '', '| code | HTTP status | meaning |', '|---|---|---|', ...rows, '', ERRORS_DOC_END].join('\n');
}

/** The document with its table replaced by the catalog's. */
export function withCurrentTable(doc: string): string {
  const start = doc.indexOf(ERRORS_DOC_START);
  const end = doc.indexOf(ERRORS_DOC_END);
  if (start < 0 || end < start) throw new Error('docs/errors.md has no error catalog markers');
  return doc.slice(0, start) + renderErrorTable() + doc.slice(end + ERRORS_DOC_END.length);
}
