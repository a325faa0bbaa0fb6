/**
 * The documentation holds together: every relative link and anchor resolves
 * (anchors as GitHub slugs headings), every npm script a page tells the
 * reader to run exists, and docs/configuration.md's table lists exactly the
 * variables lib/config.ts reads from the environment.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** docs/_incoming/ holds other branches' notes, folded into the pages by hand; it is not published. */
const markdownUnder = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join('docs', '_incoming') ? [] : markdownUnder(path);
    return e.name.endsWith('.md') ? [path] : [];
  });

const PAGES = ['README.md', 'ARCHITECTURE.md', join('modules', 'README.md'), ...markdownUnder('docs')];

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The page's lines with fenced code blocks blanked out (a `# comment` in a shell block is no heading). */
const proseLines = (markdown: string): string[] => {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && opening) {
      fence = opening;
      return '';
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence)) fence = undefined;
      return '';
    }
    return line;
  });
};

/** The fenced code blocks of a page, each as one string. */
const codeBlocks = (markdown: string): string[] => {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) {
      if (current) {
        blocks.push(current.join('\n'));
        current = undefined;
      } else current = [];
    } else current?.push(line);
  }
  return blocks;
};

/**
 * GitHub's heading anchors (github-slugger): the rendered text lowercased,
 * everything but letters, marks, digits, connector punctuation, spaces and
 * hyphens removed, spaces turned into hyphens; a repeated slug gets -1, -2, ...
 */
export const githubSlugs = (markdown: string): Set<string> => {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link renders as its text
      .replace(/<[^>]+>/g, '') // inline HTML renders as nothing
      .replace(/(\*\*|__|`)/g, ''); // emphasis and code marks are not text
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base);
    slugs.add(n === undefined ? base : `${base}-${n}`);
    seen.set(base, (n ?? 0) + 1);
  }
  return slugs;
};

/** The targets of the page's inline links and images, outside code. */
const linkTargets = (markdown: string): string[] =>
  proseLines(markdown)
    .map((line) => line.replace(/`[^`]*`/g, ''))
    .flatMap((line) => [...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string));

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('documentation links', () => {
  it('the pages checked are the ones expected', () => {
    for (const page of ['README.md', 'docs/deploy.md', 'docs/configuration.md', 'docs/design/exactly-once.md']) {
      expect(PAGES, page).toContain(join(...page.split('/')));
    }
  });

  it.each(PAGES)('every relative link and anchor in %s resolves', (page) => {
    const broken: string[] = [];
    let checked = 0;
    for (const target of linkTargets(read(page))) {
      if (isExternal(target)) continue;
      checked++;
      const [rawPath = '', anchor] = target.split('#', 2);
      const path = decodeURIComponent(rawPath);
      const file = path === '' ? page : relative(ROOT, resolve(ROOT, dirname(page), path));
      if (file.startsWith('..') || !existsSync(join(ROOT, file))) {
        broken.push(`${target}: no file ${file}`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (!file.endsWith('.md') || statSync(join(ROOT, file)).isDirectory()) {
        broken.push(`${target}: an anchor into ${file}, which is not a Markdown page`);
      } else if (!githubSlugs(read(file)).has(decodeURIComponent(anchor))) {
        broken.push(`${target}: ${file} has no heading whose anchor is #${anchor}`);
      }
    }
    expect(broken, `broken links in ${page} (${checked} relative links checked)`).toEqual([]);
  });

  it("README.md's map links every page of docs/", () => {
    const linked = new Set(
      linkTargets(read('README.md'))
        .filter((t) => !isExternal(t))
        .map((t) => join(t.split('#')[0] as string))
    );
    const unlinked = PAGES.filter((p) => p.startsWith(`docs${sep}`) && !linked.has(p));
    expect(unlinked, 'pages of docs/ that README.md does not link').toEqual([]);
  });

  it('slugs headings as GitHub does', () => {
    const slugs = githubSlugs(
      [
        '# xmpp-invites',
        '## XMPP servers (`XMPP_SERVERS`)',
        "## The module's credential",
        '## Signup forms in: `POST /hooks/signup/{source}`',
        '## 1. Secrets in SSM Parameter Store',
        '```sh',
        '# not a heading',
        '```',
        '## Usernames',
        '## Usernames',
      ].join('\n')
    );
    expect([...slugs]).toEqual([
      'xmpp-invites',
      'xmpp-servers-xmpp_servers',
      'the-modules-credential',
      'signup-forms-in-post-hookssignupsource',
      '1-secrets-in-ssm-parameter-store',
      'usernames',
      'usernames-1',
    ]);
  });
});

describe('commands in the documentation', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);

  /** `npm run X`, `npm run-script X`, `npm start`, `npm test` (and npm's other script shorthands). */
  const namedScripts = (text: string): string[] => [
    // A trailing colon, comma or full stop is the sentence's, not the script's.
    ...[...text.matchAll(/\bnpm\s+(?:run|run-script|rum|urn)\s+([^\s;&|)`'"]+)/g)].map((m) => (m[1] as string).replace(/[:.,]+$/, '')),
    ...[...text.matchAll(/\bnpm\s+(start|test|stop|restart)\b/g)].map((m) => m[1] as string),
  ];

  it('finds the scripts a command names', () => {
    expect(namedScripts('npm start && npm run build:validators -- --x\nnpm test; npm ci\nnpm run lint')).toEqual([
      'build:validators',
      'lint',
      'start',
      'test',
    ]);
  });

  it.each(PAGES)('every npm script named in %s exists in package.json', (page) => {
    const markdown = read(page);
    const inCode = [...codeBlocks(markdown), ...[...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string)];
    const unknown = inCode.flatMap(namedScripts).filter((s) => !scripts.includes(s));
    expect(unknown, `${page} names npm scripts that package.json does not have`).toEqual([]);
  });

  it('the key-creation command is written in one page, which the others link to', () => {
    const pages = PAGES.filter((p) => p !== join('modules', 'README.md') && /invites-admin keys create/.test(read(p)));
    expect(pages, 'write `invites-admin keys create` only in docs/api.md and link there').toEqual([join('docs', 'api.md')]);
  });
});

describe('docs/configuration.md', () => {
  /** Where the service reads its environment: lib/config.ts, and what it hands to lib/jsonSettings.ts. */
  const SOURCES = ['lib/config.ts', 'lib/jsonSettings.ts'];

  /**
   * Every variable the sources read, by two means that must agree with the
   * table together: the source text (`env.X`, `env?.X`, `env['X']`, and a
   * helper called as `f(env, 'X', ...)`), and the names `loadConfig` asks
   * an environment for when it runs.
   */
  const readVariables = (): Set<string> => {
    const names = new Set<string>();
    for (const file of SOURCES) {
      const code = read(file)
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:])\/\/.*$/gm, '$1');
      for (const pattern of [
        /\benv\??\.([A-Z][A-Z0-9_]*)\b/g,
        /\benv\??\.?\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g,
        /\(\s*env\s*,\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g,
      ]) {
        for (const m of code.matchAll(pattern)) names.add(m[1] as string);
      }
    }
    const asked = (values: Record<string, string>) =>
      new Proxy(values, {
        get: (target, key) => {
          if (typeof key === 'string') names.add(key);
          return target[key as string];
        },
      });
    // A refusal (a setting another one requires) ends the run early; the names asked until then still count.
    const attempt = (values: Record<string, string>) => {
      try {
        loadConfig(asked(values));
      } catch {}
    };
    attempt({});
    // The single-server shorthand and the quota are read only once they are set.
    attempt({
      XMPP_DOMAIN: 'example.com',
      XMPP_ADMIN_JID: 'invites@example.com',
      XMPP_ADMIN_PASSWORD: 'secret',
      QUOTA_LIVE_INVITES_PER_INVITER: '5',
    });
    return names;
  };

  /** The rows of the "## Variables" table: the variables named in the first cell, and who reads them. */
  const tableRows = (): { names: string[]; readBy: string }[] => {
    const lines = read('docs/configuration.md').split('\n');
    const start = lines.findIndex((l) => /^\|\s*variable\s*\|\s*read by\s*\|/i.test(l));
    expect(start, 'docs/configuration.md has a table whose header starts with "| variable | read by |"').toBeGreaterThan(-1);
    const rows: { names: string[]; readBy: string }[] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      const [first = '', readBy = ''] = line.slice(1).split('|');
      rows.push({ names: [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string), readBy });
    }
    return rows;
  };

  it('finds what the sources read', () => {
    const found = readVariables();
    for (const known of ['INVITES_TABLE', 'XMPP_SERVERS', 'XMPP_KIND', 'RATE_LIMIT_REDEEM_PER_TOKEN', 'QUOTA_LIVE_INVITES_PER_INVITER']) {
      expect(found, known).toContain(known);
    }
  });

  it('its table lists exactly the variables lib/config.ts reads, one row each', () => {
    const rows = tableRows();
    const listed = rows.filter((r) => r.readBy.includes('lib/config.ts')).flatMap((r) => r.names);
    const everyListed = rows.flatMap((r) => r.names);
    const found = [...readVariables()].sort();

    const missing = found.filter((v) => !listed.includes(v));
    expect(
      missing,
      `docs/configuration.md's table lacks ${missing.join(', ')}, read by ${SOURCES.join(' or ')}: ` +
        'add a row "| `NAME` | `lib/config.ts` | default | meaning |" for each'
    ).toEqual([]);

    const stale = listed.filter((v) => !found.includes(v));
    expect(
      stale,
      `docs/configuration.md's table says lib/config.ts reads ${stale.join(', ')}, which ${SOURCES.join(' and ')} do not read: ` +
        'remove the row, or say who reads it in the "read by" column'
    ).toEqual([]);

    const twice = everyListed.filter((v, i) => everyListed.indexOf(v) !== i);
    expect(twice, `docs/configuration.md's table lists ${twice.join(', ')} more than once`).toEqual([]);
  });
});
