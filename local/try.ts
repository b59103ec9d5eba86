/**
 * `npm run try`: plays a mini-program against the API that `npm start` runs,
 * through the mini-program client (client/src) with a Node `wx`
 * (local/node-wx.ts): login, checklogin, credit, userinfo (with data encrypted
 * like WeChat's client does), the profile (nickname, avatar upload and its URL),
 * the phone number (asked once), spending points, the daily check-in and the
 * credit history, a rotated session_key, a
 * second login of the same user, logging out everywhere. Prints each step
 * with the request it made; exits non-zero if any reply is not what the
 * contract says.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, createClient, type UserData } from '../client/src/index.ts';
import { nodeWx } from './node-wx.ts';
import { STATE_FILE } from './state.ts';

const state = existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Record<string, unknown>) : {};
const api = process.env.API_URL ?? (state.api as string | undefined);
const wechat = process.env.FAKE_WECHAT_URL ?? (state.fakeWeChat ? String(state.wechat) : undefined);
if (!api) {
  console.error('No running API found: start it with `npm start` (or set API_URL).');
  process.exit(1);
}

const user = `demo${Math.floor(Math.random() * 1e6)}`;
const wx = nodeWx({ user });
const client = createClient({ baseUrl: api, wx });

/** Tokens are shortened in what is printed: a secret, even a local one, is not for the terminal. */
const shown = (body: unknown) => JSON.stringify(body).replace(/("token":")([^"]{6})[^"]*/g, '$1$2…');

let failed = false;
/** Runs one step through the client; `expect` judges what it resolved with, or the ApiError it rejected with. */
async function step(title: string, run: () => Promise<any>, expect: (reply: any) => boolean): Promise<any> {
  const before = wx.exchanges.length;
  const reply = await run().catch((err: unknown) => {
    if (err instanceof ApiError) return err;
    throw err;
  });
  const ok = expect(reply);
  failed ||= !ok;
  console.log(`${ok ? '✔' : '✘'} ${title}`);
  for (const e of wx.exchanges.slice(before))
    console.log(`    ${e.method} ${e.path.replace(/token=[^&]+/, 'token=…')} -> ${e.status} ${shown(e.body)}`);
  if (reply instanceof ApiError && wx.exchanges.length === before) console.log(`    (no request) ${reply.code}: ${reply.message}`);
  return reply;
}
const isError = (reply: unknown, status: number, code: string) => reply instanceof ApiError && reply.status === status && reply.code === code;
const fakeUserData = async (name: string, nickName?: string) =>
  (await (await fetch(`${wechat}/__fake/userinfo?user=${name}${nickName ? `&nickName=${nickName}` : ''}`)).json()) as UserData;

console.log(`Playing mini-program user "${user}" against ${api}, through the client\n`);

const { token } = await step(
  'wx.login() code -> our session token',
  () => client.login(),
  (r) => typeof r.token === 'string' && wx.logins === 1,
);
await step(
  'checklogin with the token',
  () => client.checkLogin(),
  (r) => r.is_login === true,
);
await step(
  'checklogin with a made-up token',
  () => client.request('/checklogin?token=token_1700000000000', { auth: false }),
  (r) => r.is_login === false,
);
const { credit } = await step(
  'credit of a new user (no new login: the token is kept)',
  () => client.credit(),
  (r) => Number.isInteger(r.credit) && wx.logins === 1,
);

if (wechat) {
  await step(
    'userinfo: encryptedData + iv + rawData + signature',
    async () => client.userInfo(await fakeUserData(user, 'Demo')),
    (r) => r.pass === true && r.userInfo?.nickName === 'Demo',
  );
} else {
  console.log('- userinfo skipped: WECHAT_API_BASE points at a WeChat that is not the built-in fake');
}
await step(
  'phone number from the getPhoneNumber button code',
  () => client.phoneNumber('phone-13800138000'),
  (r) => r.purePhoneNumber === '13800138000',
);
await step(
  'the number is known now: asking again is refused without WeChat (it costs money)',
  () => client.phoneNumber('phone-13900139000'),
  (r) => isError(r, 409, 'PHONE_ALREADY_KNOWN'),
);
await step(
  'a wx.login() code sent to /phonenumber by mistake (to replace the number)',
  () => client.phoneNumber(`${user}.9`, { replace: true }),
  (r) => isError(r, 400, 'INVALID_CODE'),
);
if (wechat) {
  await step(
    'nickname from <input type="nickname">, checked by msg_sec_check',
    () => client.setNickname(' Demo 小明 '),
    (r) => r.nickName === 'Demo 小明' && r.phone?.known === true,
  );
  await step(
    'a nickname WeChat finds risky is refused',
    () => client.setNickname('risky words'),
    (r) => isError(r, 422, 'CONTENT_REJECTED'),
  );
}
const dir = mkdtempSync(join(tmpdir(), 'try-avatar-'));
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
writeFileSync(join(dir, 'tmp_avatar.png'), png);
const { avatarUrl } = await step(
  'avatar from <button open-type="chooseAvatar">, sent with wx.uploadFile',
  () => client.uploadAvatar(join(dir, 'tmp_avatar.png')),
  (r) => typeof r.avatarUrl === 'string',
);
rmSync(dir, { recursive: true, force: true });
if (avatarUrl) {
  const loaded = Buffer.from(await (await fetch(avatarUrl)).arrayBuffer());
  const same = loaded.equals(png);
  failed ||= !same;
  console.log(`${same ? '✔' : '✘'} the avatarUrl loads the same image without any header (as <image src> does)`);
}
await step(
  'the profile: nickname, avatar URL, phone known and masked',
  () => client.getProfile(),
  (r) => typeof r.avatarUrl === 'string' && r.phone?.known === true && r.phone.masked === '138****8000',
);
await step(
  'checklogin?verify=wechat asks WeChat about the session_key',
  () => client.checkLogin({ verify: true }),
  (r) => r.is_login === true && r.session_key_valid === true,
);
if (wechat) {
  await fetch(`${wechat}/__fake/rotate-session-key?user=${user}`);
  const rotated = await fakeUserData(user);
  await step(
    'after a wx.login() elsewhere (session_key rotated), userinfo says so and the client logs in again',
    () => client.userInfo(rotated),
    (r) => isError(r, 401, 'SESSION_KEY_EXPIRED') && wx.logins === 2,
  );
  await step(
    'data fetched after that new login decrypts',
    async () => client.userInfo(await fakeUserData(user, 'Again')),
    (r) => r.pass === true && r.userInfo?.nickName === 'Again',
  );
}
// The key names the purchase (here an order), so every attempt of it sends the same one.
const order = { amount: 30, key: `${user}-order-1`, reason: 'coupon' };
await step(
  'spend 30 points for an order, its id as the idempotency key',
  () => client.spend(order),
  (r) => r.credit === credit - 30 && r.entry.amount === -30 && r.entry.reason === 'coupon',
);
await step(
  'the same order again (a retry): the same reply, spent once',
  () => client.spend(order),
  (r) => r.credit === credit - 30,
);
await step(
  'spending more than the balance is a 409, nothing spent',
  () => client.spend({ amount: 1_000_000, key: `${user}-order-2` }),
  (r) => isError(r, 409, 'INSUFFICIENT_CREDIT'),
);
const { granted } = await step(
  "today's check-in",
  () => client.checkin(),
  (r) => r.granted > 0 && r.streak === 1 && r.credit === credit - 30 + r.granted,
);
await step(
  'a second check-in today grants nothing',
  () => client.checkin(),
  (r) => r.granted === 0,
);
await step(
  'the history, newest first: check-in, spend, sign-up grant',
  () => client.history({ limit: 10 }),
  (r) => r.entries.map((e: { reason: string }) => e.reason).join() === 'checkin,coupon,signup' && r.next_cursor === undefined,
);
const balance = credit - 30 + granted;
await step(
  'the same user logs in again',
  () => client.login(),
  (r) => typeof r.token === 'string' && r.token !== token,
);
await step(
  'credit is kept across logins',
  () => client.credit(),
  (r) => r.credit === balance,
);
await step(
  'credit without a token is a 401',
  () => client.request('/credit', { auth: false }),
  (r) => isError(r, 401, 'UNAUTHENTICATED'),
);
// Every login made a session: the first, the one after the rotated key (with the fake), the second.
await step(
  'logout everywhere',
  () => client.logout({ all: true }),
  (r) => r.logged_out === true && r.sessions_revoked === wx.logins,
);
await step(
  'checklogin with the first token after logout',
  () => client.request(`/checklogin?token=${token}`, { auth: false }),
  (r) => r.is_login === false,
);
await step(
  'the client knows it is logged out: no request',
  () => client.checkLogin(),
  (r) => r.is_login === false,
);

console.log(failed ? '\nSome steps did not go as the contract says.' : '\nAll steps behaved as the contract says.');
process.exit(failed ? 1 : 0);
