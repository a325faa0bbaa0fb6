/**
 * The bench writes its figures into README.md itself: the "## Benchmarks"
 * section, up to the next "## " heading, is replaced by what this run measured.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const replaceReadmeSection = (readmePath: string, section: string, heading = '## Benchmarks') => {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${readmePath} has no "${heading}" section`);
  const next = readme.indexOf('\n## ', start + heading.length + 2);
  const end = next < 0 ? readme.length : next + 1;
  const body = `${section.trimEnd()}\n\n`;
  writeFileSync(readmePath, `${readme.slice(0, start + 1)}${body}${readme.slice(end)}`);
};

/** Pads every Markdown table's cells so the columns line up (as the rest of the README is formatted). */
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
