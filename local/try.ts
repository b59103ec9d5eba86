/**
 * `npm run try`: plays a mini-program against the API that `npm start` runs:
 * login, checklogin, credit, userinfo (with data encrypted like WeChat's client
 * does), a second login of the same user. Prints each step; exits non-zero if
 * any reply is not what the contract says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { STATE_FILE } from './state.ts';

const state = existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Record<string, unknown>) : {};
const api = process.env.API_URL ?? (state.api as string | undefined);
const wechat = process.env.FAKE_WECHAT_URL ?? (state.fakeWeChat ? String(state.wechat) : undefined);
if (!api) {
  console.error('No running API found: start it with `npm start` (or set API_URL).');
  process.exit(1);
}

let failed = false;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by each step
async function step(title: string, path: string, init: RequestInit, expect: (status: number, body: any) => boolean): Promise<any> {
  const response = await fetch(`${api}${path}`, init);
  const body = await response.json();
  const ok = expect(response.status, body);
  failed ||= !ok;
  console.log(`${ok ? '✔' : '✘'} ${title}\n    ${init.method ?? 'GET'} ${path} -> ${response.status} ${JSON.stringify(body)}`);
  return body;
}
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

const user = `demo${Math.floor(Math.random() * 1e6)}`;
console.log(`Playing mini-program user "${user}" against ${api}\n`);

const { token } = await step(
  'wx.login() code -> our session token',
  '/login',
  json({ code: `${user}.1` }),
  (s, b) => s === 200 && typeof b.token === 'string',
);
const shown = `${String(token).slice(0, 6)}…`;
await step(`checklogin with the token (${shown})`, '/checklogin', { headers: bearer(token) }, (s, b) => s === 200 && b.is_login === true);
await step('checklogin with a made-up token', '/checklogin?token=token_1700000000000', {}, (s, b) => s === 200 && b.is_login === false);
const { credit } = await step('credit of a new user', '/credit', { headers: bearer(token) }, (s, b) => s === 200 && Number.isInteger(b.credit));

if (wechat) {
  const data = await (await fetch(`${wechat}/__fake/userinfo?user=${user}&nickName=Demo`)).json();
  await step(
    'userinfo: encryptedData + iv + rawData + signature',
    '/userinfo',
    { ...json(data), headers: { ...bearer(token), 'content-type': 'application/json' } },
    (s, b) => s === 200 && b.pass === true && b.userInfo?.nickName === 'Demo',
  );
} else {
  console.log('- userinfo skipped: WECHAT_API_BASE points at a WeChat that is not the built-in fake');
}
await step(
  'phone number from the getPhoneNumber button code',
  '/phonenumber',
  { ...json({ code: 'phone-13800138000' }), headers: { ...bearer(token), 'content-type': 'application/json' } },
  (s, b) => s === 200 && b.purePhoneNumber === '13800138000',
);
await step(
  'a wx.login() code sent to /phonenumber by mistake',
  '/phonenumber',
  { ...json({ code: `${user}.9` }), headers: { ...bearer(token), 'content-type': 'application/json' } },
  (s, b) => s === 400 && b.code === 'INVALID_CODE',
);
await step(
  'checklogin?verify=wechat asks WeChat about the session_key',
  '/checklogin?verify=wechat',
  { headers: bearer(token) },
  (s, b) => s === 200 && b.session_key_valid === true,
);
if (wechat) {
  await fetch(`${wechat}/__fake/rotate-session-key?user=${user}`);
  const rotated = await (await fetch(`${wechat}/__fake/userinfo?user=${user}`)).json();
  await step(
    'after a later wx.login() (session_key rotated), userinfo says so',
    '/userinfo',
    { ...json(rotated), headers: { ...bearer(token), 'content-type': 'application/json' } },
    (s, b) => s === 401 && b.code === 'SESSION_KEY_EXPIRED',
  );
}
const second = await step('the same user logs in again', '/login', json({ code: `${user}.2` }), (s, b) => s === 200 && b.token !== token);
await step('credit is kept across logins', '/credit', { headers: bearer(second.token) }, (s, b) => s === 200 && b.credit === credit);
await step('credit without a token is a 401', '/credit', {}, (s, b) => s === 401 && b.code === 'UNAUTHENTICATED');
await step('logout everywhere', '/logout?all=1', { method: 'POST', headers: bearer(second.token) }, (s, b) => s === 200 && b.sessions_revoked === 2);
await step('checklogin after logout', '/checklogin', { headers: bearer(token) }, (s, b) => s === 200 && b.is_login === false);

console.log(failed ? '\nSome steps did not go as the contract says.' : '\nAll steps behaved as the contract says.');
process.exit(failed ? 1 : 0);
