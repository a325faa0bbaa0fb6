/**
 * Username rules (lib/jid.ts) and the nodeprep they rest on (lib/stringprep.ts).
 * The promise: every localpart we accept is a fixed point of nodeprep, so the
 * XMPP server creates exactly the JID we lock, record and report. The servers
 * themselves are asked in test/integration/usernames.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { InviteError } from '../../lib/errors.js';
import { normalizeLocalpart, parseBareJid, scriptsOf, usernamePolicy, type LocalpartRule } from '../../lib/jid.js';
import { NodeprepError, inRanges, nodeprep } from '../../lib/stringprep.js';
import { A1, B1, B2, C4 } from '../../lib/stringprepTables.js';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import confusables from 'unhomoglyph/data.json' with { type: 'json' };
import { asciiSkeleton, looksLikeAscii } from '../../lib/skeleton.js';
import { generatedSkeletonTable } from '../../lib/skeleton.build.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof InviteError ? e.code : `not an InviteError: ${String(e)}`;
  }
  return 'accepted';
};

const reasonOf = (s: string) => {
  try {
    return nodeprep(s);
  } catch (e) {
    return (e as NodeprepError).reason;
  }
};

const ascii = (s: unknown) => normalizeLocalpart(s, { maxLength: 64, rule: 'ascii' });
const unicode = (s: unknown) => normalizeLocalpart(s, { maxLength: 64, rule: 'unicode' });

/** The cases of issue #10: what Prosody and ejabberd make of them (measured; see the integration test). */
const SERVER_CHANGES: [string, string, string][] = [
  ['sharp s', 'straße', 'strasse'],
  ['final sigma', 'σοφός', 'σοφόσ'],
  ['variation selector 16', 'alice\uFE0F', 'alice'],
  ['combining grapheme joiner', 'alice\u034F', 'alice'],
  ['Mongolian free variation selector', 'alice\u180B', 'alice'],
  ['soft hyphen', 'al\u00ADice', 'alice'],
  ['zero-width joiner', 'al\u200Dice', 'alice'],
  ['fullwidth letters', 'ａｌｉｃｅ', 'alice'],
  ['roman numeral', 'Ⅻ', 'xii'],
  ['fi ligature', 'ﬁ', 'fi'],
  ['superscript two', 'x²', 'x2'],
  ['mathematical bold', '𝐚𝐥𝐢𝐜𝐞', 'alice'],
  ['circled letters', 'ⓐⓛⓘⓒⓔ', 'alice'],
];

describe('Function: nodeprep (RFC 3491 tables, RFC 3920 appendix A profile)', () => {
  it.each(SERVER_CHANGES)('maps a %s as the servers do', (_name, input, prepped) => {
    expect(nodeprep(input)).toBe(prepped);
  });

  it('case-folds, composes and leaves prepared names alone', () => {
    expect(nodeprep('ÉLODIE')).toBe('élodie');
    expect(nodeprep('Ame\u0301lie')).toBe('amélie');
    expect(nodeprep('İ')).toBe('i\u0307');
    expect(nodeprep('juliet')).toBe('juliet');
    expect(nodeprep('山田たろう')).toBe('山田たろう');
  });

  it.each([
    ['an ASCII space', 'a b', 'prohibited'],
    ['a no-break space', 'a\u00A0b', 'prohibited'],
    ['an ideographic space', 'a\u3000b', 'prohibited'],
    ['NUL', 'a\u0000b', 'prohibited'],
    ['a C1 control', 'a\u0085b', 'prohibited'],
    ['a private-use character', 'a\uE000b', 'prohibited'],
    ['a non-character', 'a\uFDD0b', 'prohibited'],
    ['a lone surrogate', 'a\uD800b', 'prohibited'],
    ['a right-to-left override', '\u202Eadmin', 'prohibited'],
    ['a left-to-right mark', 'a\u200Eb', 'prohibited'],
    ['a tag character', 'a\u{E0041}', 'prohibited'],
    ['an ideographic description character', 'a\u2FF0b', 'prohibited'],
    ['a replacement character', 'a\uFFFDb', 'prohibited'],
    ...[...`"&'/:<>@`].map((c) => [`nodeprep's ${c}`, `a${c}b`, 'prohibited']),
    ['Hebrew with Latin', 'aא', 'bidi'],
    ['Arabic ending in a digit', 'ا1', 'bidi'],
    ['Hebrew starting with a mark', '\u05B0א', 'bidi'],
    ['a character Unicode 3.2 did not have', 'a\u0221', 'unassigned'],
    ['an emoji newer than Unicode 3.2', '\u{1F600}', 'unassigned'],
    ['a capital sharp s (Unicode 5.1)', 'STRA\u1E9EE', 'unassigned'],
    ['an ideograph whose NFKC changed after 3.2', '\u{2F868}', 'unassigned'],
    ['SQUARE C OVER KG, prepped differently by ejabberd', '\u33C6', 'ambiguous'],
  ])('refuses %s', (_name, input, reason) => {
    expect(reasonOf(input)).toBe(reason);
  });

  it('accepts right-to-left names that are right-to-left throughout', () => {
    expect(nodeprep('שלום')).toBe('שלום');
    expect(nodeprep('سلام')).toBe('سلام');
    expect(nodeprep('א1א')).toBe('א1א');
  });

  it('is idempotent: what it produces, it leaves alone', () => {
    fc.assert(
      // fast-check spends most of the time making full-range strings: 2000 are plenty.
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (s) => {
        let once: string;
        try {
          once = nodeprep(s);
        } catch (e) {
          expect(e).toBeInstanceOf(NodeprepError);
          return;
        }
        expect(nodeprep(once)).toBe(once);
      }),
      { numRuns: 2_000 }
    );
  }, 60_000);

  it('carries RFC 3454 tables as published: 27 B.1 entries, 1371 B.2 mappings, A.1 covering everything unassigned today', () => {
    expect(B1).toHaveLength(27);
    expect(B2).toHaveLength(1371);
    expect(B2.find(([from]) => from === 0xdf)).toEqual([0xdf, 0x73, 0x73]);
    // Unassigned today implies unassigned in 3.2 (non-characters are C.4's, not A.1's).
    const missing: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (/\p{Cn}/u.test(String.fromCodePoint(cp)) && !inRanges(C4, cp) && !inRanges(A1, cp)) missing.push(cp);
    }
    expect(missing).toEqual([]);
  });
});

describe('Function: normalizeLocalpart, ASCII rule (the default)', () => {
  it('accepts a-z, 0-9 and . _ - +, lowercasing A-Z', () => {
    expect(ascii('Juliet')).toBe('juliet');
    expect(ascii('o.brien-2_x+y')).toBe('o.brien-2_x+y');
    expect(ascii('ROMEO_1')).toBe('romeo_1');
    expect(normalizeLocalpart('Juliet')).toBe('juliet');
  });

  it.each([
    ...SERVER_CHANGES.map(([name, input]) => [name, input]),
    ['accented Latin', 'amélie'],
    ['Greek', 'σοφία'],
    ['Cyrillic a in Latin', 'p\u0430ypal'],
    ['Han', '王'],
    ['a Kelvin sign', '\u212Aelvin'],
    ['a backslash (XEP-0106 escapes)', 'a\\20b'],
    ['other ASCII punctuation', 'a!b'],
    ['a hash', '#pk'],
    ['braces', '{{7*7}}'],
    ['a dollar', '${jndi:ldap://127.0.0.1/x}'],
    ['a space', 'a b'],
    ['a zero-width space', 'ad\u200Bmin'],
    ['a byte-order mark', '\uFEFFjuliet'],
  ])('refuses %s with username-invalid', (_name, input) => {
    expect(codeOf(() => ascii(input))).toBe('username-invalid');
  });
});

describe('Function: normalizeLocalpart, Unicode rule (USERNAME_UNICODE=true)', () => {
  it.each([
    ['ASCII', 'Juliet', 'juliet'],
    ['accented Latin, composed', 'Élodie', 'élodie'],
    ['accented Latin, decomposed', 'E\u0301lodie', 'élodie'],
    ['capital Greek (sigma folds to σ everywhere)', 'ΟΔΥΣΣΕΥΣ', 'οδυσσευσ'],
    ['Greek', 'σοφία', 'σοφία'],
    ['Cyrillic', 'Иван', 'иван'],
    ['Japanese kanji and kana', '山田たろう', '山田たろう'],
    ['Chinese with Latin', 'wang王', 'wang王'],
    ['Korean', '김민준', '김민준'],
    ['Hebrew', 'שלום', 'שלום'],
    ['Arabic', 'سلام', 'سلام'],
    ['Devanagari with its signs', 'नमस्ते', 'नमस्ते'],
    ['Latin with digits and punctuation', 'jürgen.m-2', 'jürgen.m-2'],
    ['a Kelvin sign, whose lowercase is k', '\u212Aelvin', 'kelvin'],
  ])('accepts %s, as the server will store it', (_name, input, expected) => {
    const name = unicode(input);
    expect(name).toBe(expected);
    expect(nodeprep(input)).toBe(name);
  });

  it.each([...SERVER_CHANGES, ['ǅ (title case digraph)', 'ǅemal', 'džemal']])(
    'refuses a %s, which the server would turn into another name',
    (_name, input, prepped) => {
      expect(nodeprep(input)).toBe(prepped);
      expect(codeOf(() => unicode(input))).toBe('username-invalid');
      expect(() => unicode(input)).toThrow(JSON.stringify(prepped));
    }
  );

  it.each([
    ['Latin with a Cyrillic а', 'p\u0430ypal'],
    ['Cyrillic with a Latin o', 'ив\u006Fан'],
    ['Latin with a Greek ο', 'g\u03BFogle'],
    ['Greek with Latin', 'σοφiα'],
    ['Hangul with kana', '김たろう'],
    ['Armenian with Latin', 'աpple'],
  ])('refuses %s: mixed scripts make look-alikes', (_name, input) => {
    expect(() => unicode(input)).toThrow(/mixes scripts/);
  });

  it.each([
    ['Cyrillic look-alikes of ape', '\u0430\u0440\u0435'],
    ['Cyrillic look-alikes of scope', '\u0455\u0441\u043E\u0440\u0435'],
    ['Greek omicrons that read ooo', '\u03BF\u03BF\u03BF'],
    ['Greek look-alikes of pop', '\u03C1\u03BF\u03C1'],
    ['admin with a dotless i', 'admin\u0131'],
    ['Armenian look-alikes of goo', '\u0581\u0585\u0585'],
  ])('refuses %s: its TR39 skeleton is an ASCII name', (_name, input) => {
    expect(codeOf(() => unicode(input))).toBe('username-invalid');
    expect(() => unicode(input)).toThrow(/look-alikes/);
    expect(looksLikeAscii(input)).toBe(true);
  });

  it.each([
    ['иван'],
    ['ира'],
    ['маша'],
    ['σοφία'],
    ['αλέξησ'],
    ['élodie'],
    ['jürgen'],
    ['山田たろう'],
    ['김민준'],
    ['שלום'],
    ['سلام'],
    ['नमस्ते'],
  ])('still accepts %s, which looks like no ASCII name', (input) => {
    expect(unicode(input)).toBe(input);
    expect(looksLikeAscii(input)).toBe(false);
  });

  it('computes the TR39 skeleton from Unicode confusables data, and leaves ASCII names to the ASCII rule', () => {
    expect(asciiSkeleton('\u0455\u0441\u043E\u0440\u0435')).toBe('scope');
    expect(asciiSkeleton('paypal')).toBe(asciiSkeleton('p\u0430yp\u0430l'));
    expect(looksLikeAscii('scope')).toBe(false);
    expect(unicode('scope')).toBe('scope');
  });

  it.each([
    ['a leading combining mark', '\u0301abc'],
    ['a symbol', 'a☺b'],
    ['a backslash', 'a\\b'],
    ['other ASCII punctuation', 'a!b'],
    ['a right-to-left mix', 'aא'],
    ['an unassigned code point', 'a\u0221'],
    ['an emoji', '\u{1F600}'.repeat(3)],
    ['a right-to-left override', '\u202Eadmin'],
    ['only invisible characters', '\u200B\u200B'],
  ])('refuses %s', (_name, input) => {
    expect(codeOf(() => unicode(input))).toBe('username-invalid');
  });

  it('counts the limit in characters of the stored name, and bytes at 1023', () => {
    expect(unicode('é'.repeat(64))).toBe('é'.repeat(64));
    expect(codeOf(() => unicode('é'.repeat(65)))).toBe('username-invalid');
    expect(codeOf(() => normalizeLocalpart('王'.repeat(400), { maxLength: 1000, rule: 'unicode' }))).toBe('username-invalid');
  });

  it('knows the script of every letter, mark and digit nodeprep lets through', () => {
    const unknown: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if ((cp >= 0xd800 && cp <= 0xdfff) || inRanges(A1, cp)) continue;
      const ch = String.fromCodePoint(cp);
      if (/[\p{L}\p{M}\p{N}]/u.test(ch) && scriptsOf(ch) === undefined) unknown.push(cp.toString(16));
    }
    expect(unknown).toEqual([]);
  });
});

describe('Every rule: what is accepted is what the server stores', () => {
  const rules: LocalpartRule[] = ['ascii', 'unicode', 'existing'];
  const interesting = fc.constantFrom(...'aZé\u0301ßςΣσΟ\uFE0F\u034F\u180B\u00ADｌⅫﬁ²İ王たא1._-+ \u200Bаp@/\\'.split(''), 'ǅ', '𝐚');

  it.each(rules)(
    'rule %s: accepted names are fixed points of nodeprep and of the rule itself',
    (rule) => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ unit: interesting, maxLength: 10 })), (s) => {
          let name: string;
          try {
            name = normalizeLocalpart(s, { maxLength: 64, rule });
          } catch (e) {
            expect((e as InviteError).code).toBe('username-invalid');
            return;
          }
          expect(nodeprep(name)).toBe(name);
          expect(nodeprep(s)).toBe(name);
          expect(normalizeLocalpart(name, { maxLength: 64, rule })).toBe(name);
        }),
        { numRuns: 5_000 }
      );
    },
    60_000
  );
});

describe('Function: parseBareJid (existing accounts)', () => {
  it('resolves a JID as the server does, whatever policy new usernames follow', () => {
    expect(parseBareJid('Romeo@Example.COM')).toEqual({ local: 'romeo', domain: 'example.com' });
    expect(parseBareJid('Straße@example.com').local).toBe('strasse');
    expect(parseBareJid('alice\uFE0F@example.com').local).toBe('alice');
    expect(parseBareJid('ÉLODIE@example.com').local).toBe('élodie');
  });

  it.each([
    'ro meo@example.com',
    'a\u0000b@example.com',
    'aא@example.com',
    '\u200B@example.com',
    'a\uE000@example.com',
    `${'a'.repeat(1024)}@example.com`,
  ])('refuses %j with jid-invalid', (raw) => {
    expect(codeOf(() => parseBareJid(raw))).toBe('jid-invalid');
  });
});

describe('Configuration: USERNAME_UNICODE', () => {
  it('is off by default and turns the Unicode rule on', () => {
    expect(loadConfig({}).usernameUnicode).toBe(false);
    expect(usernamePolicy(loadConfig({}))).toEqual({ maxLength: 64, rule: 'ascii' });
    expect(usernamePolicy(loadConfig({ USERNAME_UNICODE: 'true', USERNAME_MAX_LENGTH: '20' }))).toEqual({ maxLength: 20, rule: 'unicode' });
    expect(() => loadConfig({ USERNAME_UNICODE: 'sometimes' })).toThrow(/USERNAME_UNICODE/);
  });
});

describe('TR39 skeletons from the reduced confusables table (lib/skeleton.ts)', () => {
  const PROTOTYPES = confusables as Record<string, string>;
  /** The skeleton as TR39 defines it, over the whole table. */
  const fullSkeleton = (text: string) => {
    let out = '';
    for (const ch of text.normalize('NFD')) out += PROTOTYPES[ch] ?? ch;
    return out.normalize('NFD');
  };
  const expected = (text: string) => {
    const full = fullSkeleton(text);
    return /^\p{ASCII}*$/u.test(full) ? full : undefined;
  };

  it('the generated table is what skeleton.build.ts makes of unhomoglyph/data.json (npm run build:confusables)', () => {
    const stale = 'lib/skeleton.generated.ts is stale: run npm run build:confusables';
    expect(readFileSync(new URL('../../lib/skeleton.generated.ts', import.meta.url), 'utf8') === generatedSkeletonTable(), stale).toBe(
      true
    );
  });

  it('answers as the whole table does for each of its code points, alone and after an ASCII letter', () => {
    for (const ch of [...Object.keys(PROTOTYPES), ...Object.values(PROTOTYPES)]) {
      expect(asciiSkeleton(ch), ch).toBe(expected(ch));
      expect(asciiSkeleton(`a${ch}`), `a${ch}`).toBe(expected(`a${ch}`));
    }
  });

  it('answers as the whole table does for any string of its code points, ASCII, letters and combining marks', () => {
    const pool = [...Object.keys(PROTOTYPES), 'a', 'o', 'é', '\u0301', '\u0327', 'ж', '%', 'ſ', 'ǅ'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 8 }), (chars) => {
        const text = chars.join('');
        expect(asciiSkeleton(text)).toBe(expected(text));
      }),
      { numRuns: 2000 }
    );
  });

  it('keeps the whole confusables table out of the bundles: jid.ts bundles in a few KB', async () => {
    const result = await build({
      entryPoints: [new URL('../../lib/jid.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => i.includes('unhomoglyph'))).toEqual([]);
    const table = Object.entries(result.metafile.inputs).find(([path]) => path.endsWith('lib/skeleton.generated.ts'));
    expect(table?.[1].bytes).toBeLessThan(60_000);
  });
});
