import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, readBody, readToken } from '#lib/http/request';
import { AppError, type ErrorCode } from '#lib/kernel/errors';
import { UserInfoBody } from '#lib/profile/userinfo';
import { LoginBody } from '#lib/session/login';
import { apiEvent } from '../../support/event.ts';

const TOKEN = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo';
const OTHER = 'b3RoZXJ0b2tlbnZhbHVlMTIzNDU2Nzg5MGFiY2RlZmc';

/** Runs fn, expects an AppError with `code`, returns it. */
function appError(fn: () => unknown, code: ErrorCode): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    return err as AppError;
  }
  throw new Error(`expected an AppError ${code}, nothing was thrown`);
}

describe('apiEvent fixture', () => {
  it('builds a payload-2.0 event with lowercase headers, rawPath, rawQueryString and http.method', () => {
    const event = apiEvent({
      method: 'get',
      path: '/user',
      headers: { Authorization: 'Bearer x' },
      query: { token: 'a b', page: '2' },
    });
    expect(event.version).toBe('2.0');
    expect(event.rawPath).toBe('/user');
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.requestContext.http.path).toBe('/user');
    expect(event.routeKey).toBe('GET /user');
    expect(event.headers.authorization).toBe('Bearer x');
    expect(event.headers.Authorization).toBeUndefined();
    expect(event.rawQueryString).toBe('token=a+b&page=2');
    expect(event.queryStringParameters).toEqual({ token: 'a b', page: '2' });
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes the body when isBase64Encoded is set', () => {
    const event = apiEvent({ body: { code: 'abc' }, isBase64Encoded: true });
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64').toString('utf8')).toBe('{"code":"abc"}');
  });
});

describe('readToken', () => {
  it('reads the token from "Authorization: Bearer <token>"', () => {
    expect(readToken(apiEvent({ headers: { authorization: `Bearer ${TOKEN}` } }))).toBe(TOKEN);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme spelled "%s"', (scheme) => {
    expect(readToken(apiEvent({ headers: { authorization: `${scheme} ${TOKEN}` } }))).toBe(TOKEN);
  });

  it('tolerates extra whitespace around the token', () => {
    expect(readToken(apiEvent({ headers: { authorization: `Bearer   ${TOKEN}  ` } }))).toBe(TOKEN);
  });

  it('reads the token from ?token= for clients of the original app', () => {
    expect(readToken(apiEvent({ query: { token: TOKEN } }))).toBe(TOKEN);
  });

  it('accepts the same token in both the header and ?token=', () => {
    expect(readToken(apiEvent({ headers: { authorization: `Bearer ${TOKEN}` }, query: { token: TOKEN } }))).toBe(TOKEN);
  });

  it('refuses two different tokens with AMBIGUOUS_TOKEN', () => {
    const event = apiEvent({ headers: { authorization: `Bearer ${TOKEN}` }, query: { token: OTHER } });
    appError(() => readToken(event), 'AMBIGUOUS_TOKEN');
  });

  it('returns undefined when no token is sent', () => {
    expect(readToken(apiEvent({ method: 'GET', path: '/user' }))).toBeUndefined();
  });

  it('treats an empty ?token= as no token', () => {
    expect(readToken(apiEvent({ query: { token: '' } }))).toBeUndefined();
    expect(readToken(apiEvent({ headers: { authorization: `Bearer ${TOKEN}` }, query: { token: '' } }))).toBe(TOKEN);
  });

  it('copes with an event that has no headers object at all', () => {
    const event = apiEvent({ query: { token: TOKEN } });
    const bare = { ...event, headers: undefined } as unknown as typeof event;
    expect(readToken(bare)).toBe(TOKEN);
  });
});

describe('readBody', () => {
  it('parses and validates a JSON body', () => {
    expect(readBody(apiEvent({ body: '{"code":"0a3Xk2000wWq8Q1Lp7300Zf5ZR1Xk20L"}' }), LoginBody)).toEqual({
      code: '0a3Xk2000wWq8Q1Lp7300Zf5ZR1Xk20L',
    });
  });

  it('drops properties the schema does not know', () => {
    expect(readBody(apiEvent({ body: { code: 'abc', extra: 'x' } }), LoginBody)).toEqual({ code: 'abc' });
  });

  // serverless-offline hands a JSON scalar body over as a number or boolean, not a string.
  it.each([0, 1.5, true, false])('refuses a non-string body %s as a 400, not a crash', (body) => {
    const event = { ...apiEvent(), body: body as unknown as string };
    const error = appError(() => readBody(event, LoginBody), 'INVALID_REQUEST');
    expect(error.message).toBe('The request body must be a JSON object');
  });

  it('reads a body handed over already parsed as the JSON it stands for', () => {
    const event = { ...apiEvent(), body: { code: 'abc' } as unknown as string };
    expect(readBody(event, LoginBody)).toEqual({ code: 'abc' });
  });

  it('decodes a base64-encoded body before parsing', () => {
    expect(readBody(apiEvent({ body: { code: 'abc123' }, isBase64Encoded: true }), LoginBody)).toEqual({ code: 'abc123' });
  });

  it.each(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8'])(
    'parses a form body sent as %s',
    (contentType) => {
      const event = apiEvent({ body: 'code=abc%21123', headers: { 'content-type': contentType } });
      expect(readBody(event, LoginBody)).toEqual({ code: 'abc!123' });
    },
  );

  it('parses a base64-encoded form body', () => {
    const event = apiEvent({
      body: 'code=abc123',
      isBase64Encoded: true,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(readBody(event, LoginBody)).toEqual({ code: 'abc123' });
  });

  it(`accepts a body of exactly ${MAX_BODY_BYTES} bytes`, () => {
    const head = '{"code":"abc","pad":"';
    const body = head + 'x'.repeat(MAX_BODY_BYTES - head.length - 2) + '"}';
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    expect(readBody(apiEvent({ body }), LoginBody)).toEqual({ code: 'abc' });
  });

  it(`refuses a body over ${MAX_BODY_BYTES} bytes with BODY_TOO_LARGE`, () => {
    const body = JSON.stringify({ code: 'abc', pad: 'x'.repeat(MAX_BODY_BYTES) });
    appError(() => readBody(apiEvent({ body }), LoginBody), 'BODY_TOO_LARGE');
  });

  it('counts bytes, not characters: 11,000 three-byte characters are too large', () => {
    const body = JSON.stringify({ code: 'abc', pad: '微'.repeat(11_000) });
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    appError(() => readBody(apiEvent({ body }), LoginBody), 'BODY_TOO_LARGE');
  });

  it('measures a base64 body after decoding (30 KB of JSON is accepted)', () => {
    const body = JSON.stringify({ code: 'abc', pad: 'x'.repeat(30_000) });
    const event = apiEvent({ body, isBase64Encoded: true });
    expect((event.body ?? '').length).toBeGreaterThan(MAX_BODY_BYTES);
    expect(readBody(event, LoginBody)).toEqual({ code: 'abc' });
  });

  it.each([
    ['a missing body', undefined],
    ['an empty body', ''],
    ['a whitespace-only body', '  \n '],
    ['malformed JSON', '{"code":'],
    ['a form body sent as JSON', 'code=abc'],
  ])('refuses %s with INVALID_JSON', (_label, body) => {
    appError(() => readBody(apiEvent(body === undefined ? {} : { body }), LoginBody), 'INVALID_JSON');
  });

  it.each([
    ['a JSON array', '[{"code":"abc"}]'],
    ['JSON null', 'null'],
    ['a JSON string', '"abc"'],
  ])('refuses %s, which is not an object, with INVALID_REQUEST', (_label, body) => {
    appError(() => readBody(apiEvent({ body }), LoginBody), 'INVALID_REQUEST');
  });

  it.each([
    ['missing', {}],
    ['a number', { code: 12345 }],
    ['empty', { code: '' }],
    ['containing a space', { code: 'abc def' }],
    ['129 characters long', { code: 'a'.repeat(129) }],
    ['non-ASCII', { code: 'código' }],
  ])('refuses a code that is %s with INVALID_REQUEST naming "code"', (_label, body) => {
    const error = appError(() => readBody(apiEvent({ body }), LoginBody), 'INVALID_REQUEST');
    expect(error.message).toContain('code');
  });

  it('accepts a code of exactly 128 printable characters', () => {
    const code = '!~'.repeat(64);
    expect(readBody(apiEvent({ body: { code } }), LoginBody)).toEqual({ code });
  });

  describe('with UserInfoBody', () => {
    const base = { encryptedData: 'CiyLU1Aw2KjvrjMdj8YKliAj', iv: 'r7BXXKkLb8qrSNn05n0qiA==' };

    it('accepts encryptedData and iv alone', () => {
      expect(readBody(apiEvent({ body: base }), UserInfoBody)).toEqual(base);
    });

    it('accepts rawData together with signature', () => {
      const body = { ...base, rawData: '{"nickName":"Band"}', signature: '75e81ceda165f4ffa64f4068af58c64b8f54b88c' };
      expect(readBody(apiEvent({ body }), UserInfoBody)).toEqual(body);
    });

    it('refuses rawData without signature with INVALID_REQUEST', () => {
      const error = appError(() => readBody(apiEvent({ body: { ...base, rawData: '{"nickName":"Band"}' } }), UserInfoBody), 'INVALID_REQUEST');
      expect(error.message).toContain('rawData');
      expect(error.message).toContain('signature');
    });

    it('refuses signature without rawData with INVALID_REQUEST', () => {
      const body = { ...base, signature: '75e81ceda165f4ffa64f4068af58c64b8f54b88c' };
      appError(() => readBody(apiEvent({ body }), UserInfoBody), 'INVALID_REQUEST');
    });

    it.each([
      ['encryptedData', { iv: base.iv }],
      ['iv', { encryptedData: base.encryptedData }],
    ])('refuses a body missing %s, naming it', (field, body) => {
      const error = appError(() => readBody(apiEvent({ body }), UserInfoBody), 'INVALID_REQUEST');
      expect(error.message).toContain(field);
    });
  });
});
