import { describe, expect, it, vi } from 'vitest';
import { AppError, type ErrorCode } from '#lib/kernel/errors';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { type Code2SessionOptions, createCode2Session } from '#lib/wechat/code2session';

const SECRET = 'the-secret-value';
const CODE = '0a3Xk2000wWq8Q1Lp7300Zf5ZR1Xk20L';
const SESSION_KEY = 'tiihtNczf5v6AKRyjwEUhQ==';

type FetchStub = ReturnType<typeof vi.fn<typeof fetch>>;

const options = (fetchStub: FetchStub): Code2SessionOptions => ({
  apiBase: 'https://wechat.test',
  appId: 'wx1234567890abcdef',
  secret: async () => SECRET,
  timeoutMs: 50,
  busyRetryDelayMs: 1,
  fetch: fetchStub,
});

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const text = (body: string, status = 200, contentType = 'text/plain') => new Response(body, { status, headers: { 'content-type': contentType } });

/** A fetch stub answering each call with the next response builder in turn. */
function answering(...replies: Array<() => Response>): FetchStub {
  const stub = vi.fn<typeof fetch>();
  for (const reply of replies) stub.mockImplementationOnce(async () => reply());
  stub.mockImplementation(async () => {
    throw new Error('fetch called more times than the test expected');
  });
  return stub;
}

const ok = () => json({ openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', session_key: SESSION_KEY });
const errcode =
  (code: number, errmsg = 'some error') =>
  () =>
    json({ errcode: code, errmsg });

/** Runs one exchange, expects an AppError with `code`, and checks it leaks neither the secret nor the login code. */
async function failure(fetchStub: FetchStub, code: ErrorCode): Promise<AppError> {
  const error = await createCode2Session(options(fetchStub))(CODE).then(
    () => expect.unreachable('the exchange should have failed'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.code).toBe(code);
  const detail = JSON.stringify(appError.detail);
  for (const leaked of [SECRET, CODE]) {
    expect(appError.message).not.toContain(leaked);
    expect(detail).not.toContain(leaked);
  }
  return appError;
}

describe('createCode2Session: success', () => {
  it('maps openid, session_key and unionid from WeChat’s answer', async () => {
    const stub = answering(() => json({ openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', session_key: SESSION_KEY, unionid: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA' }));
    await expect(createCode2Session(options(stub))(CODE)).resolves.toEqual({
      openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
      sessionKey: SESSION_KEY,
      unionid: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
    });
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('leaves unionid out when WeChat sends none or an empty one', async () => {
    const none = await createCode2Session(options(answering(ok)))(CODE);
    expect(none).toEqual({ openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', sessionKey: SESSION_KEY });
    expect('unionid' in none).toBe(false);

    const empty = await createCode2Session(options(answering(() => json({ openid: 'o1', session_key: SESSION_KEY, unionid: '' }))))(CODE);
    expect('unionid' in empty).toBe(false);
  });

  it('treats errcode 0 alongside an openid as success', async () => {
    const stub = answering(() => json({ errcode: 0, errmsg: 'ok', openid: 'o1', session_key: SESSION_KEY }));
    await expect(createCode2Session(options(stub))(CODE)).resolves.toEqual({ openid: 'o1', sessionKey: SESSION_KEY });
  });

  it('calls GET /sns/jscode2session with appid, secret, js_code and grant_type=authorization_code', async () => {
    const stub = answering(ok);
    await createCode2Session(options(stub))(CODE);
    const [input, init] = stub.mock.calls[0] ?? [];
    const url = new URL(String(input));
    expect(url.origin).toBe('https://wechat.test');
    expect(url.pathname).toBe('/sns/jscode2session');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: 'wx1234567890abcdef',
      secret: SECRET,
      js_code: CODE,
      grant_type: 'authorization_code',
    });
    expect(init?.method ?? 'GET').toBe('GET');
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it('URL-encodes a code holding reserved characters instead of corrupting the query', async () => {
    const stub = answering(ok);
    await createCode2Session(options(stub))('a&secret=x#y');
    const url = new URL(String(stub.mock.calls[0]?.[0]));
    expect(url.searchParams.get('js_code')).toBe('a&secret=x#y');
    expect(url.searchParams.getAll('secret')).toEqual([SECRET]);
  });
});

describe('createCode2Session: WeChat errcodes', () => {
  it.each([
    [40029, 'INVALID_CODE'],
    [40163, 'CODE_ALREADY_USED'],
    [40226, 'USER_HIGH_RISK'],
    [45011, 'WECHAT_RATE_LIMITED'],
  ] as const)('maps errcode %i to %s, with the errcode in detail', async (code, appCode) => {
    const stub = answering(errcode(code));
    const error = await failure(stub, appCode);
    expect(error.detail.errcode).toBe(code);
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('maps an errcode nobody documents (40999) to WECHAT_BAD_RESPONSE with detail.errcode', async () => {
    const error = await failure(answering(errcode(40999, 'what is this')), 'WECHAT_BAD_RESPONSE');
    expect(error.detail.errcode).toBe(40999);
  });

  it.each([
    [40013, 'WECHAT_APPID'],
    [40125, 'WECHAT_SECRET_PARAM'],
    [40164, 'IP whitelist'],
    [48001, 'permissions'],
  ] as const)('a misconfiguration (%i) is a 500 INTERNAL whose log detail names what to fix, never advice to retry', async (code, fix) => {
    const stub = answering(errcode(code));
    const error = await failure(stub, 'INTERNAL');
    expect(error.message).not.toMatch(/retry/i);
    expect(error.detail).toMatchObject({ errcode: code, api: 'jscode2session', fault: expect.stringContaining(fix) });
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('parses the rid out of errmsg into detail.rid for WeChat support', async () => {
    const error = await failure(answering(errcode(40029, 'invalid code, rid: 6385a1b2-1234')), 'INVALID_CODE');
    expect(error.detail.rid).toBe('6385a1b2-1234');
  });

  it('leaves detail.rid undefined when errmsg carries none', async () => {
    const error = await failure(answering(errcode(40029, 'invalid code')), 'INVALID_CODE');
    expect(error.detail.rid).toBeUndefined();
  });

  it('does not retry 40029 (a code is single-use): exactly one call', async () => {
    const stub = answering(errcode(40029), ok);
    await failure(stub, 'INVALID_CODE');
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('retries once after -1 (system busy) and returns the second answer', async () => {
    const stub = answering(errcode(-1, 'system error'), ok);
    await expect(createCode2Session(options(stub))(CODE)).resolves.toMatchObject({ sessionKey: SESSION_KEY });
    expect(stub).toHaveBeenCalledTimes(2);
  });

  it('gives WECHAT_BUSY after -1 twice, with no third attempt', async () => {
    const stub = answering(errcode(-1, 'system error'), errcode(-1, 'system error'), ok);
    await failure(stub, 'WECHAT_BUSY');
    expect(stub).toHaveBeenCalledTimes(2);
  });

  it('reports the retry’s own failure when -1 is followed by another errcode', async () => {
    const stub = answering(errcode(-1, 'system error'), errcode(40163, 'code been used, rid: abc-1'));
    const error = await failure(stub, 'CODE_ALREADY_USED');
    expect(error.detail.rid).toBe('abc-1');
    expect(stub).toHaveBeenCalledTimes(2);
  });
});

describe('createCode2Session: unusable answers', () => {
  it.each([
    ['an HTML error page', () => text('<html><body>502 Bad Gateway</body></html>', 502, 'text/html')],
    ['truncated JSON', () => text('{"openid":"o1","session_key":"tiihtNcz', 200, 'application/json')],
    ['an empty body', () => text('', 200)],
    ['a JSON array', () => json([{ openid: 'o1', session_key: SESSION_KEY }])],
    ['JSON null', () => json(null)],
    ['a JSON number', () => json(42)],
    ['a string errcode', () => json({ errcode: '40029', errmsg: 'invalid code' })],
    ['no openid', () => json({ session_key: SESSION_KEY })],
    ['an empty openid', () => json({ openid: '', session_key: SESSION_KEY })],
    ['an openid with a space', () => json({ openid: 'o 1', session_key: SESSION_KEY })],
    ['no session_key', () => json({ openid: 'o1' })],
    ['a numeric session_key', () => json({ openid: 'o1', session_key: 16 })],
    ['a session_key of 8 bytes', () => json({ openid: 'o1', session_key: Buffer.alloc(8, 1).toString('base64') })],
    ['a session_key of 32 bytes', () => json({ openid: 'o1', session_key: Buffer.alloc(32, 1).toString('base64') })],
    // Buffer.from would read these as 16 bytes; decryption would refuse them later, so login must refuse them now.
    ['a session_key without padding', () => json({ openid: 'o1', session_key: 'tiihtNczf5v6AKRyjwEUhQ' })],
    ['a session_key with junk characters', () => json({ openid: 'o1', session_key: '!!tiihtNczf5v6AKRyjwEUhQ==' })],
  ])('refuses %s as WECHAT_BAD_RESPONSE', async (_label, reply) => {
    const stub = answering(reply, ok);
    await failure(stub, 'WECHAT_BAD_RESPONSE');
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('records the HTTP status of an unusable answer in detail', async () => {
    const error = await failure(
      answering(() => text('<html>oops</html>', 503, 'text/html')),
      'WECHAT_BAD_RESPONSE',
    );
    expect(error.detail.httpStatus).toBe(503);
  });
});

describe('createCode2Session: network failures', () => {
  it('maps a refused connection to WECHAT_UNREACHABLE with detail.reason ECONNREFUSED', async () => {
    const stub = vi.fn<typeof fetch>(async (input) => {
      // undici-style: the message and cause may quote the URL, which holds the secret and the code
      throw new TypeError(`fetch failed: ${String(input)}`, {
        cause: Object.assign(new Error(`connect ECONNREFUSED ${String(input)}`), { code: 'ECONNREFUSED' }),
      });
    });
    const error = await failure(stub, 'WECHAT_UNREACHABLE');
    expect(error.detail.reason).toBe('ECONNREFUSED');
    expect(error.cause).toBeUndefined();
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('falls back to reason "network error" when the failure has no code', async () => {
    const stub = vi.fn<typeof fetch>(async () => {
      throw new TypeError('fetch failed');
    });
    const error = await failure(stub, 'WECHAT_UNREACHABLE');
    expect(error.detail.reason).toBe('network error');
  });

  it('maps an attempt that outlives timeoutMs to WECHAT_TIMEOUT, aborting the request, without a retry', async () => {
    let aborted = false;
    const stub = vi.fn<typeof fetch>(
      (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          if (!signal) return reject(new Error('code2session passed no AbortSignal'));
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    );
    const error = await failure(stub, 'WECHAT_TIMEOUT');
    expect(aborted).toBe(true);
    expect(error.detail.timeoutMs).toBe(50);
    expect(stub).toHaveBeenCalledTimes(1);
  });

  it('treats an AbortError from fetch as a timeout', async () => {
    const stub = vi.fn<typeof fetch>(async () => {
      throw new DOMException('This operation was aborted', 'AbortError');
    });
    await failure(stub, 'WECHAT_TIMEOUT');
  });
});

describe('busyRetryBoundMs', () => {
  it('is two attempts plus the pause between them', () => {
    expect(busyRetryBoundMs({ timeoutMs: 3000, busyRetryDelayMs: 200 })).toBe(6200);
    expect(busyRetryBoundMs({ timeoutMs: 1000, busyRetryDelayMs: 50 })).toBe(2050);
  });

  it('uses the default 200 ms pause when retryDelayMs is not given', () => {
    expect(busyRetryBoundMs({ timeoutMs: 100 })).toBe(400);
  });
});
