/**
 * Nodeprep: the stringprep profile (RFC 3454) XMPP servers apply to a JID's
 * localpart (RFC 3920 appendix A, kept by RFC 6122). Prosody
 * (util.encodings.stringprep.nodeprep, ICU or libidn) and ejabberd
 * (jid:nodeprep, p1_stringprep) both store accounts under nodeprep(name), so
 * the JID we lock, record and report must be this function's output, never
 * our own idea of "lowercase".
 *
 * No maintained pure-JS implementation exists on npm (node-stringprep is a
 * native ICU binding), so this is the profile itself, on the RFC's tables in
 * ./stringprepTables.ts. test/integration/usernames.test.ts checks it against
 * the servers' own nodeprep on every code point.
 *
 * Profile: map B.1 to nothing and B.2 (case folding for NFKC); NFKC; prohibit
 * C.1.1, C.1.2, C.2.1, C.2.2, C.3-C.9 and nodeprep's `"&'/:<>@`; the bidi
 * rules of RFC 3454 section 6 (D.1, D.2); and, unlike the servers' lenient
 * default, refuse code points unassigned in Unicode 3.2 (A.1): the servers
 * let them through unmapped while JavaScript's case and normalization data
 * are newer, so only refusing them keeps our answer equal to theirs.
 */
import * as T from './stringprepTables.js';

export type NodeprepFailure = 'prohibited' | 'unassigned' | 'bidi' | 'ambiguous';

export class NodeprepError extends Error {
  constructor(
    readonly reason: NodeprepFailure,
    message: string
  ) {
    super(message);
    this.name = 'NodeprepError';
  }
}

/** Binary search in a flat list of sorted inclusive [first, last] pairs. */
export const inRanges = (ranges: T.Ranges, cp: number): boolean => {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (cp > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
};

const MAPPING = new Map<number, string>([...T.B1, ...T.B2].map(([from, ...to]) => [from as number, String.fromCodePoint(...to)]));

/**
 * Code points whose decomposition Unicode changed after 3.2 (Corrigendum #4,
 * five CJK compatibility ideographs): String.prototype.normalize maps them
 * differently from the servers' Unicode 3.2 NFKC, so they are refused.
 */
const NFKC_CHANGED_SINCE_3_2 = new Set([0x2f868, 0x2f874, 0x2f91f, 0x2f95f, 0x2f9bf]);

/**
 * Where the servers disagree with each other, no answer of ours is right on
 * both: ejabberd 23.01 preps U+33C6 SQUARE C OVER KG to `C∕kg`, keeping the
 * capital the RFC's B.2 folds (Prosody: `c∕kg`). Found by comparing both on
 * every code point (test/integration/usernames.test.ts).
 */
const SERVERS_DISAGREE = new Set([0x33c6]);

const PROHIBITED: [T.Ranges, string][] = [
  [T.C11, 'a space'],
  [T.C12, 'a space'],
  [T.C21, 'a control character'],
  [T.C22, 'a control character'],
  [T.C3, 'a private-use character'],
  [T.C4, 'a non-character'],
  [T.C5, 'a lone surrogate'],
  [T.C6, 'a character inappropriate for plain text'],
  [T.C7, 'a character inappropriate for canonical representation'],
  [T.C8, 'an invisible formatting or deprecated character'],
  [T.C9, 'a tagging character'],
];

/** Nodeprep's own additions to the prohibited tables (RFC 3920 A.5). */
const NODEPREP_PROHIBITED = new Set([...`"&'/:<>@`].map((c) => c.codePointAt(0) as number));

const codePoints = (s: string): number[] => {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
};

const u = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

const prohibition = (cp: number): string | undefined => {
  if (NODEPREP_PROHIBITED.has(cp)) return `" & ' / : < > @`;
  for (const [table, what] of PROHIBITED) if (inRanges(table, cp)) return what;
  return undefined;
};

export type NodeprepResult = { value: string } | { reason: NodeprepFailure; message: string };

/** nodeprep(input), or why the servers would refuse it; without throwing, for callers that try many strings. */
export const tryNodeprep = (input: string): NodeprepResult => {
  const fail = (reason: NodeprepFailure, message: string) => ({ reason, message });
  let mapped = '';
  for (const cp of codePoints(input)) {
    // Before normalizing: JavaScript's NFKC is only the servers' on characters Unicode 3.2 had.
    if (inRanges(T.C5, cp)) return fail('prohibited', 'contains a lone surrogate');
    if (inRanges(T.A1, cp) || NFKC_CHANGED_SINCE_3_2.has(cp)) {
      return fail('unassigned', `contains ${u(cp)}, which XMPP's Unicode 3.2 rules do not know`);
    }
    if (SERVERS_DISAGREE.has(cp)) return fail('ambiguous', `contains ${u(cp)}, which XMPP servers prepare differently`);
    mapped += MAPPING.get(cp) ?? String.fromCodePoint(cp);
  }
  const normalized = mapped.normalize('NFKC');
  const out = codePoints(normalized);
  for (const cp of out) {
    const what = prohibition(cp);
    if (what) return fail('prohibited', `contains ${what} (${u(cp)}), which XMPP forbids in a username`);
    if (inRanges(T.A1, cp)) return fail('unassigned', `contains ${u(cp)}, which XMPP's Unicode 3.2 rules do not know`);
  }
  // RFC 3454 section 6: right-to-left text must be all right-to-left (plus neutrals), and start and end so.
  if (out.some((cp) => inRanges(T.D1, cp))) {
    const first = out[0] as number;
    const last = out[out.length - 1] as number;
    if (out.some((cp) => inRanges(T.D2, cp)) || !inRanges(T.D1, first) || !inRanges(T.D1, last)) {
      return fail('bidi', 'mixes right-to-left and left-to-right text, or does not start and end with a right-to-left letter');
    }
  }
  return { value: normalized };
};

/** nodeprep(input), or a NodeprepError saying why the servers would refuse it. */
export const nodeprep = (input: string): string => {
  const result = tryNodeprep(input);
  if ('reason' in result) throw new NodeprepError(result.reason, result.message);
  return result.value;
};
