/** Markdown the bench writes: docs/benchmarks.md, whole, from a run's results (bench/report.ts). */

/** Pads every Markdown table's cells so the columns line up (as the other pages are formatted). */
export const alignTables = (markdown: string): string => {
  const lines = markdown.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    if (!lines[i]!.startsWith('|')) {
      out.push(lines[i]!);
      i++;
      continue;
    }
    const block: string[][] = [];
    while (i < lines.length && lines[i]!.startsWith('|')) {
      block.push(
        lines[i]!.slice(1, -1)
          .split(' | ')
          .map((c) => c.trim())
      );
      i++;
    }
    const widths = block[0]!.map((_, col) => Math.max(3, ...block.map((r, n) => (n === 1 ? 3 : (r[col] ?? '').length))));
    for (const [n, r] of block.entries()) {
      out.push(`| ${widths.map((w, col) => (n === 1 ? '-'.repeat(w) : (r[col] ?? '').padEnd(w))).join(' | ')} |`);
    }
  }
  return out.join('\n');
};
