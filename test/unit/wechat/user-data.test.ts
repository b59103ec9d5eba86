import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError, type DecryptFailure, decryptUserData, isRawDataSignatureValid } from '#lib/wechat/user-data';

/** WeChat's published WXBizDataCrypt sample. */
const SAMPLE = {
  appId: 'wx4f4bc4dec97d474b',
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  iv: 'r7BXXKkLb8qrSNn05n0qiA==',
  encryptedData:
    'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==',
  expected: {
    openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
    nickName: 'Band',
    gender: 1,
    language: 'zh_CN',
    city: 'Guangzhou',
    province: 'Guangdong',
    country: 'CN',
    avatarUrl: 'http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0',
    unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
    watermark: { timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' },
  },
};

const decryptSample = (overrides: Partial<Record<'encryptedData' | 'iv' | 'sessionKey' | 'appId', string>> = {}) => {
  const { encryptedData, iv, sessionKey, appId } = { ...SAMPLE, ...overrides };
  return decryptUserData(encryptedData, iv, sessionKey, appId);
};

/** Runs fn, expects a DecryptError, returns its reason. */
function reasonOf(fn: () => unknown): DecryptFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecryptError);
    return (err as DecryptError).reason;
  }
  throw new Error('expected a DecryptError, nothing was thrown');
}

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const IV = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');
const APPID = 'wx1234567890abcdef';

/** Encrypts our own plaintext the way WeChat does (AES-128-CBC, PKCS#7 unless autoPadding is off). */
function encrypt(plaintext: Buffer | string, autoPadding = true): string {
  const cipher = createCipheriv('aes-128-cbc', KEY, IV);
  cipher.setAutoPadding(autoPadding);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  return Buffer.concat([cipher.update(data), cipher.final()]).toString('base64');
}
const decryptOwn = (encryptedData: string, appId = APPID) => decryptUserData(encryptedData, IV.toString('base64'), KEY.toString('base64'), appId);

/** Flips one bit of the ciphertext byte at `index` (negative counts from the end). */
function flipByte(base64: string, index: number): string {
  const bytes = Buffer.from(base64, 'base64');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('decryptUserData: WeChat sample vector', () => {
  it('decrypts the published sample to exactly the documented user object', () => {
    expect(decryptSample()).toEqual(SAMPLE.expected);
  });

  it('accepts the sample despite its 2016 watermark timestamp (age is deliberately not checked)', () => {
    expect(decryptSample().watermark.timestamp).toBe(1477314187);
  });
});

describe('decryptUserData: refusals on the sample', () => {
  it('refuses a different valid 16-byte session key (BAD_PADDING or NOT_JSON)', () => {
    const otherKey = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex').toString('base64');
    expect(['BAD_PADDING', 'NOT_JSON']).toContain(reasonOf(() => decryptSample({ sessionKey: otherKey })));
  });

  it('refuses data whose watermark names another mini program (WRONG_APPID)', () => {
    expect(reasonOf(() => decryptSample({ appId: 'wx1234567890abcdef' }))).toBe('WRONG_APPID');
  });

  it.each([
    ['15 bytes', Buffer.alloc(15, 1).toString('base64')],
    ['17 bytes', Buffer.alloc(17, 1).toString('base64')],
    ['32 bytes (AES-256 size)', Buffer.alloc(32, 1).toString('base64')],
    ['empty', ''],
    ['invalid base64 characters', 'tiihtNczf5v6AKRy*wEUhQ=='],
    ['unpadded base64', 'tiihtNczf5v6AKRyjwEUhQ'],
  ])('refuses a session key of %s (BAD_SESSION_KEY)', (_label, sessionKey) => {
    expect(reasonOf(() => decryptSample({ sessionKey }))).toBe('BAD_SESSION_KEY');
  });

  it.each([
    ['15 bytes', Buffer.alloc(15, 1).toString('base64')],
    ['17 bytes', Buffer.alloc(17, 1).toString('base64')],
    ['empty', ''],
    ['invalid base64 characters', 'r7BXXKkLb8qrSNn0!n0qiA=='],
    ['unpadded base64', 'r7BXXKkLb8qrSNn05n0qiA'],
    // Padded, so that only the alphabet ("_" for "/") is wrong.
    ['base64url instead of base64', `${Buffer.alloc(16, 0xff).toString('base64url')}==`],
  ])('refuses an iv of %s (BAD_IV)', (_label, iv) => {
    expect(reasonOf(() => decryptSample({ iv }))).toBe('BAD_IV');
  });

  it.each([
    ['empty', ''],
    ['invalid base64 characters', SAMPLE.encryptedData.replace('CiyL', 'Ci$L')],
    ['a space inside', SAMPLE.encryptedData.slice(0, 8) + ' ' + SAMPLE.encryptedData.slice(8)],
    ['a length that is not a multiple of 16', Buffer.from(SAMPLE.encryptedData, 'base64').subarray(0, 399).toString('base64')],
    ['one short block', Buffer.alloc(8, 7).toString('base64')],
  ])('refuses encryptedData that is %s (BAD_CIPHERTEXT)', (_label, encryptedData) => {
    expect(reasonOf(() => decryptSample({ encryptedData }))).toBe('BAD_CIPHERTEXT');
  });

  it('refuses ciphertext tampered in its last block (BAD_PADDING or NOT_JSON)', () => {
    const tampered = flipByte(SAMPLE.encryptedData, -1);
    expect(['BAD_PADDING', 'NOT_JSON']).toContain(reasonOf(() => decryptSample({ encryptedData: tampered })));
  });

  it('refuses ciphertext tampered in its first block (garbles the JSON)', () => {
    const tampered = flipByte(SAMPLE.encryptedData, 0);
    expect(reasonOf(() => decryptSample({ encryptedData: tampered }))).toBe('NOT_JSON');
  });

  it('refuses a tampered IV that turns the opening "{" into something else (NOT_JSON)', () => {
    // CBC: flipping IV byte 0 flips plaintext byte 0 only: '{' (0x7b) becomes 'z' (0x7a).
    const iv = flipByte(SAMPLE.iv, 0);
    expect(reasonOf(() => decryptSample({ iv }))).toBe('NOT_JSON');
  });

  it('refuses a truncated ciphertext that drops the padded last block', () => {
    const truncated = Buffer.from(SAMPLE.encryptedData, 'base64').subarray(0, 384).toString('base64');
    expect(['BAD_PADDING', 'NOT_JSON']).toContain(reasonOf(() => decryptSample({ encryptedData: truncated })));
  });
});

describe('decryptUserData: constructed plaintexts', () => {
  it('returns our own encrypted payload when its watermark names our appid', () => {
    const payload = { openId: 'o-test', watermark: { appid: APPID, timestamp: 1 } };
    expect(decryptOwn(encrypt(JSON.stringify(payload)))).toEqual(payload);
  });

  it('handles a payload that fills whole blocks (a full 16-byte pad block)', () => {
    // {"watermark":{"appid":"wx1234567890abcdef"},"x":"..."} padded to a multiple of 16 characters
    let json = JSON.stringify({ watermark: { appid: APPID }, x: '' });
    json = JSON.stringify({ watermark: { appid: APPID }, x: 'y'.repeat(16 - (json.length % 16)) });
    expect(json.length % 16).toBe(0);
    expect(decryptOwn(encrypt(json))).toEqual(JSON.parse(json));
  });

  it.each([
    ['no watermark', { openId: 'o-test' }],
    ['a watermark without appid', { watermark: { timestamp: 1 } }],
    ['a numeric watermark appid', { watermark: { appid: 42 } }],
    ['a string watermark', { watermark: APPID }],
    ['a null watermark', { watermark: null }],
  ])('refuses valid JSON with %s (NO_WATERMARK)', (_label, payload) => {
    expect(reasonOf(() => decryptOwn(encrypt(JSON.stringify(payload))))).toBe('NO_WATERMARK');
  });

  it.each([
    ['a JSON array', '[{"watermark":{"appid":"wx1234567890abcdef"}}]'],
    ['JSON null', 'null'],
    ['a JSON string', '"wx1234567890abcdef"'],
  ])('refuses %s, which is not an object (NO_WATERMARK)', (_label, plaintext) => {
    expect(reasonOf(() => decryptOwn(encrypt(plaintext)))).toBe('NO_WATERMARK');
  });

  it('refuses properly padded plaintext that is not JSON (NOT_JSON)', () => {
    expect(reasonOf(() => decryptOwn(encrypt('this is not json at all')))).toBe('NOT_JSON');
  });

  it('refuses a final block ending in 0x00 (BAD_PADDING)', () => {
    const block = Buffer.concat([Buffer.from('{"watermark":1}', 'utf8'), Buffer.from([0x00])]);
    expect(block).toHaveLength(16);
    expect(reasonOf(() => decryptOwn(encrypt(block, false)))).toBe('BAD_PADDING');
  });

  it('refuses a final byte above 16 (BAD_PADDING)', () => {
    const block = Buffer.concat([Buffer.from('{"watermark":1}', 'utf8'), Buffer.from([0x11])]);
    expect(reasonOf(() => decryptOwn(encrypt(block, false)))).toBe('BAD_PADDING');
  });

  it('refuses inconsistent pad bytes: last byte says 3 but only two 0x03 bytes end the block (BAD_PADDING)', () => {
    const block = Buffer.concat([Buffer.from('{"a":"bcdefg"}', 'utf8'), Buffer.from([0x03, 0x03])]);
    expect(block).toHaveLength(16);
    expect(reasonOf(() => decryptOwn(encrypt(block, false)))).toBe('BAD_PADDING');
  });

  it('refuses a whole block of sixteen 0x00 bytes (BAD_PADDING)', () => {
    const data = Buffer.concat([Buffer.from('{"watermark":12}', 'utf8'), Buffer.alloc(16, 0)]);
    expect(data).toHaveLength(32);
    expect(reasonOf(() => decryptOwn(encrypt(data, false)))).toBe('BAD_PADDING');
  });

  it('gives a DecryptError whose message names the reason but no key material', () => {
    const key = Buffer.alloc(15, 9).toString('base64');
    try {
      decryptSample({ sessionKey: key });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(DecryptError);
      expect((err as DecryptError).message).toContain('BAD_SESSION_KEY');
      expect((err as DecryptError).message).not.toContain(key);
    }
  });
});

describe('isRawDataSignatureValid', () => {
  const rawData =
    '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}';
  const signature = '75e81ceda165f4ffa64f4068af58c64b8f54b88c';
  const sessionKey = 'HyVFkGl5F5OQWJZZaNzBBg==';

  it("accepts WeChat's published signature sample", () => {
    expect(isRawDataSignatureValid(rawData, signature, sessionKey)).toBe(true);
  });

  it('agrees with an independently computed sha1(rawData + session_key)', () => {
    const own = 'other raw data';
    const sig = createHash('sha1')
      .update(own + sessionKey, 'utf8')
      .digest('hex');
    expect(isRawDataSignatureValid(own, sig, sessionKey)).toBe(true);
  });

  it('hashes rawData as UTF-8 (Chinese nicknames)', () => {
    const own = '{"nickName":"微信用户","city":"广州"}';
    const sig = createHash('sha1')
      .update(Buffer.from(own + sessionKey, 'utf8'))
      .digest('hex');
    expect(isRawDataSignatureValid(own, sig, sessionKey)).toBe(true);
  });

  it('accepts the signature in uppercase hex', () => {
    expect(isRawDataSignatureValid(rawData, signature.toUpperCase(), sessionKey)).toBe(true);
  });

  it('rejects rawData changed by one character', () => {
    expect(isRawDataSignatureValid(rawData.replace('"gender":1', '"gender":2'), signature, sessionKey)).toBe(false);
  });

  it('rejects a different session key', () => {
    expect(isRawDataSignatureValid(rawData, signature, randomBytes(16).toString('base64'))).toBe(false);
  });

  it('rejects a signature with one hex digit changed', () => {
    const changed = (signature[0] === '7' ? '8' : '7') + signature.slice(1);
    expect(isRawDataSignatureValid(rawData, changed, sessionKey)).toBe(false);
  });

  it.each([
    ['39 characters', signature.slice(0, 39)],
    ['41 characters', signature + '0'],
    ['non-hex characters', 'g' + signature.slice(1)],
    ['empty', ''],
    ['a SHA-256 length hex string', 'a'.repeat(64)],
  ])('returns false, without throwing, for a signature of %s', (_label, sig) => {
    expect(() => isRawDataSignatureValid(rawData, sig, sessionKey)).not.toThrow();
    expect(isRawDataSignatureValid(rawData, sig, sessionKey)).toBe(false);
  });
});
