/** Characters are code points: an emoji is one (a joined emoji sequence is several). */
export const characters = (text: string): number => [...text].length;

/**
 * Text a person typed: no control characters and no lone surrogate. A lone surrogate is no text at all:
 * stored, it comes back as U+FFFD, so a retry that sends the same string would no longer match it.
 */
export const isPlainText = (text: string): boolean => !/[\p{Cc}\uD800-\uDFFF]/u.test(text);
