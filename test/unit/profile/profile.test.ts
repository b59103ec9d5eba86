import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { sniffImage } from '#lib/profile/avatar';
import { avatarKey } from '#lib/profile/avatar-store';
import { NicknameBody } from '#lib/profile/nickname';
import { maskPhone } from '#lib/profile/profile';

describe('maskPhone: the first 3 and the last 4 digits', () => {
  it.each([
    ['13800138000', '138****8000'],
    ['85291234567', '852****4567'],
    ['12345678', '123*5678'],
    ['4155550', '*****50'],
    ['12', '12'],
  ])('%s -> %s', (digits, masked) => {
    expect(maskPhone(digits)).toBe(masked);
  });
});

describe('sniffImage: the type by the first bytes only', () => {
  it.each([
    [[0xff, 0xd8, 0xff, 0xe0], 'jpeg'],
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'png'],
    [[...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WEBP')], 'webp'],
    [[...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WAVE')], undefined],
    [[...Buffer.from('GIF89a')], undefined],
    [[0xff, 0xd8], undefined],
    [[0x89, 0x50, 0x4e, 0x47], undefined],
    [[], undefined],
  ])('%j -> %s', (bytes, type) => {
    expect(sniffImage(Uint8Array.from(bytes))).toBe(type);
  });
});

describe('the nickname rules', () => {
  const parse = (nickName: unknown) => v.safeParse(NicknameBody, { nickName });
  it('trims, and counts code points, not UTF-16 units', () => {
    expect(parse('  小明  ').output).toEqual({ nickName: '小明' });
    expect(parse('😀'.repeat(32)).success).toBe(true);
    expect(parse('😀'.repeat(33)).success).toBe(false);
  });
  it.each(['', '   ', 'a\u0000b', 'tab\there', 'x\u007f', 'lone \ud83d', 'a'.repeat(33)])('refuses %j', (nickName) => {
    expect(parse(nickName).success).toBe(false);
  });
});

describe('avatarKey', () => {
  it('is under the app and the user, and new for every upload, even of the same image (two uploads never share an object)', () => {
    const key = avatarKey('wx1234567890abcdef', 'uid-of-22-characters-', 'png');
    expect(key).toMatch(/^avatars\/wx1234567890abcdef\/uid-of-22-characters-\/[\w-]{32}\.png$/);
    const keys = new Set(Array.from({ length: 1000 }, () => avatarKey('wx1234567890abcdef', 'uid-of-22-characters-', 'png')));
    expect(keys.size).toBe(1000);
  });
});
