import type { Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '#lib/kernel/errors';
import { hashSessionToken } from '#lib/session/token';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { allDeps } from '#lib/wiring';
import type { FakeAnswer } from '../../local/fake-wechat.ts';
import { freePort } from '../../local/ports.ts';
import { api, scanAll } from '../support/invoke.ts';
import { snapshotTables } from '../support/raw.ts';
import { type RawHttpServer, startRawHttpServer } from '../support/raw-http.ts';
import { APP_SECRET } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * Every way WeChat's jscode2session can fail, over real HTTP, through the real
 * login handler: the contract's status, an answer within the bound the
 * configured timeouts give, and nothing written when the login fails.
 */
const TIMEOUT_MS = 1000;
/** DynamoDB calls (claim, release, transaction) and scheduling on a loaded 2-core machine. */
const SLACK_MS = 3000;

// The per-user bounds on WeChat calls (test/integration/user-limits.test.ts) are not this file's subject: it sends one user many.
const { stack } = useTestStack({ WECHAT_TIMEOUT_MS: String(TIMEOUT_MS), NICKNAME_CHECKS_PER_HOUR: '10000', PHONE_NUMBERS_PER_DAY: '1000' });
let boundMs: number;
beforeAll(() => {
  // The stack's client retries after 20 ms; the default pause (200 ms) gives a bound at least as large.
  boundMs = busyRetryBoundMs({ timeoutMs: stack.config.wechatTimeoutMs });
});

/** WeChat's answer for a user of the fake (what it would answer for `<name>.x`), to be sent late or after a failure. */
const sessionOf = (name: string) => {
  const { openid, sessionKey, unionid } = stack.fake.user(name);
  return { openid, session_key: sessionKey, unionid };
};
const busy: FakeAnswer = { json: { errcode: -1, errmsg: 'system error, rid: 64b1-busy' } };
const wechatError = (errcode: number, errmsg: string): FakeAnswer => ({ json: { errcode, errmsg: `${errmsg}, rid: 64b1-${errcode}` } });
/** An nginx-style error page that quotes the request, AppSecret included, as some proxies do. */
const echoPage = (status: number) => ({
  status,
  contentType: 'text/html',
  text: `<html><body><h1>${status}</h1><p>GET /sns/jscode2session?secret=${APP_SECRET} upstream said MARKER-WECHAT-TEXT</p></body></html>`,
});

type RawBehaviour = (socket: Socket) => void;
const RAW: Record<string, RawBehaviour> = {
  headersThenSilence: (socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"openid":'),
  halfBodyThenClose: (socket) =>
    socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"openid":"o1","session_k'),
  garbageStatusLine: (socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'),
};

interface FaultCase {
  name: string;
  /** What WeChat does, per attempt (index 0 = first request for the code); undefined = the fake's normal answer. */
  answers?: (FakeAnswer | undefined)[];
  /** Instead of the fake: nothing listening, or a raw TCP server. */
  transport?: 'refused' | keyof typeof RAW;
  status: number;
  code?: ErrorCode;
  /** Requests WeChat receives for the code: one, or two when it said "busy". */
  calls: number;
  /** The reply cannot come before this (a timeout must really have been waited for). */
  atLeastMs?: number;
}

const CASES: FaultCase[] = [
  { name: 'connection refused (nothing listening)', transport: 'refused', status: 502, code: 'WECHAT_UNREACHABLE', calls: 0 },
  { name: 'connection accepted, no answer ever (hang)', answers: ['hang'], status: 504, code: 'WECHAT_TIMEOUT', calls: 1, atLeastMs: TIMEOUT_MS },
  { name: 'answer just under the timeout', answers: [{ json: 'SESSION', delayMs: TIMEOUT_MS - 400 }], status: 200, calls: 1 },
  {
    name: 'answer just over the timeout',
    answers: [{ json: 'SESSION', delayMs: TIMEOUT_MS + 400 }],
    status: 504,
    code: 'WECHAT_TIMEOUT',
    calls: 1,
    atLeastMs: TIMEOUT_MS,
  },
  {
    name: 'an HTML page with 200',
    answers: [{ text: '<html><body>MARKER-WECHAT-TEXT</body></html>', contentType: 'text/html' }],
    status: 502,
    code: 'WECHAT_BAD_RESPONSE',
    calls: 1,
  },
  {
    name: 'truncated JSON',
    answers: [{ text: '{"openid":"oMARKER-WECHAT-TEXT","session_key":"tiihtNczf5v6', contentType: 'application/json' }],
    status: 502,
    code: 'WECHAT_BAD_RESPONSE',
    calls: 1,
  },
  { name: 'HTTP 503 with an HTML page quoting the request', answers: [echoPage(503)], status: 502, code: 'WECHAT_BAD_RESPONSE', calls: 1 },
  { name: 'HTTP 500 with an empty body', answers: [{ status: 500, text: '' }], status: 502, code: 'WECHAT_BAD_RESPONSE', calls: 1 },
  {
    name: 'HTTP 502 with a JSON error and no errcode',
    answers: [{ status: 502, json: { message: 'MARKER-WECHAT-TEXT' } }],
    status: 502,
    code: 'WECHAT_BAD_RESPONSE',
    calls: 1,
  },
  { name: 'a JSON array', answers: [{ json: [{ openid: 'o1' }] }], status: 502, code: 'WECHAT_BAD_RESPONSE', calls: 1 },
  {
    name: 'errcode as a string',
    answers: [{ json: { errcode: '40029', errmsg: 'MARKER-WECHAT-TEXT' } }],
    status: 502,
    code: 'WECHAT_BAD_RESPONSE',
    calls: 1,
  },
  { name: 'the connection dropped before any answer', answers: ['drop'], status: 502, code: 'WECHAT_UNREACHABLE', calls: 1 },
  {
    name: 'headers, then silence in the body',
    transport: 'headersThenSilence',
    status: 504,
    code: 'WECHAT_TIMEOUT',
    calls: 1,
    atLeastMs: TIMEOUT_MS,
  },
  { name: 'half a body, then the connection closed', transport: 'halfBodyThenClose', status: 502, code: 'WECHAT_UNREACHABLE', calls: 1 },
  { name: 'not HTTP at all', transport: 'garbageStatusLine', status: 502, code: 'WECHAT_UNREACHABLE', calls: 1 },
  { name: 'errcode 40029 (invalid code)', answers: [wechatError(40029, 'invalid code')], status: 400, code: 'INVALID_CODE', calls: 1 },
  { name: 'errcode 40163 (code been used)', answers: [wechatError(40163, 'code been used')], status: 409, code: 'CODE_ALREADY_USED', calls: 1 },
  { name: 'errcode 40226 (high-risk user)', answers: [wechatError(40226, 'high risk user')], status: 403, code: 'USER_HIGH_RISK', calls: 1 },
  {
    name: 'errcode 45011 (rate limited)',
    answers: [wechatError(45011, 'api minute-quota reach limit')],
    status: 429,
    code: 'WECHAT_RATE_LIMITED',
    calls: 1,
  },
  { name: 'errcode -1 (busy) twice', answers: [busy, busy], status: 503, code: 'WECHAT_BUSY', calls: 2 },
  { name: 'errcode -1 (busy) once, then a session', answers: [busy, undefined], status: 200, calls: 2 },
  {
    name: 'errcode -1 (busy), then a hang on the retry (the worst case)',
    answers: [busy, 'hang'],
    status: 504,
    code: 'WECHAT_TIMEOUT',
    calls: 2,
    atLeastMs: TIMEOUT_MS,
  },
  {
    name: 'errcode -1 (busy), then the retry answers just over the timeout',
    answers: [busy, { json: 'SESSION', delayMs: TIMEOUT_MS + 400 }],
    status: 504,
    code: 'WECHAT_TIMEOUT',
    calls: 2,
    atLeastMs: TIMEOUT_MS,
  },
  { name: 'errcode -1 (busy), then the retry drops the connection', answers: [busy, 'drop'], status: 502, code: 'WECHAT_UNREACHABLE', calls: 2 },
  {
    name: 'errcode -1 (busy), then 40029 on the retry',
    answers: [busy, wechatError(40029, 'invalid code')],
    status: 400,
    code: 'INVALID_CODE',
    calls: 2,
  },
];

/** Builds the login client for a case: the stack's (scripted fake), or one pointed at a dead port or a raw server. */
async function clientFor(
  testCase: FaultCase,
  user: string,
): Promise<{ client: ReturnType<typeof api>; calls: () => number; close(): Promise<void> }> {
  const code = `${user}.1`;
  if (!testCase.transport) {
    const answers = testCase.answers ?? [];
    stack.fake.script((received) => {
      if (received !== code) return undefined;
      const attempt = stack.fake.codes.filter((c) => c === code).length - 1;
      const answer = answers[attempt];
      if (answer && typeof answer === 'object' && 'json' in answer && answer.json === 'SESSION') return { ...answer, json: sessionOf(user) };
      return answer;
    });
    return { client: api(stack.deps), calls: () => stack.fake.codes.filter((c) => c === code).length, close: async () => undefined };
  }
  let server: RawHttpServer | undefined;
  let apiBase: string;
  if (testCase.transport === 'refused') {
    apiBase = `http://127.0.0.1:${await freePort()}`;
  } else {
    server = await startRawHttpServer(RAW[testCase.transport]!);
    apiBase = server.url;
  }
  return {
    client: api(allDeps({ ...stack.config, wechatApiBase: apiBase }, { now: stack.clock.now, busyRetryDelayMs: 20 })),
    calls: () => server?.requests.length ?? 0,
    close: async () => server?.close(),
  };
}

describe('WeChat faults: each gets the contract status, within the timeout bound, and writes nothing on failure', () => {
  it.each(CASES.map((testCase, i) => ({ ...testCase, user: `fault${i}` })))('$name -> $status', async (testCase) => {
    const { client, calls, close } = await clientFor(testCase, testCase.user);
    try {
      const before = await snapshotTables(stack.admin, stack.tables);
      const started = performance.now();
      const reply = await client.login(`${testCase.user}.1`);
      const elapsed = performance.now() - started;

      expect(reply.status, reply.raw).toBe(testCase.status);
      expect(elapsed, `took ${Math.round(elapsed)} ms, bound ${boundMs} + ${SLACK_MS} ms`).toBeLessThan(boundMs + SLACK_MS);
      if (testCase.atLeastMs) expect(elapsed).toBeGreaterThanOrEqual(testCase.atLeastMs - 50);
      expect(calls(), 'requests WeChat received for this code').toBe(testCase.calls);
      expect(reply.raw).not.toContain(APP_SECRET);
      expect(reply.raw).not.toContain(stack.fake.user(testCase.user).sessionKey);

      if (testCase.status === 200) {
        const token = String(reply.body.token);
        const sessions = await scanAll(stack.admin, stack.tables.sessions);
        expect(sessions.find((s) => s.tokenHash === hashSessionToken(token))?.openid).toBe(stack.fake.user(testCase.user).openid);
        expect(await client.credit(token)).toMatchObject({ status: 200, body: { credit: 100 } });
        return;
      }
      expect(reply.body).toEqual({ err: expect.any(String), code: testCase.code ?? expect.any(String) });
      // WeChat's own words (and whatever its error pages quote) are for our logs, not for the client.
      expect(reply.raw).not.toContain('MARKER-WECHAT-TEXT');
      expect(await snapshotTables(stack.admin, stack.tables), 'a failed login changed the store').toEqual(before);
    } finally {
      await close();
    }
  });

  it('ten simultaneous logins against a hanging WeChat all end with 504 within the same bound, and write nothing', async () => {
    stack.fake.script((code) => (code.startsWith('crowd-hang') ? 'hang' : undefined));
    const before = await snapshotTables(stack.admin, stack.tables);
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => api(stack.deps).login(`crowd-hang${i}.1`)));
    const elapsed = performance.now() - started;
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(504));
    expect(elapsed).toBeLessThan(boundMs + SLACK_MS);
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
  });
});
