import { describe, expect, it } from 'vitest';
import { scanUsers } from '../support/invoke.ts';
import { APP_ID } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

/** WeChat's paid or quota-bound calls are bounded per user: msg_sec_check per nickname, getuserphonenumber per tap. */
// Twenty content checks at once reach the fake WeChat together: on a busy machine (two suites at once) its answers
// can take longer than the test stack's 500 ms per call, which is not what this file tests.
const { stack, client } = useTestStack({ WECHAT_TIMEOUT_MS: '3000' });

const login = async (code: string) => {
  const reply = await client.login(code);
  expect(reply.status, reply.raw).toBe(200);
  return String(reply.body.token);
};
const phoneCalls = () => stack.fake.apiCalls.filter((path) => path.endsWith('getuserphonenumber')).length;
const userItem = async (name: string) =>
  (await scanUsers(stack.admin, stack.tables)).find((user) => user.openid === stack.fake.user(name, APP_ID).openid);

describe('PUT /profile: at most NICKNAME_CHECKS_PER_HOUR (10) content checks per user per hour', () => {
  it('the 11th nickname within the hour is 429 USER_RATE_LIMITED without asking WeChat; an hour later it is allowed again', async () => {
    expect(stack.config.userLimits.nicknameChecksPerHour).toBe(10);
    const t = await login('nicklimit.1');
    for (let i = 0; i < 10; i++) expect((await client.setNickname(t, { nickName: `Name ${i}` })).status).toBe(200);
    const checked = stack.fake.checkedTexts.length;
    const refused = await client.setNickname(t, { nickName: 'One Too Many' });
    expect(refused).toMatchObject({ status: 429, body: { code: 'USER_RATE_LIMITED', err: expect.stringContaining('hour') } });
    expect(stack.fake.checkedTexts.length).toBe(checked);
    expect((await client.profile(t)).body).toMatchObject({ nickName: 'Name 9' });

    // Refused nicknames (risky) count too: each was a call to WeChat. A malformed one (400) does not: WeChat was not asked.
    stack.clock.advanceSeconds(3600);
    expect((await client.setNickname(t, { nickName: '' })).status).toBe(400);
    expect((await client.setNickname(t, { nickName: 'Back Again' })).status).toBe(200);
  });

  it('is per user: another user is not limited by the first', async () => {
    const a = await login('nicklimit-a.1');
    const b = await login('nicklimit-b.1');
    for (let i = 0; i < 10; i++) await client.setNickname(a, { nickName: `risky ${i}` });
    expect((await client.setNickname(a, { nickName: 'Fine' })).status).toBe(429);
    expect((await client.setNickname(b, { nickName: 'Fine' })).status).toBe(200);
  });

  it('20 simultaneous nicknames of one user: exactly 10 reach WeChat, the rest get 429', async () => {
    const t = await login('nicklimit-burst.1');
    const before = stack.fake.checkedTexts.length;
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.setNickname(t, { nickName: `Burst ${i}` })));
    expect(
      replies.map((reply) => reply.status).sort(),
      JSON.stringify(replies.filter((reply) => reply.status !== 200 && reply.status !== 429).map((reply) => reply.raw)),
    ).toEqual([...Array(10).fill(200), ...Array(10).fill(429)]);
    expect(replies.filter((reply) => reply.status === 429)).toHaveLength(10);
    expect(stack.fake.checkedTexts.length - before).toBe(10);
    // The counter is on the user: its count and when its window opened (the injected clock's ms).
    expect(await userItem('nicklimit-burst')).toMatchObject({ nickNameChecks: 10, nickNameChecksSinceMs: expect.any(Number), credit: 100 });
  });
});

describe('POST /phonenumber: at most PHONE_NUMBERS_PER_DAY (3) paid exchanges per user per day', () => {
  it('a 4th exchange within the day (replace: true) is 429 USER_RATE_LIMITED without asking WeChat; a day later it is allowed', async () => {
    expect(stack.config.userLimits.phoneNumbersPerDay).toBe(3);
    const t = await login('phonelimit.1');
    expect((await client.phonenumber(t, { code: 'phone-13800138000' })).status).toBe(200);
    expect((await client.phonenumber(t, { code: 'phone-13800138001', replace: true })).status).toBe(200);
    expect((await client.phonenumber(t, { code: 'phone-13800138002', replace: true })).status).toBe(200);
    // A known number without replace is 409 before the limit is looked at: WeChat is not asked, nothing counted.
    expect((await client.phonenumber(t, { code: 'phone-13800138009' })).status).toBe(409);
    const calls = phoneCalls();
    const refused = await client.phonenumber(t, { code: 'phone-13800138003', replace: true });
    expect(refused).toMatchObject({ status: 429, body: { code: 'USER_RATE_LIMITED', err: expect.stringContaining('day') } });
    expect(phoneCalls()).toBe(calls);
    expect((await client.profile(t)).body).toMatchObject({ phone: { known: true, masked: '138****8002' } });

    stack.clock.advanceSeconds(86_400);
    expect((await client.phonenumber(t, { code: 'phone-13800138004', replace: true })).status).toBe(200);
  });
});
