/**
 * The skeleton of a string (Unicode TR39 §4, "Confusable Detection"): NFD,
 * each character replaced by its prototype from Unicode's confusables.txt,
 * NFD again. Two strings that look alike have the same skeleton. The data is
 * confusables.txt as the `unhomoglyph` package ships it (one code point to its
 * prototype), reduced to what the question below needs (skeleton.build.ts:
 * `npm run build:confusables` after updating that package).
 *
 * The skeleton is wholly ASCII exactly when each character's decomposed
 * prototype is: decomposition works character by character and reordering
 * only moves combining marks, which are not ASCII. So the entries whose
 * prototype is not ASCII are never needed to answer it.
 */
import { ASCII_PROTOTYPES, NOT_ASCII_PROTOTYPES } from './skeleton.generated.js';

const ASCII = /^\p{ASCII}*$/u;
const ASCII_CHAR = /^\p{ASCII}$/u;

/** The skeleton of `text` when it is wholly ASCII; undefined when it is not. */
export const asciiSkeleton = (text: string): string | undefined => {
  let out = '';
  for (const ch of text.normalize('NFD')) {
    const prototype = ASCII_PROTOTYPES[ch] ?? (ASCII_CHAR.test(ch) && !NOT_ASCII_PROTOTYPES.includes(ch) ? ch : undefined);
    if (prototype === undefined) return undefined;
    out += prototype;
  }
  return out;
};

/**
 * A name of other characters that looks like an ASCII name (`аре` in
 * Cyrillic, `οοο` in Greek, `adminı` with a dotless i): its skeleton is
 * wholly ASCII, the skeleton an ASCII name would have.
 */
export const looksLikeAscii = (name: string): boolean => !ASCII.test(name) && asciiSkeleton(name) !== undefined;
