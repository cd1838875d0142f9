/** Plain-text table for query results: one column per key of the first row, left-aligned, `-` for null. */
export function formatTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    `${vals
      .map((v, i) => v.padEnd(width[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(cols) + line(width.map((w) => '-'.repeat(w))) + cells.map(line).join('');
}
