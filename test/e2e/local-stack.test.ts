import { type ChildProcess, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startFakeWeChat } from '../../local/fake-wechat.ts';
import { type StackProcess, spawnLocalStack } from '../../local/stack-process.ts';
import { ROOT } from '../../local/state.ts';
import { userInfoPayload } from '../../local/wechat-data.ts';

/** The functions' timeout in serverless.yml, which serverless-offline hands the handlers as their remaining time. */
const LAMBDA_TIMEOUT_MS = Number(parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')).provider.timeout) * 1000;

let running: ChildProcess | undefined;
// After a failed test: SIGTERM lets npm start stop its children; SIGKILL would orphan them.
afterEach(async () => {
  const child = running;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function startStack(env: Record<string, string>): Promise<StackProcess> {
  const stack = await spawnLocalStack(env);
  running = stack.child;
  return stack;
}

const isListening = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const post = (url: string, body: unknown, token?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('npm start, end to end over HTTP through serverless-offline', () => {
  it('serves the whole API with the built-in fake WeChat, `npm run try` passes against it, and SIGTERM stops every child', async () => {
    // A second mini-program, registered with the handlers and the built-in fake alike.
    const stack = await startStack({ WECHAT_APPS: 'wxfedcba0987654321=e2e-secret-of-app-b' });
    expect(stack.state.api).toBe(stack.api);
    // A body that is not JSON, refused before any I/O. Its deadline backstop once outlived it and, when Lambda's
    // remaining time had passed, rejected unhandled: serverless-offline exited and the whole local API was gone.
    const malformed = await fetch(`${stack.api}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x' });
    expect(malformed.status).toBe(400);
    const malformedAt = performance.now();

    const tried = spawnSync(process.execPath, ['--import', 'tsx', 'local/try.ts'], {
      cwd: ROOT,
      env: { ...process.env, API_URL: stack.api, FAKE_WECHAT_URL: stack.state.wechat },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(tried.stdout).toContain('All steps behaved as the contract says.');
    expect(tried.status).toBe(0);

    const bad = await post(`${stack.api}/login`, { code: 42 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    // serverless-offline hands a JSON scalar body to the handler as a number: still a client mistake.
    for (const scalar of [0, true]) {
      const odd = await post(`${stack.api}/login`, scalar);
      expect(odd.status, String(scalar)).toBe(400);
      expect(await odd.json(), String(scalar)).toMatchObject({ code: 'INVALID_REQUEST' });
    }

    const second = await post(`${stack.api}/login`, { code: 'kim.1', appid: 'wxfedcba0987654321' });
    expect(second.status).toBe(200);
    const secondToken = ((await second.json()) as { token: string }).token;
    const secondCredit = await fetch(`${stack.api}/credit`, {
      headers: { authorization: `Bearer ${secondToken}`, 'x-wx-appid': 'wxfedcba0987654321' },
    });
    expect(await secondCredit.json()).toEqual({ credit: 100 });
    // The operator's CLI against this running stack (found through its state file), on the same tables.
    const { openid } = (await (await fetch(`${stack.state.wechat}/__fake/user?user=kim&appid=wxfedcba0987654321`)).json()) as { openid: string };
    const admin = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'admin/cli.ts',
        'grant',
        '--appid',
        'wxfedcba0987654321',
        '--openid',
        openid,
        '--amount',
        '50',
        '--key',
        'e2e-grant-0001',
        '--reason',
        'e2e',
      ],
      { cwd: ROOT, env: { ...process.env, LOCAL_STACK_FILE: stack.stateFile }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(admin.status, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout)).toMatchObject({ credit: 150, entry: { amount: 50, reason: 'e2e' } });
    const granted = await fetch(`${stack.api}/credit`, { headers: { authorization: `Bearer ${secondToken}`, 'x-wx-appid': 'wxfedcba0987654321' } });
    expect(await granted.json()).toEqual({ credit: 150 });
    // Locally there is no SSM: an app neither default nor in WECHAT_APPS is simply unknown.
    const stranger = await post(`${stack.api}/login`, { code: 'kim.2', appid: 'wx0000000000000001' });
    expect(await stranger.json()).toMatchObject({ code: 'UNKNOWN_APP' });
    expect(stack.output()).not.toContain('e2e-secret-of-app-b');

    // An avatar through serverless-offline (multipart, base64 to the handler, as API Gateway hands it over) to s3rver, and back.
    const avatarToken = ((await (await post(`${stack.api}/login`, { code: 'ava-e2e.1' })).json()) as { token: string }).token;
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))]);
    const form = new FormData();
    form.append('file', new Blob([jpeg]), 'tmp_e2e.jpg');
    const uploaded = await fetch(`${stack.api}/profile/avatar`, { method: 'POST', headers: { authorization: `Bearer ${avatarToken}` }, body: form });
    const { avatarUrl } = (await uploaded.json()) as { avatarUrl: string };
    expect(uploaded.status, avatarUrl).toBe(200);
    expect(avatarUrl.startsWith(`${stack.state.s3}/${stack.state.bucket}/avatars/`)).toBe(true);
    const profile = (await (await fetch(`${stack.api}/profile`, { headers: { authorization: `Bearer ${avatarToken}` } })).json()) as {
      avatarUrl: string;
    };
    const fetched = await fetch(profile.avatarUrl);
    expect(fetched.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(jpeg);
    // The bound itself, through serverless-offline: exactly 1 MiB is taken, one byte more is our JSON 413.
    const upload = async (size: number) => {
      const body = new FormData();
      body.append('file', new Blob([Buffer.concat([jpeg, Buffer.alloc(size - jpeg.length)])]), 'tmp_big.jpg');
      const reply = await fetch(`${stack.api}/profile/avatar`, { method: 'POST', headers: { authorization: `Bearer ${avatarToken}` }, body });
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
    };
    expect((await upload(1_048_576)).status).toBe(200);
    expect(await upload(1_048_577)).toMatchObject({ status: 413, body: { code: 'IMAGE_TOO_LARGE' } });

    // Past the malformed request's whole budget (the functions' 28 s timeout): the stack still answers, and still runs.
    const waitMs = LAMBDA_TIMEOUT_MS + 1_000 - (performance.now() - malformedAt);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    const later = await fetch(`${stack.api}/credit`, { headers: { authorization: `Bearer ${avatarToken}` } });
    expect(later.status).toBe(200);
    expect(stack.child.exitCode).toBeNull();

    expect(await stack.stop()).toBe(0);
    expect(await isListening(String(stack.state.s3))).toBe(false);
    expect(await isListening(stack.state.dynamodb)).toBe(false);
    expect(await isListening(stack.state.wechat)).toBe(false);
    expect(await isListening(stack.api)).toBe(false);
  });

  it('passes WECHAT_API_BASE, WECHAT_APPID, WECHAT_SECRET and SESSION_TTL_SECONDS through to the handlers', async () => {
    const appId = 'wxabcdefabcdef0123';
    const secret = 'e2e-secret-given-by-env';
    const wechat = await startFakeWeChat({ appId, secret });
    try {
      const stack = await startStack({ WECHAT_API_BASE: wechat.url, WECHAT_APPID: appId, WECHAT_SECRET: secret, SESSION_TTL_SECONDS: '5' });
      expect(stack.state.wechat).toBe(wechat.url);

      const login = await post(`${stack.api}/login`, { code: 'judy.1' });
      const loginBody = (await login.json()) as { token: string; expires_in: number };
      const { token, expires_in } = loginBody;
      expect(loginBody, JSON.stringify(loginBody)).toHaveProperty('token');
      expect(login.status).toBe(200);
      expect(expires_in).toBe(5);
      expect(wechat.codes).toEqual(['judy.1']);

      const checked = await fetch(`${stack.api}/checklogin?token=${token}`);
      expect(await checked.json()).toEqual({ is_login: true });
      const credit = await fetch(`${stack.api}/credit`, { headers: { authorization: `Bearer ${token}` } });
      expect(await credit.json()).toEqual({ credit: 100 });

      const data = userInfoPayload({ ...wechat.user('judy'), appId, nickName: 'Judy' });
      const info = await post(`${stack.api}/userinfo`, data, token);
      expect(await info.json()).toMatchObject({ pass: true, userInfo: { nickName: 'Judy' } });

      expect(stack.output()).not.toContain(secret);
      expect(stack.output()).not.toContain(token);
      expect(stack.output()).not.toContain(wechat.user('judy').sessionKey);
      expect(await stack.stop()).toBe(0);
    } finally {
      await wechat.close();
    }
  });
});
