import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '#lib/http/request';
import type { SignedUserData } from '../../local/wechat-data.ts';

/**
 * fast-check generators of hostile requests (test/integration/hostile-input.test.ts).
 * Those that aim at real sessions or real encrypted data read them from an object
 * when a value is generated, so a test builds the generators at import and fills
 * the object in its beforeAll.
 */

// ---------------------------------------------------------------- values

/** Strings of every kind: ASCII, any printable Unicode, any code point, control characters. */
export const anyString = (maxLength = 64) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
  );

/** Values of the wrong type for a string field. */
export const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

// ---------------------------------------------------------------- bodies

/** A request body as sent: its text, whether it goes as a form, and the code in it (to check it is not echoed). */
export interface CodeBody {
  text: string;
  form: boolean;
  code: unknown;
}

/** A body just over (or just under) 32 KiB, counted in bytes: multi-byte characters included. */
export const sizedBody = (field: string) =>
  fc.tuple(fc.integer({ min: -256, max: 4096 }), fc.constantFrom('x', '中', '😀', 'é'), fc.boolean()).map(([delta, char, inField]) => {
    const bytes = MAX_BODY_BYTES + delta;
    const fill = char.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(char))));
    return JSON.stringify(inField ? { [field]: fill } : { [field]: 'abc', pad: fill });
  });

/** Anything but a well-formed request object: malformed, truncated, nested, odd JSON. */
export const junkBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  anyString(200),
  fc.json({ maxDepth: 4 }).map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.tuple(fc.json({ maxDepth: 4 }), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  fc.nat({ max: 12_000 }).map((depth) => '['.repeat(depth)),
  fc.nat({ max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.nat({ max: 5_000 }).map((depth) => `{"code":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`),
  fc.constantFrom(
    '',
    ' ',
    '\n\t',
    'null',
    'true',
    '0',
    '""',
    '[]',
    '{}',
    '{"code":}',
    "{'code':'abc'}",
    '{"code":"abc",}',
    '\uFEFF{"code":"abc"}',
    '{"code":"a"}{"code":"b"}',
    'NaN',
    '{"__proto__":{"code":"abc"}}',
    '{"constructor":{"prototype":{"code":"abc"}}}',
    '{"code":"\\ud800"}',
    '{"code":"abc\\u0000"}',
    '<xml><code>abc</code></xml>',
  ),
  sizedBody('code'),
  sizedBody('encryptedData'),
);

/** A `{"code"}` body: JSON shaped like the contract's (with missing and extra fields), form-encoded, or junk. */
const codeBody = (codeValue: fc.Arbitrary<unknown>): fc.Arbitrary<CodeBody> =>
  fc.oneof(
    fc
      .record({ code: codeValue, extra: fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }, { requiredKeys: [] })
      .map(({ code, extra }) => ({ text: JSON.stringify({ ...(extra ?? {}), ...(code === undefined ? {} : { code }) }), form: false, code })),
    codeValue.map((code) => ({ text: `code=${encodeURIComponent(text(code))}`, form: true, code })),
    anyString(80).map((text) => ({ text, form: true, code: undefined })),
    junkBody.map((text) => ({ text, form: false, code: undefined })),
  );

// ---------------------------------------------------------------- POST /login

/** Codes a client might send: junk, near-misses and valid-looking ones (which reach the fake WeChat). */
export const codeValue = fc.oneof(
  wrongType,
  anyString(40),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,16}(\.[\x21-\x7e]{1,16})?$/),
  fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
  fc.integer({ min: 120, max: 140 }).map((n) => 'c'.repeat(n)),
  fc.constantFrom('', ' ', 'a b', 'abc\n', '\u00e9t\u00e9', '😀', 'code\u0000', '../../etc/passwd', '%00', "' OR '1'='1"),
);

/** A login request body. */
export const loginBody = codeBody(codeValue);

// ---------------------------------------------------------------- POST /phonenumber

/**
 * getPhoneNumber codes: everything a login code can be, and the fake WeChat's
 * own shapes (local/fake-wechat.ts): `phone-<5 to 15 digits>[.<suffix>]` (once
 * each: a few repeat on purpose, for 40163), near misses of it (WeChat's 40029),
 * and `fail-<errcode>` with the errcodes WeChat gives a client's bad code or
 * quota. (Its other errcodes are WeChat's faults, 5xx by design: wechat-faults.test.ts.)
 */
export const phoneCodeValue = fc.oneof(
  codeValue,
  fc.nat({ max: 40 }).map((n) => `phone-138001380${String(n).padStart(2, '0')}`),
  fc.stringMatching(/^phone-\d{5,15}(\.[\w-]{1,8})?$/),
  fc.stringMatching(/^phone-(\d{0,4}|\d{16,20}|\d{5,15}[^\d.\s][\x21-\x7e]{0,4})$/),
  fc.constantFrom(40029, 40163, 45009, 45011).map((errcode) => `fail-${errcode}`),
  fc.constantFrom('phone-', 'PHONE-13800138000', 'phone-+8613800138000', 'phone-138 0013 8000', 'fail-', 'fail-x', 'FAIL-40029', 'fail-40029 '),
);

/**
 * A phonenumber request body: `replace` true (a number known already is bought again), false, absent or
 * of the wrong type, with the code bodies of /login besides.
 */
export const phonenumberBody: fc.Arbitrary<CodeBody> = fc.oneof(
  {
    // Mostly with replace: once the caller's number is known, only those still reach WeChat.
    weight: 3,
    arbitrary: fc
      .record(
        { code: phoneCodeValue, replace: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false), wrongType) },
        { requiredKeys: ['code'] },
      )
      .map(({ code, replace }) => ({ text: JSON.stringify({ code, ...(replace === undefined ? {} : { replace }) }), form: false, code })),
  },
  { weight: 1, arbitrary: codeBody(phoneCodeValue) },
);

// ---------------------------------------------------------------- PUT /profile

/** Nicknames: any text (control characters, lone surrogates, blanks, long), wrong types, and what the fake WeChat refuses. */
export const nickNameValue = fc.oneof(
  wrongType,
  anyString(40),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 32 }),
  fc.integer({ min: 30, max: 40 }).map((n) => '名'.repeat(n)),
  fc.constantFrom('', ' ', '\t', ' \u3000 ', 'Alice', '  Alice  ', 'a\u0000b', 'x\ud800', '🐼', 'risky name', 'please review', '<script>', '../../x'),
);

/** A PUT /profile body: `{"nickName"}` (with extra fields), or junk. */
export const nicknameBody: fc.Arbitrary<{ text: string; form: boolean }> = fc.oneof(
  fc
    .record({ nickName: nickNameValue, extra: fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }, { requiredKeys: [] })
    .map(({ nickName, extra }) => ({ text: JSON.stringify({ ...(extra ?? {}), ...(nickName === undefined ? {} : { nickName }) }), form: false })),
  junkBody.map((text) => ({ text, form: false })),
  sizedBody('nickName').map((text) => ({ text, form: false })),
);

// ---------------------------------------------------------------- POST /profile/avatar

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));

/** File contents: real images, magic numbers with junk after them, near misses, anything. */
const fileBytes = fc.oneof(
  fc.constant(PNG),
  bytes(64).map((tail) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), tail])),
  bytes(64).map((tail) => Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'), tail])),
  fc.constantFrom(Buffer.from('GIF89a'), Buffer.from('<html>'), Buffer.from([0xff, 0xd8]), Buffer.from('RIFF0000WAVE'), Buffer.alloc(0)),
  bytes(200),
  fc.integer({ min: 1_048_570, max: 1_048_580 }).map((size) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(size - 3)])),
);

export interface UploadBody {
  body: Buffer;
  contentType: string | undefined;
}

/** multipart/form-data as wx.uploadFile builds it, and everything around it: other names, two files, fields, broken framing. */
const anyMultipart: fc.Arbitrary<UploadBody> = fc
  .record({
    parts: fc.array(
      fc.record({
        name: fc.oneof(fc.constant('file'), fc.constant('file'), fc.constantFrom('image', 'File', '', 'file"; x="'), anyString(8)),
        filename: fc.option(fc.oneof(fc.constantFrom('tmp.jpg', 'a.png', '../../etc/passwd', ''), anyString(12)), { nil: undefined }),
        data: fc.oneof(
          fileBytes,
          fc.integer({ min: 0, max: 8000 }).map((n) => Buffer.alloc(n, 'x')),
        ),
      }),
      { minLength: 0, maxLength: 3 },
    ),
    boundary: fc.oneof(fc.constant('----WeChatFormBoundaryA1b2'), fc.stringMatching(/^[\w'()+,./:=?-]{1,70}$/)),
    declared: fc.oneof(fc.constant('same'), fc.constant('same'), fc.constantFrom('none', 'other', 'json', 'absent')),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ parts, boundary, declared, cut }) => {
    const chunks: Buffer[] = [];
    for (const part of parts) {
      const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
      chunks.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n\r\n`, 'utf8'),
        part.data,
        Buffer.from('\r\n'),
      );
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    const whole = Buffer.concat(chunks);
    const body = cut === undefined ? whole : whole.subarray(0, cut % (whole.length + 1));
    const contentType =
      declared === 'same'
        ? `multipart/form-data; boundary=${boundary}`
        : declared === 'none'
          ? 'multipart/form-data'
          : declared === 'other'
            ? 'multipart/form-data; boundary=something-else'
            : declared === 'json'
              ? 'application/json'
              : undefined;
    return { body, contentType };
  });

/** What wx.uploadFile itself sends: one part named `file`, well framed, with any of the contents above. */
const wellFormedUpload: fc.Arbitrary<UploadBody> = fileBytes.map((data) => {
  const boundary = '----WeChatFormBoundaryA1b2';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="tmp.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), data, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
});

/** Around the whole body's bound at the default AVATAR_MAX_BYTES (1 MiB + 64 KiB of multipart overhead). */
const nearBodyBound: fc.Arbitrary<UploadBody> = fc.integer({ min: -2048, max: 2048 }).map((delta) => ({
  body: Buffer.alloc(1_048_576 + 65_536 + delta, 'x'),
  contentType: 'multipart/form-data; boundary=----WeChatFormBoundaryA1b2',
}));

export const avatarBody: fc.Arbitrary<UploadBody> = fc.oneof(
  { weight: 4, arbitrary: wellFormedUpload },
  { weight: 6, arbitrary: anyMultipart },
  { weight: 1, arbitrary: nearBodyBound },
);

// ---------------------------------------------------------------- tokens

/** The sessions generated tokens aim at: read when a value is generated (see the top of this file). */
export interface KnownTokens {
  /** A live session's token. */
  live: string;
  /** A live session of another user. */
  other: string;
  /** A token whose session has expired (its item still in the table). */
  expired: string;
}

export interface TokenPlacement {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** Raw token values that went into the request. */
  sent: string[];
}

/** Token values of every shape, and the places a request can carry them. */
export function tokenArbitraries(known: KnownTokens) {
  /** Token values of every shape; each is reported so the reply can be checked for it. */
  const tokenValue = fc.oneof(
    fc.constantFrom('', ' ', '  ', '\t', 'Bearer', 'bearer', 'null', 'undefined', 'true', '0'),
    anyString(60),
    fc.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/),
    fc.stringMatching(/^[A-Za-z0-9_-]{43}$|^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{42}$|^[A-Za-z0-9_-]{22}\.[A-Za-z0-9+/]{42}=$/),
    fc.integer({ min: 1_000, max: 20_000 }).map((n) => 't'.repeat(n)),
    fc.constantFrom('live', 'other', 'expired').map((which) => known[which]),
    fc
      .tuple(fc.nat({ max: 65 }), fc.constantFrom('A', '_', '-', '.', ' ', 'é'))
      .map(([i, char]) => `${known.live.slice(0, i)}${char}${known.live.slice(i + 1)}`),
    fc.constantFrom('', ' ', 'x', '\u0000').map((affix) => `${affix}${known.live}${affix}`),
  );

  /** Where the token goes: Authorization (any scheme, spacing or case), ?token= (API Gateway joins repeats with commas), both, neither. */
  const placement: fc.Arbitrary<TokenPlacement> = fc
    .record({
      header: fc.option(
        fc.tuple(
          fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', '', 'Basic ', 'Token ', 'Bearer=', ' Bearer '),
          tokenValue,
          fc.constantFrom('', ' ', '  ', ' extra', ',', '\n'),
        ),
        { nil: undefined },
      ),
      query: fc.option(
        fc.oneof(
          tokenValue.map((t) => [t]),
          fc.tuple(tokenValue, tokenValue),
          tokenValue.map((t) => [t, t]),
        ),
        { nil: undefined },
      ),
      headerName: fc.constantFrom('authorization', 'authorization', 'Authorization', 'AUTHORIZATION'),
    })
    .map(({ header, query, headerName }) => {
      const sent: string[] = [];
      const headers: Record<string, string> = {};
      const queryParams: Record<string, string> = {};
      if (header) {
        headers[headerName] = header.join('');
        sent.push(header[1]);
      }
      if (query) {
        queryParams.token = query.join(',');
        sent.push(...query);
      }
      return { headers, query: queryParams, sent };
    });

  /** Mostly the live token, so that bodies get past authentication; or none at all, so that a good body meets UNAUTHENTICATED. */
  const livePlacement = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constant(0).map((): TokenPlacement => ({ headers: { authorization: `Bearer ${known.live}` }, query: {}, sent: [known.live] })),
    },
    { weight: 1, arbitrary: placement },
    { weight: 1, arbitrary: fc.constant(0).map((): TokenPlacement => ({ headers: {}, query: {}, sent: [] })) },
  );

  return { tokenValue, placement, livePlacement };
}

/** The event with the token placed as generated: header names exactly as given (apiEvent would lowercase them). */
export function withTokens(event: APIGatewayProxyEventV2, tokens: TokenPlacement): APIGatewayProxyEventV2 {
  Object.assign(event.headers, tokens.headers);
  if (Object.keys(tokens.query).length > 0) {
    event.queryStringParameters = { ...event.queryStringParameters, ...tokens.query };
    event.rawQueryString = new URLSearchParams(event.queryStringParameters as Record<string, string>).toString();
  }
  return event;
}

// ---------------------------------------------------------------- POST /logout

/** `?all=` as sent: absent, the two that mean "every session" ('1', 'true'), near misses, anything; repeats joined by commas. */
export const allValue = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('1', 'true'),
  fc.constantFrom('', '0', 'false', 'TRUE', 'True', 'yes', 'on', 'all', ' 1', '1 ', '01', '1.0', '1,1', 'true,1', '%31'),
  anyString(12),
);

// ---------------------------------------------------------------- POST /userinfo

/** Data from wx.getUserInfo(): the live session's user's, and others' (another user, another app, a forged openid). */
export interface KnownUserData {
  own: SignedUserData;
  others: SignedUserData[];
}

const base64Of = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('base64'));

const ivValue = fc.oneof(
  fc.constant('IV'),
  base64Of(16, 16),
  base64Of(0, 40),
  fc.constantFrom(
    '',
    '!!!!',
    'AAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAA=',
    'AAAAAAAAAAAAAAAAAAAAAA===',
    '-_-_-_-_-_-_-_-_-_-_-w==',
    'AAAA AAAAAAAAAAAAAAAAAA==',
  ),
  anyString(70),
  wrongType,
);
const encryptedValue = fc.oneof(
  fc.constant('ALICE'),
  fc.constantFrom(0, 1, 2).map((i) => `OTHER${i}`),
  fc.nat({ max: 8 }).chain((blocks) => base64Of(blocks * 16, blocks * 16)),
  base64Of(1, 100),
  fc.constantFrom('', '====', 'QUJDRA==', '@@@@', 'QUJD\nRA=='),
  anyString(200),
  fc.integer({ min: 24 * 1024 - 4, max: 24 * 1024 + 4 }).map((n) => 'Q'.repeat(n)),
  wrongType,
);
const signatureValue = fc.oneof(
  fc.constant('SIG'),
  fc.stringMatching(/^[0-9a-f]{40}$/),
  fc.stringMatching(/^[0-9A-F]{40}$/),
  fc.constantFrom('', 'zz'.repeat(20), '0'.repeat(39), '0'.repeat(41)),
  anyString(80),
  wrongType,
);
const rawDataValue = fc.oneof(fc.constant('RAW'), anyString(100), fc.constant('r'.repeat(8 * 1024 + 1)), wrongType);

/** A userinfo body: the real payload's parts, mixed with junk, fields dropped or added. */
export function userinfoBody(data: KnownUserData): fc.Arbitrary<{ text: string; form: boolean }> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record(
          {
            encryptedData: encryptedValue,
            iv: ivValue,
            rawData: rawDataValue,
            signature: signatureValue,
            extra: fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
          },
          { requiredKeys: [] },
        )
        .map((fields) => {
          const resolve = (value: unknown) => {
            if (value === 'ALICE') return data.own.encryptedData;
            if (value === 'IV') return data.own.iv;
            if (value === 'RAW') return data.own.rawData;
            if (value === 'SIG') return data.own.signature;
            if (typeof value === 'string' && /^OTHER\d$/.test(value)) return data.others[Number(value.slice(5))]!.encryptedData;
            return value;
          };
          const { extra, ...rest } = fields;
          const body: Record<string, unknown> = { ...(extra ?? {}) };
          for (const [key, value] of Object.entries(rest)) if (value !== undefined) body[key] = resolve(value);
          return { text: JSON.stringify(body), form: false };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ iv: ivValue, enc: encryptedValue }).map(({ iv, enc }) => ({
        text: `encryptedData=${encodeURIComponent(text(enc === 'ALICE' ? data.own.encryptedData : enc))}&iv=${encodeURIComponent(text(iv === 'IV' ? data.own.iv : iv))}`,
        form: true,
      })),
    },
    { weight: 1, arbitrary: junkBody.map((text) => ({ text, form: false })) },
    {
      // The live user's own data, whole or tampered with: enough requests reach the signature check to pass and to fail it.
      weight: 1,
      arbitrary: fc.constantFrom('signed', 'unsigned', 'tampered rawData', 'wrong signature', 'rawData only').map((variant) => {
        const { encryptedData, iv, rawData, signature } = data.own;
        const body =
          variant === 'signed'
            ? { encryptedData, iv, rawData, signature }
            : variant === 'unsigned'
              ? { encryptedData, iv }
              : variant === 'tampered rawData'
                ? { encryptedData, iv, rawData: rawData.replace('Alice', 'Alicf'), signature }
                : variant === 'wrong signature'
                  ? { encryptedData, iv, rawData, signature: '0'.repeat(40) }
                  : { encryptedData, iv, rawData };
        return { text: JSON.stringify(body), form: false };
      }),
    },
  );
}

// ---------------------------------------------------------------- POST /credit/spend, GET /credit/history

/** Amounts: valid ones (small, so a balance lasts a while, and huge), and every way of being wrong. */
const spendAmount = fc.oneof(
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 90, max: 1_000_000 }),
  fc.constantFrom(0, -1, -5, 1.5, 0.1, 1_000_001, 1e21, Number.MAX_SAFE_INTEGER + 2, '5', '1e2', null, true, [], {}),
  wrongType,
);
/** Keys: a few that repeat on purpose (retries, and reuse with another amount), random valid ones, and near misses. */
const spendKey = fc.oneof(
  fc.constantFrom('order-00000001', 'order-00000002', 'retry_key_abc'),
  fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,7}$|^[A-Za-z0-9_-]{65,80}$/),
  fc.constantFrom('key with space', 'clé-unique-01', 'key/../../x', 'key\u0000key00', '😀😀😀😀😀😀😀😀'),
  wrongType,
);
const spendReason = fc.oneof(
  fc.constantFrom(undefined, 'coupon', '兑换优惠券', 'a'.repeat(64), 'a'.repeat(65), '', 'line\nbreak', '😀'.repeat(64), '😀'.repeat(65)),
  anyString(70),
  wrongType,
);

/** A spend body: contract-shaped (with fields missing and extra), form-encoded, or junk. */
export const spendBody = fc.oneof(
  // Well-formed spends on a few keys, so that retries, reuse with another amount or reason, and running out all happen.
  fc
    .record({
      amount: fc.integer({ min: 1, max: 6 }),
      key: fc.constantFrom('fuzz-key-0001', 'fuzz-key-0002', 'fuzz-key-0003', 'fuzz-key-0004'),
      reason: fc.constantFrom(undefined, 'a', 'b'),
    })
    .map(({ reason, ...fields }) => ({
      text: JSON.stringify({ ...fields, ...(reason ? { reason } : {}) }),
      form: false,
      code: undefined as unknown,
    })),
  fc
    .record({ amount: spendAmount, key: spendKey, reason: spendReason }, { requiredKeys: [] })
    .map((fields) => ({ text: JSON.stringify(fields), form: false, code: undefined as unknown })),
  fc.record({ amount: spendAmount, key: spendKey }).map(({ amount, key }) => ({
    text: `amount=${encodeURIComponent(text(amount))}&key=${encodeURIComponent(text(key))}`,
    form: true,
    code: undefined as unknown,
  })),
  junkBody.map((body) => ({ text: body, form: false, code: undefined as unknown })),
  sizedBody('reason').map((body) => ({ text: body, form: false, code: undefined as unknown })),
);

/** ?limit= and ?cursor= values: in range, out of range, malformed, and cursors of every shape (a real one is added by the test). */
export const historyQuery = (cursors: () => string[]) =>
  fc.record(
    {
      limit: fc.oneof(
        fc.integer({ min: 1, max: 100 }).map(String),
        fc.constantFrom('0', '101', '-1', '1.5', '1e1', ' 5', '5 ', '', 'abc', '00005', '99999999999999999999'),
      ),
      cursor: fc.oneof(
        fc.constant('').map(() => cursors()[0] ?? 'none'),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        fc.constantFrom('', '====', 'MS4x', Buffer.from('1.aaaaaaaaaaaaaaaaaaaaaa').toString('base64url'), 'x'.repeat(200)),
        anyString(40),
      ),
    },
    { requiredKeys: [] },
  );
