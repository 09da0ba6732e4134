// Reads the headers of assertions in a stream for display (the server
// verifies; this only shows what an assertion says).

export interface ShownAssertion {
  headers: [string, string][];
  type: string;
}

/** Splits a stream into assertions and their top-level headers (multi-line values joined). */
export function readAssertions(stream: string): ShownAssertion[] {
  const out: ShownAssertion[] = [];
  for (const text of stream.split(/(?:^|\n)(?=type: )/)) {
    const head = text.split('\n\n')[0] ?? '';
    if (!head.startsWith('type: ')) continue;
    const headers: [string, string][] = [];
    for (const line of head.split('\n')) {
      if (line.startsWith(' ') && headers.length > 0) headers[headers.length - 1]![1] += `\n${line.trim()}`;
      else {
        const i = line.indexOf(':');
        if (i > 0) headers.push([line.slice(0, i), line.slice(i + 1).trim()]);
      }
    }
    out.push({ headers, type: headers.find(([k]) => k === 'type')?.[1] ?? '' });
  }
  return out;
}
