import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { allDeps } from '#lib/wiring';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { apiEvent } from '../support/event.ts';
import { ENDPOINTS, type Endpoint, ROUTES } from '../support/handlers.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { IMAGES, uploadFileBody } from '../support/multipart.ts';
import { type RawHttpServer, startRawHttpServer } from '../support/raw-http.ts';
import { APP_ID } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * Every request has a deadline: Lambda's remaining time less a margin for the
 * reply. With every dependency at its worst (a DynamoDB that accepts and never
 * answers, a WeChat that hangs, with bounds far above the time left), each
 * endpoint still replies with the contract's JSON 503/504 before Lambda would
 * cut it off, and logs it. Lambda's remaining time is given as 2.5 s here, not
 * the 28 s of production, so nothing sleeps long; the DynamoDB
 * that never answers takes 3 s to give up on its own, WeChat 4 s a call.
 */
const REMAINING_MS = 2500;
// WeChat's per-attempt bound well above the time left, so only the deadline can end the wait.
const { stack, client } = useTestStack({ WECHAT_TIMEOUT_MS: '4000' });
let silentDynamo: RawHttpServer;

beforeAll(async () => {
  // Accepts connections and never answers: every DynamoDB call waits out its own timeouts (7.5 s in all).
  silentDynamo = await startRawHttpServer(() => undefined);
  // A warm stack: the first call to a fresh table is slower than the deadline tests can allow for.
  await client.login('warmup.1');
});
// Each test starts without a shared access token or a refresh lease left by the one before.
beforeEach(() => stack.admin.send(new DeleteItemCommand({ TableName: stack.tables.appCache, Key: { id: { S: `access-token#${APP_ID}` } } })));
afterAll(() => silentDynamo?.close());

type Handler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

async function expectReplyInTime(handler: Handler, event: APIGatewayProxyEventV2, status: number, code: string) {
  const started = performance.now();
  const reply = await handler(event, lambdaContext(REMAINING_MS));
  const elapsed = performance.now() - started;
  expect({ status: reply.statusCode, body: JSON.parse(reply.body ?? '') }).toEqual({ status, body: { err: expect.any(String), code } });
  expect(elapsed, 'replied before Lambda would have ended the request').toBeLessThan(REMAINING_MS);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const { login, checklogin, phonenumber, nickname, userinfo, avatar } = Object.fromEntries(
  ENDPOINTS.map((name) => [name, ROUTES[name].create]),
) as Record<Endpoint, (typeof ROUTES)[Endpoint]['create']>;
/** The endpoint's own route (the route table's method and path), with the rest of the event. */
const routed = (name: Endpoint, input: Omit<NonNullable<Parameters<typeof apiEvent>[0]>, 'method' | 'path'>) =>
  apiEvent({ method: ROUTES[name].method, path: ROUTES[name].path, ...input });
const avatarEvent = (token: string) => {
  const upload = uploadFileBody(IMAGES.jpeg);
  return routed('avatar', { headers: { ...bearer(token), 'content-type': upload.contentType }, body: upload.body });
};

describe('a deadline on every request: DynamoDB that never answers', () => {
  const silent = () => allDeps({ ...stack.config, dynamodbEndpoint: silentDynamo.url });
  const token = `${'A'.repeat(22)}.${'A'.repeat(43)}`;
  // Each route's request (its method and path from the route table): a route added there without one here does not compile.
  const requests: Record<Endpoint, () => APIGatewayProxyEventV2> = {
    login: () => routed('login', { body: { code: 'deadline.1' } }),
    checklogin: () => routed('checklogin', { headers: bearer(token) }),
    credit: () => routed('credit', { headers: bearer(token) }),
    userinfo: () => routed('userinfo', { headers: bearer(token), body: { encryptedData: 'AAAA', iv: 'AAAA' } }),
    phonenumber: () => routed('phonenumber', { headers: bearer(token), body: { code: 'phone-1' } }),
    logout: () => routed('logout', { headers: bearer(token) }),
    spend: () => routed('spend', { headers: bearer(token), body: { amount: 1, key: 'deadline-spend-1' } }),
    checkin: () => routed('checkin', { headers: bearer(token) }),
    history: () => routed('history', { headers: bearer(token) }),
    profile: () => routed('profile', { headers: bearer(token) }),
    nickname: () => routed('nickname', { headers: bearer(token), body: { nickName: 'Late' } }),
    avatar: () => avatarEvent(token),
  };
  it.each(ENDPOINTS)('%s replies 503 STORAGE_UNAVAILABLE before the deadline', async (name) => {
    await expectReplyInTime(ROUTES[name].create(silent()), requests[name](), 503, 'STORAGE_UNAVAILABLE');
  });
});

describe('a deadline on every request: WeChat that hangs', () => {
  // Every WeChat call (jscode2session, stable_token, checksession, getuserphonenumber) hangs.
  const hung = () => allDeps({ ...stack.config, wechatApiBase: silentDynamo.url });

  it('login replies 504 WECHAT_TIMEOUT before the deadline, and gives the code back in time: a retry asks WeChat at once', async () => {
    await expectReplyInTime(login(hung()), routed('login', { body: { code: 'hung.1' } }), 504, 'WECHAT_TIMEOUT');
    const started = performance.now();
    expect((await client.login('hung.1')).status).toBe(200);
    // Not left waiting for a claim to go stale (seconds): the claim was released.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('checklogin?verify=wechat replies 504 WECHAT_TIMEOUT before the deadline', async () => {
    const token = String((await client.login('verifier.1')).body.token);
    const event = routed('checklogin', { headers: bearer(token), query: { verify: 'wechat' } });
    await expectReplyInTime(checklogin(hung()), event, 504, 'WECHAT_TIMEOUT');
  });

  it('phonenumber replies 504 WECHAT_TIMEOUT before the deadline', async () => {
    const token = String((await client.login('caller.1')).body.token);
    const event = routed('phonenumber', { headers: bearer(token), body: { code: 'phone-13800138000' } });
    await expectReplyInTime(phonenumber(hung()), event, 504, 'WECHAT_TIMEOUT');
  });

  it('PUT /profile replies 504 WECHAT_TIMEOUT before the deadline, and saves nothing', async () => {
    const token = String((await client.login('namer.1')).body.token);
    const event = routed('nickname', { headers: bearer(token), body: { nickName: 'Unchecked' } });
    await expectReplyInTime(nickname(hung()), event, 504, 'WECHAT_TIMEOUT');
    expect((await client.profile(token)).body).toEqual({ phone: { known: false } });
  });

  it("an instance that waits for another instance's access-token refresh replies 503 WECHAT_BUSY before the deadline", async () => {
    const token = String((await client.login('waiter.1')).body.token);
    const event = () => routed('checklogin', { headers: bearer(token), query: { verify: 'wechat' } });
    // The first instance takes the refresh lease and hangs at WeChat; the second has no token and waits for the first.
    const first = checklogin(hung())(event(), lambdaContext(REMAINING_MS));
    await vi.waitFor(async () => {
      const { Item } = await stack.admin.send(
        new GetItemCommand({ TableName: stack.tables.appCache, Key: { id: { S: `access-token#${APP_ID}` } }, ConsistentRead: true }),
      );
      expect(Item?.leaseId, 'the first instance holds the refresh lease').toBeDefined();
    });
    await expectReplyInTime(checklogin(hung()), event(), 503, 'WECHAT_BUSY');
    await first;
  });

  it('userinfo whose data needs a session_key check replies 400 DECRYPT_FAILED before the deadline (WeChat could not say)', async () => {
    const token = String((await client.login('reader.1')).body.token);
    const other = userInfoPayload({ ...stack.fake.user('someone-else'), appId: APP_ID, nickName: 'X' });
    const event = routed('userinfo', { headers: bearer(token), body: other });
    await expectReplyInTime(userinfo(hung()), event, 400, 'DECRYPT_FAILED');
  });
});

describe('a deadline on every request: S3 that never answers', () => {
  it('POST /profile/avatar replies 503 STORAGE_UNAVAILABLE before the deadline, and the profile is unchanged', async () => {
    const token = String((await client.login('uploader.1')).body.token);
    const stalled = allDeps({ ...stack.config, avatars: { ...stack.config.avatars, s3Endpoint: silentDynamo.url } });
    await expectReplyInTime(avatar(stalled), avatarEvent(token), 503, 'STORAGE_UNAVAILABLE');
    expect((await client.profile(token)).body).toEqual({ phone: { known: false } });
  });
});
