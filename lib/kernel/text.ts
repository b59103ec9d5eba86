/** Characters are code points: an emoji is one (a joined emoji sequence is several). */
export const characters = (text: string): number => [...text].length;

/** At most this many combining marks in a row on one base: Vietnamese needs 2, a keycap 2; Zalgo text dozens. */
export const MAX_COMBINING_MARKS = 3;

/** An emoji as a joiner may follow it: a pictograph, with its variation selector or skin tone. */
const EMOJI_BEFORE_JOINER = String.raw`\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?`;
/** U+200D between two emoji (a family, the rainbow flag): the one format character a nickname keeps. */
const EMOJI_JOINER = new RegExp(String.raw`(?<=${EMOJI_BEFORE_JOINER})\u200D(?=\p{Extended_Pictographic})`, 'gu');
/** A subdivision flag: the black flag, tag letters (format characters), the cancel tag. */
const TAG_FLAG = /\u{1F3F4}[\u{E0020}-\u{E007E}]{1,30}\u{E007F}/gu;

/**
 * What a typed text must not hold: control characters, lone surrogates (no text at all: stored, one comes
 * back as U+FFFD, so a retry that sends the same string would no longer match it), format characters
 * (zero-width, bidi controls, soft hyphen, BOM, tags), private use, unassigned code points (by the runtime's
 * Unicode version), line and paragraph separators, and the characters that show as nothing but are letters
 * or symbols: the Hangul fillers and the braille blank.
 */
const REFUSED = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\uD800-\uDFFF\u115F\u1160\u3164\uFFA0\u2800]/u;
/** Stacked marks (more than MAX_COMBINING_MARKS on one base), or a mark with no base at the start. */
const STACKED_MARKS = new RegExp(String.raw`\p{M}{${MAX_COMBINING_MARKS + 1},}|^\p{M}`, 'u');

/**
 * Text a person typed, as WeChat's nickname rules would take it: no control, format (invisible or
 * direction-changing), private-use or unassigned characters, no invisible fillers, no stacks of combining
 * marks. Chinese, emoji, their variation selectors and skin tones pass; U+200D only between two emoji.
 */
export const isPlainText = (text: string): boolean => {
  const rest = text.replace(EMOJI_JOINER, '').replace(TAG_FLAG, '\u{1F3F4}');
  return !REFUSED.test(rest) && !STACKED_MARKS.test(rest);
};
