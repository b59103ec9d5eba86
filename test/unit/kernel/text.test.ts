import { describe, expect, it } from 'vitest';
import { characters, isPlainText, MAX_COMBINING_MARKS } from '#lib/kernel/text';

describe('isPlainText: text a person typed, as WeChat would show it', () => {
  it.each([
    ['plain Latin', 'Alice Smith'],
    ['Chinese', '小明'],
    ['Chinese with an ideographic space', '小明\u3000同学'],
    ['an emoji', '小明 🐼'],
    ['an emoji with its variation selector', '❤️ love'],
    ['a text-style variation selector', '☺︎'],
    ['a skin tone', '👍🏽'],
    ['a family (emoji joined by U+200D)', '👨\u200D👩\u200D👧\u200D👦'],
    ['the rainbow flag (FE0F before the joiner)', '🏳️\u200D🌈'],
    ['a technologist with a skin tone', '👩🏽\u200D💻'],
    ['a heart on fire', '❤️\u200D🔥'],
    ['a keycap', '1️⃣'],
    ['a national flag (regional indicators)', '🇨🇳'],
    ['a subdivision flag (tag characters after the black flag)', '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}'],
    ['Vietnamese, decomposed (two marks on a letter)', 'Nguye\u0302\u0303n'],
    [`${MAX_COMBINING_MARKS} combining marks on one letter`, `a${'\u0301'.repeat(MAX_COMBINING_MARKS)}`],
    ['Hindi', 'नमस्ते'],
    ['Japanese and Korean', 'さくら 한국어'],
  ])('accepts %s', (_what, text) => {
    expect(isPlainText(text)).toBe(true);
  });

  it.each([
    ['a control character', 'bad\u0007name'],
    ['a newline', 'two\nlines'],
    ['a lone surrogate', 'x\ud800y'],
    ['a zero-width space (U+200B)', 'a\u200Bb'],
    ['only a zero-width space', '\u200B'],
    ['a zero-width non-joiner (U+200C)', 'a\u200Cb'],
    ['a zero-width joiner between letters', 'a\u200Db'],
    ['a zero-width joiner after an emoji, before a letter', '🐼\u200Da'],
    ['a zero-width joiner at the end', '🐼\u200D'],
    ['a byte-order mark (U+FEFF)', 'a\uFEFFb'],
    ['a soft hyphen (U+00AD)', 'a\u00ADb'],
    ['a word joiner (U+2060)', 'a\u2060b'],
    ['right-to-left override (U+202E)', 'abc\u202Etxt.exe'],
    ['left-to-right embedding (U+202A)', '\u202Aabc'],
    ['pop directional formatting (U+202C)', 'abc\u202C'],
    ['right-to-left isolate (U+2067)', '\u2067abc'],
    ['pop directional isolate (U+2069)', 'abc\u2069'],
    ['a left-to-right mark (U+200E)', 'abc\u200E'],
    ['a right-to-left mark (U+200F)', 'abc\u200F'],
    ['an Arabic letter mark (U+061C)', 'abc\u061C'],
    ['a Mongolian vowel separator (U+180E)', 'a\u180Eb'],
    ['a tag character outside a flag', 'a\u{E0061}'],
    ['the Hangul filler U+3164', '\u3164'],
    ['the Hangul choseong filler U+115F', 'a\u115F'],
    ['the Hangul jungseong filler U+1160', 'a\u1160'],
    ['the halfwidth Hangul filler U+FFA0', 'a\uFFA0'],
    ['the braille blank U+2800', '\u2800\u2800'],
    ['a private-use character (U+E000)', 'a\uE000'],
    ['a supplementary private-use character', 'a\u{F0000}'],
    ['an unassigned code point', 'a\u{2FFFF}'],
    ['a noncharacter (U+FFFF)', 'a\uFFFF'],
    ['a line separator (U+2028)', 'a\u2028b'],
    ['a paragraph separator (U+2029)', 'a\u2029b'],
    [`${MAX_COMBINING_MARKS + 1} combining marks on one letter`, `a${'\u0301'.repeat(MAX_COMBINING_MARKS + 1)}`],
    ['dozens of stacked combining marks (Zalgo)', `Z${'\u0336\u0337\u0338\u0301\u0300'.repeat(10)}algo`],
    ['mixed combining marks in a long run', 'e\u0301\u0302\u0303\u0304'],
    ['a combining mark with no base', '\u0301abc'],
    ['a variation selector with no base', '\uFE0Fabc'],
  ])('refuses %s', (_what, text) => {
    expect(isPlainText(text)).toBe(false);
  });
});

describe('characters', () => {
  it('counts code points', () => {
    expect(characters('🐼🐼')).toBe(2);
    expect(characters('小明')).toBe(2);
  });
});
