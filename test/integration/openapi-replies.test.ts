import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../local/state.ts';
import { type HttpApi, startHttpApi } from '../support/http-api.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * What the real handlers answer is what openapi.yaml says: for each request
 * below (over HTTP, against DynamoDB Local and the fake WeChat), the status
 * is one the spec lists for that route, and the body validates against that
 * response's schema, error codes included. Every 200 and 4xx the spec lists
 * is reached.
 */
interface Spec {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>;
}
const spec = parse(readFileSync(`${ROOT}openapi.yaml`, 'utf8')) as Spec;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(spec as object, 'openapi.yaml');

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The schema of `route`'s reply at `status`, or undefined when the spec has no such reply. */
function replySchema(route: string, status: number) {
  const [method, path] = route.split(' ') as [string, string];
  const response = spec.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
  if (!response) return undefined;
  const at = response.$ref ? response.$ref.slice(1) : `/${pointer('paths', path, method.toLowerCase(), 'responses', String(status))}`;
  return ajv.getSchema(`openapi.yaml#${at}/content/application~1json/schema`);
}

// The per-user bounds on WeChat calls (test/integration/user-limits.test.ts) are not this file's subject: it sends one user many.
const { stack } = useTestStack({ NICKNAME_CHECKS_PER_HOUR: '10000', PHONE_NUMBERS_PER_DAY: '1000' });
let api: HttpApi;
beforeAll(async () => {
  api = await startHttpApi(stack.deps);
});
afterAll(() => api?.close());

const seen = new Set<string>();

async function call(
  route: string,
  init: { token?: string; query?: string; body?: unknown; raw?: string; form?: FormData; headers?: Record<string, string> } = {},
) {
  const [method, path] = route.split(' ') as [string, string];
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | FormData | undefined = init.form ?? init.raw;
  if (init.body !== undefined) body = JSON.stringify(init.body);
  if (typeof body === 'string') headers['content-type'] ??= 'application/json';
  const response = await fetch(`${api.url}${path}${init.query ?? ''}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const reply = (await response.json()) as Record<string, unknown>;
  const validate = replySchema(route, response.status);
  expect(validate, `${route} answered ${response.status} ${JSON.stringify(reply)}, which openapi.yaml does not list`).toBeDefined();
  expect(validate!(reply), `${route} ${response.status} ${JSON.stringify(reply)}: ${ajv.errorsText(validate!.errors)}`).toBe(true);
  seen.add(`${route} ${response.status}`);
  return { status: response.status, body: reply };
}

const login = async (user: string) => String((await call('POST /login', { body: { code: `${user}.${Math.random()}` } })).body.token);
const userData = async (user: string) => (await fetch(`${stack.fake.url}/__fake/userinfo?user=${user}`)).json() as Promise<Record<string, string>>;
const big = 'x'.repeat(33 * 1024);

describe('replies match openapi.yaml', () => {
  it('POST /login', async () => {
    expect((await call('POST /login', { body: { code: 'spec-a.1' } })).status).toBe(200);
    expect((await call('POST /login', { raw: '{' })).body.code).toBe('INVALID_JSON');
    expect((await call('POST /login', { body: { code: 42 } })).body.code).toBe('INVALID_REQUEST');
    expect((await call('POST /login', { body: { code: 'fail-40029' } })).body.code).toBe('INVALID_CODE');
    expect((await call('POST /login', { body: { code: 'fail-40226' } })).status).toBe(403);
    expect((await call('POST /login', { body: { code: 'fail-40163' } })).status).toBe(409);
    expect((await call('POST /login', { raw: JSON.stringify({ code: big }) })).status).toBe(413);
    expect((await call('POST /login', { body: { code: 'fail-45011' } })).status).toBe(429);
    expect((await call('POST /login', { body: { code: 'fail-40999' } })).body.code).toBe('WECHAT_BAD_RESPONSE');
    // A misconfiguration (bad AppID) is our 500, not WeChat's fault (lib/wechat/errcodes.ts).
    expect((await call('POST /login', { body: { code: 'fail-40013' } })).body.code).toBe('INTERNAL');
    expect((await call('POST /login', { body: { code: 'fail--1' } })).body.code).toBe('WECHAT_BUSY');
    stack.fake.script(() => 'hang');
    expect((await call('POST /login', { body: { code: 'spec-hang.1' } })).body.code).toBe('WECHAT_TIMEOUT');
    stack.fake.script(undefined);
    // Form-encoded, as some older clients send it.
    const form = await call('POST /login', { raw: 'code=spec-form.1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(200);
  });

  it('GET /checklogin', async () => {
    const token = await login('spec-b');
    expect((await call('GET /checklogin', { token })).body).toEqual({ is_login: true });
    expect((await call('GET /checklogin', { query: `?token=${token}&verify=wechat` })).body).toEqual({ is_login: true, session_key_valid: true });
    expect((await call('GET /checklogin')).body).toEqual({ is_login: false });
  });

  it('GET /credit', async () => {
    const token = await login('spec-c');
    expect((await call('GET /credit', { token })).body).toEqual({ credit: 100 });
    expect((await call('GET /credit', { token, query: `?token=${await login('spec-c')}` })).body.code).toBe('AMBIGUOUS_TOKEN');
    expect((await call('GET /credit')).body.code).toBe('UNAUTHENTICATED');
    expect((await call('GET /credit', { token: 'A'.repeat(43) })).body.code).toBe('SESSION_INVALID');
  });

  it('POST /userinfo', async () => {
    const token = await login('spec-d');
    expect((await call('POST /userinfo', { token, body: await userData('spec-d') })).body.pass).toBe(true);
    expect((await call('POST /userinfo', { token, body: { ...(await userData('spec-d')), signature: '0'.repeat(40) } })).body).toEqual({
      pass: false,
    });
    expect((await call('POST /userinfo', { token, body: { ...(await userData('spec-d')), signature: undefined } })).body.code).toBe(
      'INVALID_REQUEST',
    );
    expect(
      (await call('POST /userinfo', { token, body: { ...(await userData('spec-e')), rawData: undefined, signature: undefined } })).body.code,
    ).toBe('DECRYPT_FAILED');
    expect((await call('POST /userinfo', { token, raw: JSON.stringify({ encryptedData: big, iv: 'x' }) })).status).toBe(413);
    expect((await call('POST /userinfo', { body: await userData('spec-d') })).status).toBe(401);
    stack.fake.rotateSessionKey('spec-d');
    expect((await call('POST /userinfo', { token, body: await userData('spec-d') })).body.code).toBe('SESSION_KEY_EXPIRED');
  });

  it('POST /phonenumber', async () => {
    const token = await login('spec-f');
    expect((await call('POST /phonenumber', { token, body: { code: 'phone-13700137000' } })).status).toBe(200);
    // Known now: asked again only with replace.
    expect((await call('POST /phonenumber', { token, body: { code: 'phone-13700137009' } })).body.code).toBe('PHONE_ALREADY_KNOWN');
    const replace = true;
    expect((await call('POST /phonenumber', { token, body: { code: 'phone-13700137000', replace } })).body.code).toBe('CODE_ALREADY_USED');
    expect((await call('POST /phonenumber', { token, body: { code: 'spec-f.9', replace } })).body.code).toBe('INVALID_CODE');
    expect((await call('POST /phonenumber', { token, body: { code: 'fail-45009', replace } })).status).toBe(429);
    expect((await call('POST /phonenumber', { token, body: { code: 'fail--1', replace } })).body.code).toBe('WECHAT_BUSY');
    expect((await call('POST /phonenumber', { token, body: { code: 'fail-1400001', replace } })).body.code).toBe('PHONE_QUOTA_EXHAUSTED');
    expect((await call('POST /phonenumber', { token, raw: JSON.stringify({ code: big }) })).status).toBe(413);
    expect((await call('POST /phonenumber', { body: { code: 'phone-13700137001' } })).status).toBe(401);
  });

  it('GET /profile, PUT /profile', async () => {
    const token = await login('spec-h');
    expect((await call('GET /profile', { token })).body).toEqual({ phone: { known: false } });
    expect((await call('GET /profile', { token, query: `?token=${await login('spec-h')}` })).status).toBe(400);
    expect((await call('GET /profile')).status).toBe(401);
    expect((await call('PUT /profile', { token, body: { nickName: 'Spec H' } })).body).toEqual({ nickName: 'Spec H', phone: { known: false } });
    expect((await call('PUT /profile', { token, body: { nickName: '' } })).status).toBe(400);
    expect((await call('PUT /profile', { body: { nickName: 'x' } })).status).toBe(401);
    expect((await call('PUT /profile', { token, raw: JSON.stringify({ nickName: big }) })).status).toBe(413);
    expect((await call('PUT /profile', { token, body: { nickName: 'risky' } })).status).toBe(422);
    expect((await call('PUT /profile', { token, body: { nickName: 'x fail-45011' } })).status).toBe(429);
    expect((await call('PUT /profile', { token, body: { nickName: 'x fail--1' } })).status).toBe(503);
    expect((await call('PUT /profile', { token, body: { nickName: 'x fail-61010' } })).status).toBe(502);
  });

  it('POST /profile/avatar', async () => {
    const token = await login('spec-i');
    const form = (data: Buffer, name = 'file') => {
      const body = new FormData();
      body.append(name, new Blob([data]), 'tmp.jpg');
      return body;
    };
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    expect((await call('POST /profile/avatar', { token, form: form(png) })).body).toEqual({ avatarUrl: expect.stringMatching(/^http:/) });
    expect((await call('GET /profile', { token })).body).toMatchObject({ avatarUrl: expect.any(String) });
    expect((await call('POST /profile/avatar', { token, form: form(Buffer.from('GIF89a')) })).body.code).toBe('INVALID_IMAGE');
    expect((await call('POST /profile/avatar', { token, form: form(png, 'image') })).body.code).toBe('INVALID_REQUEST');
    expect((await call('POST /profile/avatar', { form: form(png) })).status).toBe(401);
    const large = Buffer.concat([png, Buffer.alloc(stack.config.avatars.maxBytes)]);
    expect((await call('POST /profile/avatar', { token, form: form(large) })).body.code).toBe('IMAGE_TOO_LARGE');
  });

  it('POST /logout', async () => {
    const token = await login('spec-g');
    expect((await call('POST /logout', { token, query: `?token=${await login('spec-g')}` })).status).toBe(400);
    expect((await call('POST /logout', { token })).body).toEqual({ logged_out: true, sessions_revoked: 1 });
    expect((await call('POST /logout', { token: await login('spec-g'), query: '?all=1' })).body.sessions_revoked).toBe(2);
    expect((await call('POST /logout')).status).toBe(401);
  });

  it('POST /credit/spend, POST /credit/checkin, GET /credit/history', async () => {
    const token = await login('spec-h');
    expect((await call('POST /credit/spend', { token, body: { amount: 10, key: 'spec-spend-1', reason: 'coupon' } })).body).toMatchObject({
      credit: 90,
    });
    expect((await call('POST /credit/spend', { token, raw: '{' })).body.code).toBe('INVALID_JSON');
    expect((await call('POST /credit/spend', { token, body: { amount: 0, key: 'spec-spend-2' } })).body.code).toBe('INVALID_REQUEST');
    expect((await call('POST /credit/spend', { token, body: { amount: 1000, key: 'spec-spend-2' } })).body.code).toBe('INSUFFICIENT_CREDIT');
    expect((await call('POST /credit/spend', { token, body: { amount: 11, key: 'spec-spend-1' } })).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await call('POST /credit/spend', { token, raw: JSON.stringify({ amount: 1, key: 'spec-spend-3', reason: big }) })).status).toBe(413);
    expect((await call('POST /credit/spend', { body: { amount: 1, key: 'spec-spend-3' } })).status).toBe(401);
    expect((await call('POST /credit/checkin', { token })).body).toMatchObject({ granted: 10, streak: 1 });
    expect((await call('POST /credit/checkin', { token, query: `?token=${await login('spec-h')}` })).status).toBe(400);
    expect((await call('POST /credit/checkin')).status).toBe(401);
    const page = await call('GET /credit/history', { token, query: '?limit=1' });
    expect(page.body.next_cursor).toBeTypeOf('string');
    expect((await call('GET /credit/history', { token, query: `?cursor=${page.body.next_cursor}` })).body.entries).toHaveLength(2);
    expect((await call('GET /credit/history', { token, query: '?limit=0' })).status).toBe(400);
    expect((await call('GET /credit/history')).status).toBe(401);
  });

  it('reached every 200 and 4xx that openapi.yaml lists', () => {
    const listed = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        Object.keys(operation.responses)
          .filter((status) => status < '500')
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    expect(listed.filter((reply) => !seen.has(reply))).toEqual([]);
  });
});
