import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { httpHandler } from '#lib/http/handler';
import { STATUS_BY_CODE } from '#lib/http/status';
import { REPLY_MARGIN_MS, remainingMs } from '#lib/kernel/deadline';
import { AppError, type ErrorCode } from '#lib/kernel/errors';
import { logger, withLogFields } from '#lib/kernel/log';
import { apiEvent } from '../../support/event.ts';
import { lambdaContext } from '../../support/lambda-context.ts';

const bodyOf = (reply: APIGatewayProxyStructuredResultV2): unknown => JSON.parse(reply.body ?? '');
const run = (fn: () => Promise<unknown>) => httpHandler('test', fn)(apiEvent({ method: 'GET', path: '/test' }));

/** Every ErrorCode, checked complete by the compiler. */
const ALL_CODES = Object.keys({
  INVALID_JSON: true,
  INVALID_REQUEST: true,
  BODY_TOO_LARGE: true,
  AMBIGUOUS_TOKEN: true,
  UNAUTHENTICATED: true,
  SESSION_INVALID: true,
  INVALID_CODE: true,
  UNKNOWN_APP: true,
  CODE_ALREADY_USED: true,
  INSUFFICIENT_CREDIT: true,
  IDEMPOTENCY_KEY_REUSED: true,
  USER_NOT_FOUND: true,
  USER_HIGH_RISK: true,
  WECHAT_RATE_LIMITED: true,
  WECHAT_BAD_RESPONSE: true,
  WECHAT_UNREACHABLE: true,
  WECHAT_BUSY: true,
  WECHAT_TIMEOUT: true,
  DECRYPT_FAILED: true,
  STORAGE_UNAVAILABLE: true,
  CREDIT_BUSY: true,
  DEADLINE_EXCEEDED: true,
  INTERNAL: true,
  SESSION_KEY_EXPIRED: true,
  CONTENT_REJECTED: true,
  PHONE_ALREADY_KNOWN: true,
  PHONE_QUOTA_EXHAUSTED: true,
  INVALID_IMAGE: true,
  IMAGE_TOO_LARGE: true,
  USER_RATE_LIMITED: true,
} satisfies Record<ErrorCode, true>) as ErrorCode[];

const CLIENT_FAULTS: ErrorCode[] = [
  'INVALID_JSON',
  'INVALID_REQUEST',
  'AMBIGUOUS_TOKEN',
  'INVALID_CODE',
  'UNKNOWN_APP',
  'DECRYPT_FAILED',
  'UNAUTHENTICATED',
  'SESSION_INVALID',
  'SESSION_KEY_EXPIRED',
  'BODY_TOO_LARGE',
  'CODE_ALREADY_USED',
  'USER_HIGH_RISK',
  'INSUFFICIENT_CREDIT',
  'IDEMPOTENCY_KEY_REUSED',
  'USER_NOT_FOUND',
  'CONTENT_REJECTED',
  'PHONE_ALREADY_KNOWN',
  'INVALID_IMAGE',
  'IMAGE_TOO_LARGE',
  'USER_RATE_LIMITED',
];

describe('httpHandler', () => {
  it('answers 200 with the JSON-encoded result and a JSON content-type', async () => {
    const reply = await run(async () => ({ a: 1 }));
    expect(reply.statusCode).toBe(200);
    expect(bodyOf(reply)).toEqual({ a: 1 });
    expect(reply.headers?.['content-type']).toMatch(/^application\/json\b/);
  });

  it('marks replies uncacheable (they carry tokens and user data)', async () => {
    expect((await run(async () => ({ a: 1 }))).headers?.['cache-control']).toBe('no-store');
    expect((await run(async () => Promise.reject(new Error('x')))).headers?.['cache-control']).toBe('no-store');
  });

  it('passes the incoming event to the endpoint', async () => {
    const endpoint = vi.fn(async () => ({ ok: true }));
    const event = apiEvent({ path: '/login', body: { code: 'abc' } });
    await httpHandler('login', endpoint)(event);
    expect(endpoint).toHaveBeenCalledWith(event);
  });

  it("adds an endpoint's log fields to its 'request ok' line, never to the reply, and never over the handler's own", async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    try {
      const reply = await httpHandler('login', async () => withLogFields({ a: 1 }, { replay: 'served', endpoint: 'forged' }))(apiEvent({}));
      expect(bodyOf(reply)).toEqual({ a: 1 });
      expect(info).toHaveBeenCalledWith('request ok', expect.objectContaining({ endpoint: 'login', status: 200, replay: 'served' }));
    } finally {
      info.mockRestore();
    }
  });

  it('turns an AppError into its table status and {err, code} body', async () => {
    const reply = await run(async () => {
      throw new AppError('SESSION_INVALID', 'msg');
    });
    expect(reply.statusCode).toBe(401);
    expect(bodyOf(reply)).toEqual({ err: 'msg', code: 'SESSION_INVALID' });
    expect(reply.headers?.['content-type']).toMatch(/^application\/json\b/);
  });

  it('keeps an AppError’s log-only detail out of the reply', async () => {
    const reply = await run(async () => {
      throw new AppError('WECHAT_BAD_RESPONSE', 'WeChat refused', { errcode: 40013, rid: 'rid-log-only-xyz' });
    });
    expect(reply.statusCode).toBe(502);
    expect(bodyOf(reply)).toEqual({ err: 'WeChat refused', code: 'WECHAT_BAD_RESPONSE' });
    expect(reply.body).not.toContain('rid-log-only-xyz');
    expect(reply.body).not.toContain('40013');
  });

  it('answers 500 INTERNAL for a plain Error without revealing its message', async () => {
    const reply = await run(async () => {
      throw new Error('secret internals');
    });
    expect(reply.statusCode).toBe(500);
    expect(bodyOf(reply)).toMatchObject({ code: 'INTERNAL' });
    expect(reply.body).not.toContain('secret internals');
  });

  it('answers 500 INTERNAL for a thrown non-Error value', async () => {
    const reply = await run(async () => {
      throw 'raw string with secret internals';
    });
    expect(reply.statusCode).toBe(500);
    expect(bodyOf(reply)).toMatchObject({ code: 'INTERNAL' });
    expect(reply.body).not.toContain('secret internals');
  });

  it('answers 500 INTERNAL when the endpoint throws synchronously', async () => {
    const handler = httpHandler('test', () => {
      throw new Error('sync secret internals');
    });
    const reply = await handler(apiEvent({}));
    expect(reply.statusCode).toBe(500);
    expect(reply.body).not.toContain('sync secret internals');
  });

  it.each(ALL_CODES)('answers an AppError %s with STATUS_BY_CODE’s status', async (code) => {
    const reply = await run(async () => {
      throw new AppError(code, `message for ${code}`);
    });
    expect(reply.statusCode).toBe(STATUS_BY_CODE[code]);
    expect(bodyOf(reply)).toEqual({ err: `message for ${code}`, code });
  });
});

describe('STATUS_BY_CODE', () => {
  it('has an entry for every ErrorCode and nothing else', () => {
    expect(Object.keys(STATUS_BY_CODE).sort()).toEqual([...ALL_CODES].sort());
  });

  it.each(ALL_CODES)('maps %s to an error status (400-599)', (code) => {
    expect(STATUS_BY_CODE[code]).toBeGreaterThanOrEqual(400);
    expect(STATUS_BY_CODE[code]).toBeLessThanOrEqual(599);
  });

  it.each(CLIENT_FAULTS)('maps the client fault %s below 500', (code) => {
    expect(STATUS_BY_CODE[code]).toBeLessThan(500);
  });

  it.each([
    'INTERNAL',
    'STORAGE_UNAVAILABLE',
    'WECHAT_BAD_RESPONSE',
    'WECHAT_UNREACHABLE',
    'WECHAT_BUSY',
    'WECHAT_TIMEOUT',
    'PHONE_QUOTA_EXHAUSTED',
  ] as const)('maps the server-side failure %s to 5xx', (code) => {
    expect(STATUS_BY_CODE[code]).toBeGreaterThanOrEqual(500);
  });

  it('maps authentication failures to 401', () => {
    expect(STATUS_BY_CODE.UNAUTHENTICATED).toBe(401);
    expect(STATUS_BY_CODE.SESSION_INVALID).toBe(401);
  });
});

describe('httpHandler: the request deadline', () => {
  it('a wait that nothing bounds still ends in our own 503 JSON before Lambda would end the request, with a log line', async () => {
    const errors = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const started = performance.now();
      const reply = await httpHandler('test', () => new Promise(() => undefined))(apiEvent({ method: 'GET', path: '/test' }), lambdaContext(700));
      const elapsed = performance.now() - started;
      expect(reply.statusCode).toBe(503);
      expect(bodyOf(reply)).toEqual({ err: expect.stringMatching(/in time/), code: 'DEADLINE_EXCEEDED' });
      expect(elapsed).toBeGreaterThanOrEqual(700 - REPLY_MARGIN_MS);
      expect(elapsed).toBeLessThan(700);
      expect(errors).toHaveBeenCalledWith('request failed', expect.objectContaining({ code: 'DEADLINE_EXCEEDED', status: 503 }), {});
    } finally {
      errors.mockRestore();
    }
  });

  it("the endpoint sees the request's remaining time, less the reply margin", async () => {
    let seen = 0;
    await httpHandler('test', async () => {
      seen = remainingMs();
    })(apiEvent({ method: 'GET', path: '/test' }), lambdaContext(5000));
    expect(seen).toBeGreaterThan(5000 - REPLY_MARGIN_MS - 50);
    expect(seen).toBeLessThanOrEqual(5000 - REPLY_MARGIN_MS);
  });
});

describe('httpHandler: no timer of a finished request outlives it', () => {
  const refused = () => {
    // Built synchronously, as a handler that parses its body while building the endpoint's arguments does.
    throw new AppError('INVALID_JSON', 'The body is not JSON');
  };

  it('an endpoint that throws before it returns a promise gets its 4xx, and the deadline backstop is disarmed with it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const reply = await httpHandler('test', refused as () => Promise<unknown>)(apiEvent({ method: 'GET', path: '/test' }), lambdaContext(28_000));
      expect(reply.statusCode).toBe(400);
      expect(bodyOf(reply)).toEqual({ err: 'The body is not JSON', code: 'INVALID_JSON' });
      expect(vi.getTimerCount(), 'timers still armed after the reply').toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('nothing rejects unhandled once the request would have run out of time', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      for (const run of [refused, async () => refused(), async () => ({ ok: true })]) {
        await httpHandler('test', run as () => Promise<unknown>)(apiEvent({ method: 'GET', path: '/test' }), lambdaContext(1_000));
      }
      await vi.advanceTimersByTimeAsync(60_000);
      // Unhandled rejections are reported after the microtask queue drains: give it a macrotask.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      vi.useRealTimers();
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
