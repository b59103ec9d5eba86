import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken, userId } from '#lib/auth/token';
import type { ErrorCode } from '#lib/platform/errors';
import { MAX_BODY_BYTES } from '#lib/platform/http/request';
import { STATUS_BY_CODE } from '#lib/platform/http/status';
import { type SignedUserData, userInfoPayload } from '../../local/wechat-data.ts';
import { apiEvent } from '../support/event.ts';
import { api } from '../support/invoke.ts';
import { type Endpoint, type RawReply, rawHandlers, snapshotTables } from '../support/raw.ts';
import { APP_ID, APP_SECRET, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Property-based: whatever a client sends, every endpoint answers with the
 * contract's statuses and JSON errors, never a 5xx for the client's own fault,
 * never a secret, and a refused request writes nothing. Seeded, so a failure
 * reproduces exactly (fast-check prints the seed and the shrunk counterexample).
 */
const SEED = 0x5eed_2024;

/** What each endpoint may answer to a client-side fault (README error table). */
const CONTRACT: Record<Endpoint, { statuses: number[]; codes: ErrorCode[] }> = {
  login: {
    statuses: [200, 400, 409, 413],
    codes: ['INVALID_JSON', 'INVALID_REQUEST', 'BODY_TOO_LARGE', 'INVALID_CODE', 'CODE_ALREADY_USED'],
  },
  checklogin: { statuses: [200], codes: [] },
  credit: { statuses: [200, 400, 401], codes: ['AMBIGUOUS_TOKEN', 'UNAUTHENTICATED', 'SESSION_INVALID'] },
  userinfo: {
    statuses: [200, 400, 401, 413],
    codes: [
      'INVALID_JSON',
      'INVALID_REQUEST',
      'BODY_TOO_LARGE',
      'AMBIGUOUS_TOKEN',
      'UNAUTHENTICATED',
      'SESSION_INVALID',
      'DECRYPT_FAILED',
      // 401: data that does not decrypt because WeChat has rotated the session_key (WeChat is asked).
      'SESSION_KEY_EXPIRED',
    ],
  },
};

let stack: TestStack;
let call: ReturnType<typeof rawHandlers>;
/** Live sessions of two users, and a token whose session has expired (its item is still in the table). */
let alice: string;
let bob: string;
let expired: string;
let alicePayload: SignedUserData;
let otherPayloads: SignedUserData[];

beforeAll(async () => {
  stack = await startTestStack();
  call = rawHandlers(stack.deps);
  // The fake turns `fail-<n>` codes into WeChat error <n> (some of them 5xx on our side by design);
  // a real WeChat answers 40029 to a code it never issued, so generated codes get that instead.
  stack.fake.script((code) => (code.startsWith('fail-') ? { json: { errcode: 40029, errmsg: 'invalid code, rid: hostile' } } : undefined));
  const client = api(stack.deps);
  alice = String((await client.login('alice.hostile')).body.token);
  bob = String((await client.login('bob.hostile')).body.token);
  // Expired for the test clock, not for DynamoDB Local's own TTL sweeper (which uses the real time and
  // would otherwise delete the item mid-run and make the store look changed).
  stack.clock.advanceSeconds(86_400);
  const aliceUid = userId(APP_ID, stack.fake.user('alice').openid);
  expired = `${aliceUid}.${'E'.repeat(40)}xp1`;
  const nowSeconds = Math.floor(stack.clock.now() / 1000);
  await DynamoDBDocumentClient.from(stack.admin).send(
    new PutCommand({
      TableName: stack.tables.sessions,
      Item: {
        uid: aliceUid,
        tokenHash: hashSessionToken(expired),
        appid: APP_ID,
        openid: stack.fake.user('alice').openid,
        sessionKey: stack.fake.user('alice').sessionKey,
        createdAt: nowSeconds - 86_400,
        expiresAt: nowSeconds - 3_600,
      },
    }),
  );
  alicePayload = userInfoPayload({ ...stack.fake.user('alice'), appId: APP_ID, nickName: 'Alice' });
  otherPayloads = [
    userInfoPayload({ ...stack.fake.user('bob'), appId: APP_ID, nickName: 'Bob' }),
    userInfoPayload({ ...stack.fake.user('alice'), appId: 'wxffffffffffffffff', nickName: 'Alice' }),
    userInfoPayload({ ...stack.fake.user('alice'), openid: stack.fake.user('mallory').openid, appId: APP_ID, nickName: 'M' }),
  ];
});
afterAll(() => stack?.close());

// ---------------------------------------------------------------- generators

/** Strings of every kind: ASCII, any printable Unicode, any code point, control characters. */
const anyString = (maxLength = 64) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
  );

/** Values of the wrong type for a string field. */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** A body just over (or just under) 32 KiB, counted in bytes: multi-byte characters included. */
const sizedBody = (field: string) =>
  fc.tuple(fc.integer({ min: -256, max: 4096 }), fc.constantFrom('x', '中', '😀', 'é'), fc.boolean()).map(([delta, char, inField]) => {
    const bytes = MAX_BODY_BYTES + delta;
    const fill = char.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(char))));
    return JSON.stringify(inField ? { [field]: fill } : { [field]: 'abc', pad: fill });
  });

/** Anything but a well-formed request object: malformed, truncated, nested, odd JSON. */
const junkBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  anyString(200),
  fc.json({ maxDepth: 4 }).map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.tuple(fc.json({ maxDepth: 4 }), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  fc.nat({ max: 12_000 }).map((depth) => '['.repeat(depth)),
  fc.nat({ max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.nat({ max: 5_000 }).map((depth) => `{"code":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`),
  fc.constantFrom(
    '',
    ' ',
    '\n\t',
    'null',
    'true',
    '0',
    '""',
    '[]',
    '{}',
    '{"code":}',
    "{'code':'abc'}",
    '{"code":"abc",}',
    '\uFEFF{"code":"abc"}',
    '{"code":"a"}{"code":"b"}',
    'NaN',
    '{"__proto__":{"code":"abc"}}',
    '{"constructor":{"prototype":{"code":"abc"}}}',
    '{"code":"\\ud800"}',
    '{"code":"abc\\u0000"}',
    '<xml><code>abc</code></xml>',
  ),
  sizedBody('code'),
  sizedBody('encryptedData'),
);

/** Codes a client might send: junk, near-misses and valid-looking ones (which reach the fake WeChat). */
const codeValue = fc.oneof(
  wrongType,
  anyString(40),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,16}(\.[\x21-\x7e]{1,16})?$/),
  fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
  fc.integer({ min: 120, max: 140 }).map((n) => 'c'.repeat(n)),
  fc.constantFrom('', ' ', 'a b', 'abc\n', '\u00e9t\u00e9', '😀', 'code\u0000', '../../etc/passwd', '%00', "' OR '1'='1"),
);

/** A login request body: JSON shaped like the contract's (with missing and extra fields), or form-encoded. */
const loginBody = fc.oneof(
  fc
    .record({ code: codeValue, extra: fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }, { requiredKeys: [] })
    .map(({ code, extra }) => ({ text: JSON.stringify({ ...(extra ?? {}), ...(code === undefined ? {} : { code }) }), form: false, code })),
  codeValue.map((code) => ({ text: `code=${encodeURIComponent(text(code))}`, form: true, code })),
  anyString(80).map((text) => ({ text, form: true, code: undefined })),
  junkBody.map((text) => ({ text, form: false, code: undefined })),
);

/** Token values of every shape; each is reported so the reply can be checked for it. */
const tokenValue = fc.oneof(
  fc.constantFrom('', ' ', '  ', '\t', 'Bearer', 'bearer', 'null', 'undefined', 'true', '0'),
  anyString(60),
  fc.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$|^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{42}$|^[A-Za-z0-9_-]{22}\.[A-Za-z0-9+/]{42}=$/),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => 't'.repeat(n)),
  fc.constantFrom('alice', 'bob', 'expired').map((who) => (who === 'alice' ? alice : who === 'bob' ? bob : expired)),
  fc.tuple(fc.nat({ max: 65 }), fc.constantFrom('A', '_', '-', '.', ' ', 'é')).map(([i, char]) => `${alice.slice(0, i)}${char}${alice.slice(i + 1)}`),
  fc.constantFrom('', ' ', 'x', '\u0000').map((affix) => `${affix}${alice}${affix}`),
);

interface TokenPlacement {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** Raw token values that went into the request. */
  sent: string[];
}

/** Where the token goes: Authorization (any scheme, spacing or case), ?token= (API Gateway joins repeats with commas), both, neither. */
const placement: fc.Arbitrary<TokenPlacement> = fc
  .record({
    header: fc.option(
      fc.tuple(
        fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', '', 'Basic ', 'Token ', 'Bearer=', ' Bearer '),
        tokenValue,
        fc.constantFrom('', ' ', '  ', ' extra', ',', '\n'),
      ),
      { nil: undefined },
    ),
    query: fc.option(
      fc.oneof(
        tokenValue.map((t) => [t]),
        fc.tuple(tokenValue, tokenValue),
        tokenValue.map((t) => [t, t]),
      ),
      { nil: undefined },
    ),
    headerName: fc.constantFrom('authorization', 'authorization', 'Authorization', 'AUTHORIZATION'),
  })
  .map(({ header, query, headerName }) => {
    const sent: string[] = [];
    const headers: Record<string, string> = {};
    const queryParams: Record<string, string> = {};
    if (header) {
      headers[headerName] = header.join('');
      sent.push(header[1]);
    }
    if (query) {
      queryParams.token = query.join(',');
      sent.push(...query);
    }
    return { headers, query: queryParams, sent };
  });

/** Mostly Alice's live token, so that userinfo bodies get past authentication. */
const userinfoPlacement = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constant(0).map((): TokenPlacement => ({ headers: { authorization: `Bearer ${alice}` }, query: {}, sent: [alice] })),
  },
  { weight: 1, arbitrary: placement },
);

/** The event with the token placed as generated: header names exactly as given (apiEvent would lowercase them). */
function withTokens(event: APIGatewayProxyEventV2, tokens: TokenPlacement): APIGatewayProxyEventV2 {
  Object.assign(event.headers, tokens.headers);
  if (Object.keys(tokens.query).length > 0) {
    event.queryStringParameters = { ...event.queryStringParameters, ...tokens.query };
    event.rawQueryString = new URLSearchParams(event.queryStringParameters as Record<string, string>).toString();
  }
  return event;
}

const base64Of = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('base64'));

const ivValue = fc.oneof(
  fc.constant('IV'),
  base64Of(16, 16),
  base64Of(0, 40),
  fc.constantFrom(
    '',
    '!!!!',
    'AAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAA=',
    'AAAAAAAAAAAAAAAAAAAAAA===',
    '-_-_-_-_-_-_-_-_-_-_-w==',
    'AAAA AAAAAAAAAAAAAAAAAA==',
  ),
  anyString(70),
  wrongType,
);
const encryptedValue = fc.oneof(
  fc.constant('ALICE'),
  fc.constantFrom(0, 1, 2).map((i) => `OTHER${i}`),
  fc.nat({ max: 8 }).chain((blocks) => base64Of(blocks * 16, blocks * 16)),
  base64Of(1, 100),
  fc.constantFrom('', '====', 'QUJDRA==', '@@@@', 'QUJD\nRA=='),
  anyString(200),
  fc.integer({ min: 24 * 1024 - 4, max: 24 * 1024 + 4 }).map((n) => 'Q'.repeat(n)),
  wrongType,
);
const signatureValue = fc.oneof(
  fc.constant('SIG'),
  fc.stringMatching(/^[0-9a-f]{40}$/),
  fc.stringMatching(/^[0-9A-F]{40}$/),
  fc.constantFrom('', 'zz'.repeat(20), '0'.repeat(39), '0'.repeat(41)),
  anyString(80),
  wrongType,
);
const rawDataValue = fc.oneof(fc.constant('RAW'), anyString(100), fc.constant('r'.repeat(8 * 1024 + 1)), wrongType);

/** A userinfo body: the real payload's parts, mixed with junk, fields dropped or added. */
const userinfoBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          encryptedData: encryptedValue,
          iv: ivValue,
          rawData: rawDataValue,
          signature: signatureValue,
          extra: fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
        },
        { requiredKeys: [] },
      )
      .map((fields) => {
        const resolve = (value: unknown) => {
          if (value === 'ALICE') return alicePayload.encryptedData;
          if (value === 'IV') return alicePayload.iv;
          if (value === 'RAW') return alicePayload.rawData;
          if (value === 'SIG') return alicePayload.signature;
          if (typeof value === 'string' && /^OTHER\d$/.test(value)) return otherPayloads[Number(value.slice(5))]!.encryptedData;
          return value;
        };
        const { extra, ...rest } = fields;
        const body: Record<string, unknown> = { ...(extra ?? {}) };
        for (const [key, value] of Object.entries(rest)) if (value !== undefined) body[key] = resolve(value);
        return { text: JSON.stringify(body), form: false };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ iv: ivValue, enc: encryptedValue }).map(({ iv, enc }) => ({
      text: `encryptedData=${encodeURIComponent(text(enc === 'ALICE' ? alicePayload.encryptedData : enc))}&iv=${encodeURIComponent(text(iv === 'IV' ? alicePayload.iv : iv))}`,
      form: true,
    })),
  },
  { weight: 1, arbitrary: junkBody.map((text) => ({ text, form: false })) },
);

// ---------------------------------------------------------------- the properties

/** Every session_key the fake WeChat has handed out (for the users it logged in). */
function sessionKeysHandedOut(): string[] {
  const names = new Set<string>(['alice', 'bob']);
  for (const code of stack.fake.codes) {
    const name = /^([A-Za-z0-9_-]{1,64})(?:\.[\x21-\x7e]{1,64})?$/.exec(code)?.[1];
    if (name) names.add(name);
  }
  return [...names].map((name) => stack.fake.user(name).sessionKey);
}

/** Long enough that finding it in a reply cannot be a coincidence with our own wording ('undefined', 'received', ...). */
const distinctive = (value: unknown): value is string => typeof value === 'string' && value.trim().length >= 12;

/** Whether a live token is in there somewhere (the server trims spaces around it). */
const carriesLiveToken = (tokens: TokenPlacement) => tokens.sent.some((t) => t.includes(alice) || t.includes(bob));

const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** What a request carried that its reply must not give back. */
interface Sent {
  tokens: string[];
  code?: unknown;
  /** The body as the client meant it (before any base64). */
  body?: string | undefined;
}

/** The strings a client put in its body: the text itself, and every string in it once parsed (JSON or form). */
function bodyStrings(body: string | undefined): string[] {
  if (body === undefined) return [];
  const found = [body];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  try {
    walk(JSON.parse(body));
  } catch {
    for (const [, value] of new URLSearchParams(body)) found.push(value);
  }
  return found;
}

/** The checks every reply must pass, whatever was sent. */
function expectContractReply(endpoint: Endpoint, reply: RawReply, sent: Sent) {
  const where = `${endpoint} -> ${reply.status} ${reply.raw.slice(0, 200)}`;
  expect(reply.status, where).toBeLessThan(500);
  expect(CONTRACT[endpoint].statuses, where).toContain(reply.status);
  expect(String(reply.headers['content-type']), where).toMatch(/^application\/json/);
  expect(reply.json, where).toBeTypeOf('object');
  const body = reply.json as Record<string, unknown>;

  if (reply.status === 200) {
    if (endpoint === 'login')
      expect(body, where).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/), expires_in: expect.any(Number) });
    if (endpoint === 'checklogin') expect(body, where).toEqual({ is_login: expect.any(Boolean) });
    if (endpoint === 'credit') expect(body, where).toEqual({ credit: expect.any(Number) });
    if (endpoint === 'userinfo') expect(body.pass, where).toBeTypeOf('boolean');
  } else {
    expect(Object.keys(body).sort(), where).toEqual(['code', 'err']);
    expect(body.err, where).toBeTypeOf('string');
    expect(body.code, where).toBeTypeOf('string');
    expect(CONTRACT[endpoint].codes, where).toContain(body.code);
    expect(STATUS_BY_CODE[body.code as ErrorCode], where).toBe(reply.status);
    for (const token of sent.tokens.filter(distinctive)) {
      expect(reply.raw.includes(token) || String(body.err).includes(token), `${where}: echoes the token`).toBe(false);
    }
    if (distinctive(sent.code)) expect(String(body.err).includes(sent.code), `${where}: echoes the code`).toBe(false);
    // An error names the field and the problem; it never quotes what the client sent (up to 32 KiB of it).
    for (const value of bodyStrings(sent.body).filter(distinctive)) {
      expect(String(body.err).includes(value), `${where}: quotes the body`).toBe(false);
    }
  }
  expect(reply.raw, where).not.toContain(APP_SECRET);
  for (const key of sessionKeysHandedOut()) expect(reply.raw.includes(key), `${where}: carries a session_key`).toBe(false);
}

let requestCount = 0;
/** What the generators actually reached: endpoint -> statuses and error codes seen. */
const seen: Record<Endpoint, Set<string>> = { login: new Set(), checklogin: new Set(), credit: new Set(), userinfo: new Set() };
/** One request through the real handler; every 5th one also proves that a refused request wrote nothing. */
async function send(endpoint: Endpoint, event: APIGatewayProxyEventV2, sent: Sent) {
  const sampled = requestCount++ % 5 === 0;
  const before = sampled ? await snapshotTables(stack.admin, stack.tables) : undefined;
  const reply = await call(endpoint, event);
  expectContractReply(endpoint, reply, sent);
  // 413 exactly when the body, as the function receives it (base64 decoded), is over 32 KiB: bytes, not characters.
  const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').length;
  if ((endpoint === 'login' || endpoint === 'userinfo') && (reply.json as { code?: string }).code !== 'AMBIGUOUS_TOKEN') {
    expect(reply.status === 413, `${endpoint}: ${bytes} bytes -> ${reply.status}`).toBe(bytes > MAX_BODY_BYTES);
  }
  const json = reply.json as { code?: string; pass?: boolean };
  seen[endpoint].add(reply.status === 200 ? (endpoint === 'userinfo' ? `200 pass:${json.pass}` : '200') : String(json.code));
  if (before && reply.status !== 200) {
    expect(await snapshotTables(stack.admin, stack.tables), `${endpoint} ${reply.status} changed the store`).toEqual(before);
  }
  return reply;
}

const formHeaders = (form: boolean): Record<string, string> => (form ? { 'content-type': 'application/x-www-form-urlencoded' } : {});
const options = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

describe('hostile input: every endpoint keeps the contract, whatever the client sends', () => {
  it('POST /login answers any body with 200, 400, 409 or 413, a JSON error, no secret, and writes nothing when it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(loginBody, placement, async (body, tokens) => {
        const event = withTokens(apiEvent({ method: 'POST', path: '/login', body: body.text, headers: formHeaders(body.form) }), tokens);
        await send('login', event, { tokens: tokens.sent, code: body.code, body: body.text });
      }),
      options(600),
    );
  });

  it('POST /login bodies that cannot log anyone in are all refused and leave every table exactly as it was', async () => {
    const before = await snapshotTables(stack.admin, stack.tables);
    const refused = fc.oneof(
      junkBody.map((text) => ({ text, form: false })),
      fc
        .oneof(
          wrongType,
          anyString(40).filter((s) => !/^[\x21-\x7e]{1,128}$/.test(s)),
        )
        .map((code) => ({ text: JSON.stringify({ code }), form: false })),
      // Printable codes the fake WeChat (like WeChat) answers with 40029: they reach it, and must still write nothing.
      fc.stringMatching(/^[A-Za-z0-9]{1,10}[!#$%&*+,:;<=>?@^`|~][\x21-\x7e]{0,10}$/).map((code) => ({ text: JSON.stringify({ code }), form: false })),
      fc.stringMatching(/^[!-~]{1,8}$/).map((s) => ({ text: `code=${encodeURIComponent(`${s} ${s}`)}`, form: true })),
    );
    await fc.assert(
      fc.asyncProperty(refused, async (body) => {
        const reply = await send('login', apiEvent({ method: 'POST', path: '/login', body: body.text, headers: formHeaders(body.form) }), {
          tokens: [],
          body: body.text,
        });
        expect(reply.status, body.text.slice(0, 100)).not.toBe(200);
      }),
      options(450),
    );
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
  });

  it('GET /checklogin is always 200 with a boolean is_login, whatever token, method or body is sent', async () => {
    const before = await snapshotTables(stack.admin, stack.tables);
    await fc.assert(
      fc.asyncProperty(
        placement,
        fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE', 'get'),
        fc.option(junkBody, { nil: undefined }),
        async (tokens, method, body) => {
          const event = withTokens(apiEvent({ method, path: '/checklogin', ...(body === undefined ? {} : { body }) }), tokens);
          const reply = await send('checklogin', event, { tokens: tokens.sent, body });
          expect(reply.status).toBe(200);
          if (!carriesLiveToken(tokens)) expect(reply.json).toEqual({ is_login: false });
        },
      ),
      options(400),
    );
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
  });

  it('GET /credit answers any token with 200, 400 or 401 and never writes', async () => {
    const before = await snapshotTables(stack.admin, stack.tables);
    await fc.assert(
      fc.asyncProperty(placement, fc.option(junkBody, { nil: undefined }), async (tokens, body) => {
        const event = withTokens(apiEvent({ method: 'GET', path: '/credit', ...(body === undefined ? {} : { body }) }), tokens);
        const reply = await send('credit', event, { tokens: tokens.sent, body });
        if (tokens.sent.length === 0) expect((reply.json as { code?: string }).code).toBe('UNAUTHENTICATED');
        if (tokens.sent.length > 0 && tokens.sent.every((t) => t === expired)) expect(reply.status).not.toBe(200);
        if (!carriesLiveToken(tokens)) expect(reply.status).not.toBe(200);
      }),
      options(500),
    );
    expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
  });

  it('POST /userinfo answers any body and token with 200, 400, 401 or 413, never a session_key, and writes nothing when it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(userinfoBody, userinfoPlacement, async (body, tokens) => {
        const event = withTokens(apiEvent({ method: 'POST', path: '/userinfo', body: body.text, headers: formHeaders(body.form) }), tokens);
        const reply = await send('userinfo', event, { tokens: tokens.sent, body: body.text });
        const json = reply.json as { pass?: boolean; userInfo?: Record<string, unknown> };
        if (reply.status === 200 && json.pass) {
          // Only Alice's own data, under her own session, can pass.
          expect(json.userInfo?.openId).toBe(stack.fake.user('alice').openid);
          expect(json.userInfo).not.toHaveProperty('watermark');
        }
        if (reply.status === 200 && !json.pass) expect(json.userInfo).toBeUndefined();
      }),
      options(700),
    );
  });

  it('odd methods, content types, base64 bodies and header casing never produce a 5xx on any endpoint', async () => {
    const endpoint = fc.constantFrom<Endpoint>('login', 'checklogin', 'credit', 'userinfo');
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'post', 'PURGE', '');
    const contentType = fc.constantFrom(
      undefined,
      '',
      'text/plain',
      'text/html; charset=utf-8',
      'multipart/form-data; boundary=----x',
      'application/x-www-form-urlencoded',
      'APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8',
      'application/json; charset=utf-16',
      'application/xml',
      '*/*',
      'application/x-www-form-urlencoded\u0000',
    );
    const payload = fc.oneof(
      loginBody.map((b) => b.text),
      userinfoBody.map((b) => b.text),
      junkBody,
      fc.constantFrom(
        'code=%E0%A4%A&&&==&code',
        'code&code=&=x',
        '------x\r\nContent-Disposition: form-data; name="code"\r\n\r\nabc\r\n------x--',
        'encryptedData=%ZZ&iv=%',
        'iv[]=a&iv[]=b&encryptedData[x]=1',
      ),
    );
    const base64 = fc.oneof(
      fc.constant<'plain' | 'encoded' | string>('plain'),
      fc.constant('encoded'),
      fc.constantFrom('%%%not base64%%%', '====', 'Zm9v\nYmFy', '😀😀', ''),
      fc.integer({ min: 43_000, max: 46_000 }).map((n) => 'QUFB'.repeat(Math.ceil(n / 4))),
    );
    const casing = fc.constantFrom('lower', 'mixed', 'both');
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        method,
        contentType,
        payload,
        base64,
        casing,
        placement,
        async (name, verb, type, text, encoding, headerCase, tokens) => {
          const event = withTokens(
            apiEvent({ method: verb, path: `/${name}`, body: text, isBase64Encoded: encoding !== 'plain', headers: { 'content-type': type } }),
            tokens,
          );
          if (encoding !== 'plain' && encoding !== 'encoded') event.body = encoding;
          if (headerCase !== 'lower') {
            // API Gateway lowercases header names; a proxy in front of it might not.
            const headers = event.headers as Record<string, string | undefined>;
            if (type !== undefined) headers['Content-Type'] = /json/.test(type) ? 'application/x-www-form-urlencoded' : 'application/json';
            if (headers.authorization !== undefined) headers.Authorization = headers.authorization;
            if (headerCase === 'mixed') delete headers['content-type'];
          }
          await send(name, event, { tokens: tokens.sent, body: encoding === 'plain' || encoding === 'encoded' ? text : undefined });
        },
      ),
      options(500),
    );
  });

  it('the generators above reached every status and error code of the contract (a guard against a silently weak generator)', () => {
    expect(requestCount).toBeGreaterThan(3000);
    // Valid-looking codes really went to the (fake) WeChat over HTTP.
    expect(stack.fake.codes.length).toBeGreaterThan(100);
    const expected: Record<Endpoint, string[]> = {
      login: ['200', 'INVALID_JSON', 'INVALID_REQUEST', 'BODY_TOO_LARGE', 'INVALID_CODE'],
      checklogin: ['200'],
      credit: ['200', 'AMBIGUOUS_TOKEN', 'UNAUTHENTICATED', 'SESSION_INVALID'],
      userinfo: [
        '200 pass:true',
        '200 pass:false',
        'INVALID_JSON',
        'INVALID_REQUEST',
        'BODY_TOO_LARGE',
        'AMBIGUOUS_TOKEN',
        'UNAUTHENTICATED',
        'SESSION_INVALID',
        'DECRYPT_FAILED',
      ],
    };
    for (const [endpoint, outcomes] of Object.entries(expected)) {
      expect([...seen[endpoint as Endpoint]].sort(), endpoint).toEqual(expect.arrayContaining(outcomes));
    }
  });
});
