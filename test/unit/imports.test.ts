/**
 * The layers' import graph (ARCHITECTURE.md): no import cycle among the
 * TypeScript files of lib/ and functions/ (type-only imports count too: a
 * cycle of types is still two modules that cannot be read apart), lib/
 * never imports functions/, and functions/wiring/ never imports functions/http/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return tsFiles(path);
    return /\.ts$/.test(name) ? [path] : [];
  });

/** The relative imports of a file (static, dynamic, re-exports), as repository paths of .ts files. */
export const importsOf = (file: string, source: string): string[] => {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'));
};

/** Every cycle's smallest form found by a depth-first search: each cycle once, named file by file. */
export const findCycles = (graph: Map<string, string[]>): string[][] => {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        // One name per cycle, whichever file it was entered by.
        const first = cycle.indexOf([...cycle].sort()[0] as string);
        const canonical = [...cycle.slice(first), ...cycle.slice(0, first)];
        cycles.set(canonical.join(' -> '), canonical);
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...cycles.values()];
};

const graph = new Map(
  [...tsFiles('lib'), ...tsFiles('functions')]
    .filter((f) => !f.endsWith('.d.ts'))
    .map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))] as const)
);

describe('import graph of lib/ and functions/', () => {
  it('finds a cycle and names it (the check itself)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
    ]);
    expect(findCycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(
      importsOf('lib/x/y.ts', "import type { A } from '../a.js';\nexport { b } from './b.js';\nconst c = await import('./c.js');")
    ).toEqual(['lib/a.ts', 'lib/x/b.ts', 'lib/x/c.ts']);
  });

  it('has no import cycle', () => {
    const cycles = findCycles(graph).map((c) => [...c, c[0]].join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('keeps lib/ free of functions/, and functions/wiring/ free of functions/http/', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports
        .filter(
          (target) =>
            (file.startsWith('lib/') && target.startsWith('functions/')) ||
            (file.startsWith('functions/wiring/') && target.startsWith('functions/http/'))
        )
        .map((target) => `${file} -> ${target}`)
    );
    expect(upward).toEqual([]);
  });
});

describe('DynamoDB condition expressions', () => {
  it('are named in lib/adapters/dynamodb/conditions.ts, never written inline (composing named ones is fine)', () => {
    const inline = [...graph.keys()]
      .filter((f) => f.startsWith('lib/adapters/dynamodb/') && !f.endsWith('/conditions.ts'))
      .flatMap((file) =>
        [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?<!Key)ConditionExpression:\s*(['"`])(.*?)\1/g)]
          .filter(
            (m) =>
              (m[2] as string)
                .replace(/\$\{[^}]+\}/g, '')
                .replace(/\b(AND|OR|NOT)\b/g, '')
                .trim() !== ''
          )
          .map((m) => `${file}: ${m[2]}`)
      );
    expect(inline).toEqual([]);
  });
});
