import { describe, expect, it } from 'vitest';
import { allDeps } from '#lib/wiring';
import { freePort } from '../../local/ports.ts';
import { api } from '../support/invoke.ts';
import { snapshotTables } from '../support/raw.ts';
import { APP_SECRET } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

/** Every failed login must leave the tables exactly as they were. */
async function expectLoginRefused(code: string, status: number, errorCode: string) {
  const before = await snapshotTables(stack.admin, stack.tables);
  const reply = await client.login(code);
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ err: expect.any(String), code: errorCode });
  expect(reply.raw).not.toContain('test-app-secret');
  expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
  return reply;
}

describe('POST /login: bad requests are 4xx with a clear error', () => {
  const post = (body: string | undefined, headers: Record<string, string> = {}) =>
    client.invoke('login', { method: 'POST', path: '/login', body, headers });

  it('malformed JSON is 400 INVALID_JSON', async () => {
    expect(await post('{"code": "abc"')).toMatchObject({ status: 400, body: { code: 'INVALID_JSON' } });
  });

  it('an empty body is 400 INVALID_JSON', async () => {
    expect(await post(undefined)).toMatchObject({ status: 400, body: { code: 'INVALID_JSON' } });
  });

  it('a missing or wrongly typed code is 400 INVALID_REQUEST naming the field', async () => {
    for (const body of ['{}', '{"code": 123}', '{"code": ""}', '[]', '"code"', 'null']) {
      const reply = await post(body);
      expect(reply.status, body).toBe(400);
      expect(reply.body.code, body).toBe('INVALID_REQUEST');
    }
    expect((await post('{"code": 123}')).body.err).toMatch(/code/);
  });

  it('an oversized code is 400 and never reaches WeChat', async () => {
    const calls = stack.fake.codes.length;
    expect(await post(JSON.stringify({ code: 'x'.repeat(129) }))).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    expect(stack.fake.codes.length).toBe(calls);
  });

  it('a body over 32 KiB is 413', async () => {
    expect(await post(JSON.stringify({ code: 'a', pad: 'x'.repeat(33 * 1024) }))).toMatchObject({
      status: 413,
      body: { code: 'BODY_TOO_LARGE' },
    });
  });

  it('a form-encoded body (older clients) works like JSON', async () => {
    const reply = await post('code=formuser.1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(reply).toMatchObject({ status: 200, body: { token: expect.any(String) } });
  });
});

describe('POST /login: what WeChat says maps to the contract', () => {
  it('an invalid code (40029) is 400 INVALID_CODE', () => expectLoginRefused('fail-40029', 400, 'INVALID_CODE'));

  it('a code WeChat says was already used (40163) that we never exchanged is 409 CODE_ALREADY_USED', async () => {
    stack.fake.script(() => ({ json: { errcode: 40163, errmsg: 'code been used, rid: 1' } }));
    await expectLoginRefused('usedelsewhere.1', 409, 'CODE_ALREADY_USED');
  });

  it('a high-risk user (40226) is 403 USER_HIGH_RISK', () => expectLoginRefused('fail-40226', 403, 'USER_HIGH_RISK'));

  it('WeChat rate limit (45011) is 429 WECHAT_RATE_LIMITED', () => expectLoginRefused('fail-45011', 429, 'WECHAT_RATE_LIMITED'));

  it('an errcode we do not map is 502 WECHAT_BAD_RESPONSE', () => expectLoginRefused('fail-40999', 502, 'WECHAT_BAD_RESPONSE'));

  it('WeChat busy (-1) twice is 503 WECHAT_BUSY after exactly one retry', async () => {
    const before = stack.fake.codes.length;
    await expectLoginRefused('fail--1', 503, 'WECHAT_BUSY');
    expect(stack.fake.codes.length - before).toBe(2);
  });

  it('WeChat busy (-1) once, then an answer, logs the user in on the retry', async () => {
    let busyAnswers = 0;
    stack.fake.script(() => (busyAnswers++ === 0 ? { json: { errcode: -1, errmsg: 'system error, rid: 1' } } : undefined));
    const before = stack.fake.codes.length;
    const reply = await client.login('retried.1');
    expect(reply).toMatchObject({ status: 200, body: { token: expect.any(String) } });
    expect(stack.fake.codes.length - before).toBe(2);
  });

  it.each([
    ['HTML', { text: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html', status: 502 }],
    ['truncated JSON', { text: '{"openid": "o123", "session_k' }],
    ['JSON without openid', { json: { session_key: 'tiihtNczf5v6AKRyjwEUhQ==' } }],
    ['a session_key that is not 16 bytes', { json: { openid: 'oabc', session_key: 'c2hvcnQ=' } }],
  ])('an unusable answer (%s) is 502 WECHAT_BAD_RESPONSE', async (_name, answer) => {
    stack.fake.script(() => answer);
    await expectLoginRefused('someone.1', 502, 'WECHAT_BAD_RESPONSE');
  });

  it('WeChat not answering is 504 WECHAT_TIMEOUT, within the configured bound, without a retry', async () => {
    stack.fake.script(() => 'hang');
    const before = stack.fake.codes.length;
    const tables = await snapshotTables(stack.admin, stack.tables);
    const started = performance.now();
    const reply = await client.login('slow.1');
    const elapsed = performance.now() - started;
    expect(reply).toMatchObject({ status: 504, body: { code: 'WECHAT_TIMEOUT' } });
    // One attempt of WECHAT_TIMEOUT_MS (a timeout is not retried), plus the claim and its release on DynamoDB Local.
    expect(elapsed).toBeGreaterThanOrEqual(stack.config.wechatTimeoutMs - 5);
    expect(elapsed).toBeLessThan(stack.config.wechatTimeoutMs + 1000);
    expect(stack.fake.codes.length - before).toBe(1);
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(tables);
  });

  it('WeChat unreachable is 502 WECHAT_UNREACHABLE', async () => {
    const deadPort = await freePort();
    const offline = api(allDeps({ ...stack.config, wechatApiBase: `http://127.0.0.1:${deadPort}` }));
    const reply = await offline.login('nobody.1');
    expect(reply).toMatchObject({ status: 502, body: { code: 'WECHAT_UNREACHABLE' } });
  });
});

describe('storage failures', () => {
  it('DynamoDB unreachable is 503 STORAGE_UNAVAILABLE before WeChat is asked, so the code is not spent', async () => {
    const deadPort = await freePort();
    const down = api(allDeps({ ...stack.config, dynamodbEndpoint: `http://127.0.0.1:${deadPort}` }));
    const before = stack.fake.codes.length;
    expect(await down.login('outage.1')).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
    expect(stack.fake.codes.length - before).toBe(0);
    expect(await down.credit(`${'A'.repeat(22)}.${'A'.repeat(43)}`)).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
  });

  it('a missing table is a 500 INTERNAL that names nothing internal', async () => {
    const tables = { sessions: 'no-such-table', users: 'no-such-table', logins: 'no-such-table', appCache: 'no-such-table', ledger: 'no-such-table' };
    const reply = await api(allDeps({ ...stack.config, tables })).credit(`${'A'.repeat(22)}.${'A'.repeat(43)}`);
    expect(reply).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
    expect(reply.raw).not.toContain('no-such-table');
  });
});

describe('the AppSecret, read from SSM on first use', () => {
  it('an unreadable parameter is a 500 INTERNAL before WeChat is asked; the code stays usable and the next login reads it again', async () => {
    const PARAM = '/wechat-login/test/wechat-app-secret';
    let reads = 0;
    const readParameter = async () => {
      reads++;
      if (reads === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return APP_SECRET;
    };
    const fromSsm = api(allDeps({ ...stack.config, appSecret: { parameter: PARAM } }, { readParameter }));
    const asked = stack.fake.codes.length;
    const before = await snapshotTables(stack.admin, stack.tables);
    const refused = await fromSsm.login('ssm.1');
    expect(refused).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
    expect(refused.raw).not.toContain(PARAM);
    expect(stack.fake.codes.length).toBe(asked);
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);

    // The claim was released: the same code logs in once the parameter reads.
    const ok = await fromSsm.login('ssm.1');
    expect(ok.status).toBe(200);
    expect((await fromSsm.checklogin(ok.body.token as string)).status).toBe(200);
    expect(reads).toBe(2);
  });
});
