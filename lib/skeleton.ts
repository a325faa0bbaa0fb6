/**
 * The skeleton of a string (Unicode TR39 §4, "Confusable Detection"): NFD,
 * each character replaced by its prototype from Unicode's confusables.txt,
 * NFD again. Two strings that look alike have the same skeleton. The data is
 * confusables.txt as the `unhomoglyph` package ships it (one code point to its
 * prototype); updating that package updates the table.
 */
import confusables from 'unhomoglyph/data.json' with { type: 'json' };

const PROTOTYPES = confusables as Record<string, string>;

export const skeleton = (text: string): string => {
  let out = '';
  for (const ch of text.normalize('NFD')) out += PROTOTYPES[ch] ?? ch;
  return out.normalize('NFD');
};

const ASCII = /^\p{ASCII}*$/u;

/**
 * A name of other characters that looks like an ASCII name (`аре` in
 * Cyrillic, `οοο` in Greek, `adminı` with a dotless i): its skeleton is
 * wholly ASCII, the skeleton an ASCII name would have.
 */
export const looksLikeAscii = (name: string): boolean => !ASCII.test(name) && ASCII.test(skeleton(name));
