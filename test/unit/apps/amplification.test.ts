/**
 * #19 item 2: a login naming a well-formed but unregistered AppID must not cost an SSM call each, nor memory each.
 * Through the real wiring (loginDeps) and the real SigV4 SSM calls, against a stand-in for ssm.<region>.amazonaws.com.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '#lib/config';
import type { AppError } from '#lib/kernel/errors';
import { appOfLogin } from '#lib/session/login';
import { loginDeps } from '#lib/wiring';
import { STACK_RESOURCES_ENV } from '../../support/config-env.ts';

const DEFAULT = 'wx1111111111111111';
const SHOP = 'wx2222222222222222';
const PATH = '/wechat-login/prod/apps/';
const env = {
  WECHAT_APPID: DEFAULT,
  WECHAT_SECRET: 'default-app-secret',
  WECHAT_APPS_PARAM_PATH: PATH,
  APPS_CACHE_SECONDS: '60',
  ...STACK_RESOURCES_ENV,
  AWS_REGION: 'ap-east-1',
};

/** A stand-in for SSM: SHOP is registered under PATH; `fail` makes every call a ThrottlingException. */
function fakeSsm() {
  const calls: string[] = [];
  let fail = false;
  const answer = (status: number, json: unknown) =>
    new Response(JSON.stringify(json), { status, headers: { 'content-type': 'application/x-amz-json-1.1' } });
  const fetch = vi.fn(async (_url: unknown, init?: RequestInit): Promise<Response> => {
    const target = String(new Headers(init?.headers).get('x-amz-target'));
    const body = JSON.parse(String(init?.body)) as { Name?: string; Path?: string };
    calls.push(target);
    if (fail) return answer(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
    if (target === 'AmazonSSM.GetParametersByPath') {
      return answer(200, { Parameters: body.Path?.replace(/\/?$/, '/') === PATH ? [{ Name: `${PATH}${SHOP}`, Value: 'shop-secret-1' }] : [] });
    }
    if (body.Name === `${PATH}${SHOP}`) return answer(200, { Parameter: { Name: body.Name, Value: 'shop-secret-1' } });
    return answer(400, { __type: 'ParameterNotFound', message: `Parameter ${body.Name} not found.` });
  });
  return { fetch, calls, failing: (on: boolean) => (fail = on) };
}

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (seconds: number) => (now += seconds * 1000) };
}

/** An AppID nobody registered: wx + 16 hex digits from i. */
const madeUp = (i: number) => `wx${(0xabc0_0000_0000_0000n + BigInt(i)).toString(16)}`;

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

beforeEach(() => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('made-up AppIDs do not amplify into SSM (#19)', () => {
  it('N distinct unregistered AppIDs cost at most one SSM call per APPS_CACHE_SECONDS, and each is a 400 UNKNOWN_APP', async () => {
    const ssm = fakeSsm();
    const time = clock();
    const deps = loginDeps(readConfig(env), { fetch: ssm.fetch, now: time.now });
    for (let period = 0; period < 3; period++) {
      const before = ssm.calls.length;
      const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => refusal(appOfLogin(deps, madeUp(period * 1000 + i)))));
      for (const reply of replies) expect((reply as AppError).code).toBe('UNKNOWN_APP');
      expect(ssm.calls.length - before, `period ${period}`).toBeLessThanOrEqual(1);
      // The registered app is found, without another call.
      expect((await appOfLogin(deps, SHOP)).appId).toBe(SHOP);
      expect(ssm.calls.length - before, `period ${period}`).toBeLessThanOrEqual(1);
      time.advance(60);
    }
  });

  it('while SSM throttles: still at most one listing (its retries included) per APPS_CACHE_SECONDS, whatever is sent; never a 400 for an app we could not look up', async () => {
    const ssm = fakeSsm();
    const time = clock();
    const deps = loginDeps(readConfig(env), { fetch: ssm.fetch, now: time.now });
    ssm.failing(true);
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => refusal(appOfLogin(deps, madeUp(i)))));
    for (const reply of replies) expect(reply).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    // One listing: its first page, tried three times at most.
    expect(ssm.calls.length).toBeGreaterThan(0);
    expect(ssm.calls.length).toBeLessThanOrEqual(3);
    const spent = ssm.calls.length;
    time.advance(59);
    await Promise.all(Array.from({ length: 100 }, (_, i) => refusal(appOfLogin(deps, madeUp(1000 + i)))));
    expect(ssm.calls.length, 'no further SSM call within the period').toBe(spent);
    // The default app needs no listing.
    expect((await appOfLogin(deps, DEFAULT)).appId).toBe(DEFAULT);
    ssm.failing(false);
    time.advance(1);
    expect(await refusal(appOfLogin(deps, madeUp(5000)))).toMatchObject({ code: 'UNKNOWN_APP' });
    expect((await appOfLogin(deps, SHOP)).appId).toBe(SHOP);
  });

  it('memory stays bounded: 50,000 distinct unregistered AppIDs leave nothing behind', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const ssm = fakeSsm();
    const time = clock();
    const deps = loginDeps(readConfig(env), { fetch: ssm.fetch, now: time.now });
    await refusal(appOfLogin(deps, madeUp(0)));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => refusal(appOfLogin(deps, madeUp(1 + batch * 1000 + i)))));
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // ~1.3 KB an AppID would be ~65 MB; a few hundred bytes each, still over 10 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  }, 60_000);
});
