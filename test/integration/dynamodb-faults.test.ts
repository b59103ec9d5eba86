import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDocumentClient, DYNAMODB_MAX_ATTEMPTS, DYNAMODB_REQUEST_TIMEOUT_MS, dynamoCallBoundMs } from '#lib/aws/dynamodb';
import { logger } from '#lib/kernel/log';
import { allDeps } from '#lib/wiring';
import { createHandler as grantHandler } from '../../handlers/grant.ts';
import { type LocalDynamo, startLocalDynamo } from '../../local/dynamodb.ts';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { api, scanAll, scanUsers } from '../support/invoke.ts';
import { expectBalancesAreSums } from '../support/ledger.ts';
import { snapshotTables } from '../support/raw.ts';
import { APP_ID, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * DynamoDB misbehaving: throttled, paused (SIGSTOP), stopped. This file runs
 * its own DynamoDB Local so that disturbing it cannot hurt the other files.
 */
/** Scheduling and WeChat's (fake's) answer on a loaded 2-core machine. */
const SLACK_MS = 3000;

let dynamo: LocalDynamo;
let stack: TestStack;
let client: ReturnType<typeof api>;
let paused = false;
/** Last resort if the worker dies mid-test: never leave a stopped java process behind. */
const killDynamo = () => dynamo?.process.kill('SIGKILL');

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  process.once('exit', killDynamo);
  // Production's bounds: they are what this file tests.
  stack = await startTestStack({ DYNAMODB_ENDPOINT: dynamo.endpoint }, { dynamoRequestTimeoutMs: DYNAMODB_REQUEST_TIMEOUT_MS });
  client = api(stack.deps);
});

afterAll(async () => {
  resume();
  try {
    await stack?.close();
  } catch {
    // The tables died with DynamoDB Local in the last tests.
  } finally {
    await dynamo?.stop();
    process.removeListener('exit', killDynamo);
  }
});

function pause() {
  dynamo.process.kill('SIGSTOP');
  paused = true;
}
function resume() {
  if (paused && dynamo.process.exitCode === null) dynamo.process.kill('SIGCONT');
  paused = false;
}

/** A login leaves both items or neither: every session's openid has its user. */
async function expectNoSessionWithoutUser() {
  const users = new Set((await scanUsers(stack.admin, stack.tables)).map((user) => user.openid));
  const sessions = await scanAll(stack.admin, stack.tables.sessions);
  expect(
    sessions.filter((session) => !users.has(session.openid)),
    'sessions without a user',
  ).toEqual([]);
}

const itemsOf = async (name: string) => {
  const { openid } = stack.fake.user(name);
  return {
    sessions: (await scanAll(stack.admin, stack.tables.sessions)).filter((s) => s.openid === openid),
    users: (await scanUsers(stack.admin, stack.tables)).filter((u) => u.openid === openid),
  };
};

const callsFor = (code: string) => stack.fake.codes.filter((c) => c === code).length;

type Fault = 'throttle' | 'commit-then-lose-reply';

/**
 * The production store on its own client (the production settings of
 * lib/aws/dynamodb.ts) with a fault injected inside the SDK's retry loop,
 * so the SDK retries it as it would retry the real thing.
 */
function faultyDeps(
  faultFor: (command: string, input: { TableName?: string; UpdateExpression?: string }) => Fault | undefined,
  errorName = 'ThrottlingException',
) {
  const db = createDocumentClient({ region: stack.config.region, endpoint: dynamo.endpoint });
  const hits: string[] = [];
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const fault = faultFor(command, args.input as { TableName?: string; UpdateExpression?: string });
      if (!fault) return next(args);
      hits.push(command);
      if (fault === 'throttle') {
        throw Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded.'), {
          name: errorName,
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      // DynamoDB did the write; the reply is lost on the way back. (At this step the reply is still raw HTTP: a
      // write DynamoDB refused, e.g. a transaction whose condition failed, did nothing, and its answer arrives.)
      const answer = await next(args);
      if (((answer.response as { statusCode?: number }).statusCode ?? 200) >= 300) return answer;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} });
    },
    { step: 'deserialize', name: 'injectedFault' },
  );
  return { deps: allDeps(stack.config, { db, now: stack.clock.now, busyRetryDelayMs: 20 }), hits, destroy: () => db.destroy() };
}

describe('DynamoDB throttling', () => {
  it.each(['ThrottlingException', 'ProvisionedThroughputExceededException'])(
    '%s on every call is 503 STORAGE_UNAVAILABLE on every endpoint, after the SDK retries, within the bound, and WeChat is not asked',
    async (errorName) => {
      const token = String((await client.login(`throttled-${errorName}.1`)).body.token);
      const payload = userInfoPayload({ ...stack.fake.user(`throttled-${errorName}`), appId: APP_ID, nickName: 'T' });
      const before = await snapshotTables(stack.admin, stack.tables);
      const codesBefore = stack.fake.codes.length;
      const requests = {
        login: (c: ReturnType<typeof api>) => c.login(`never-asked-${errorName}.1`),
        checklogin: (c: ReturnType<typeof api>) => c.checklogin(token),
        credit: (c: ReturnType<typeof api>) => c.credit(token),
        userinfo: (c: ReturnType<typeof api>) => c.userinfo(token, payload),
      };
      // One throttled client per request, all at once: the throttling backoff (up to 1 s + 2 s) is paid in parallel.
      await Promise.all(
        Object.entries(requests).map(async ([endpoint, request]) => {
          const faulty = faultyDeps(() => 'throttle', errorName);
          try {
            const started = performance.now();
            const reply = await request(api(faulty.deps));
            const elapsed = performance.now() - started;
            expect(reply.status, endpoint).toBe(503);
            expect(reply.body, endpoint).toEqual({ code: 'STORAGE_UNAVAILABLE', err: expect.stringMatching(/storage.*retry/i) });
            expect(reply.raw, endpoint).not.toContain(errorName);
            // The first storage call fails after every attempt the SDK is configured for; nothing is called after it.
            expect(faulty.hits, endpoint).toHaveLength(DYNAMODB_MAX_ATTEMPTS);
            expect(elapsed, endpoint).toBeLessThan(dynamoCallBoundMs() + SLACK_MS);
          } finally {
            faulty.destroy();
          }
        }),
      );
      expect(stack.fake.codes.length, 'codes sent to WeChat').toBe(codesBefore);
      expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
    },
  );

  it('a throttled login transaction after WeChat accepted the code is a 503 with no session and no user, and the spent code is never sent to WeChat again', async () => {
    const faulty = faultyDeps((command) => (command === 'TransactWriteItemsCommand' ? 'throttle' : undefined));
    try {
      const reply = await api(faulty.deps).login('spent.1');
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      expect(faulty.hits).toEqual(Array(DYNAMODB_MAX_ATTEMPTS).fill('TransactWriteItemsCommand'));
      expect(await itemsOf('spent')).toEqual({ sessions: [], users: [] });
      await expectNoSessionWithoutUser();
      expect(callsFor('spent.1')).toBe(1);

      // Storage is back and the client retries the code: WeChat would refuse it (40163), so it is not asked.
      const retry = await client.login('spent.1');
      expect(retry).toMatchObject({ status: 409, body: { code: 'CODE_ALREADY_USED' } });
      expect(callsFor('spent.1')).toBe(1);
      expect(await itemsOf('spent')).toEqual({ sessions: [], users: [] });
    } finally {
      faulty.destroy();
    }
  });

  it('a login transaction that committed but whose reply was lost leaves the user with the session, never a session alone, and the retried code still logs in', async () => {
    const faulty = faultyDeps((command) => (command === 'TransactWriteItemsCommand' ? 'commit-then-lose-reply' : undefined));
    try {
      const reply = await api(faulty.deps).login('lostreply.1');
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      const { sessions, users } = await itemsOf('lostreply');
      expect(users).toHaveLength(1);
      expect(users[0]?.credit).toBe(100);
      expect(sessions.length).toBeGreaterThanOrEqual(1);
      await expectNoSessionWithoutUser();

      // The exchange was recorded with the session, so the client's retry of the code gets a session
      // (for the same user, credit untouched) without WeChat being asked again.
      const retry = await client.login('lostreply.1');
      expect(retry).toMatchObject({ status: 200, body: { token: expect.any(String) } });
      expect(callsFor('lostreply.1')).toBe(1);
      expect(await client.credit(String(retry.body.token))).toMatchObject({ status: 200, body: { credit: 100 } });
    } finally {
      faulty.destroy();
    }
  });

  it('a phone number WeChat gave but storage could not save is a 503 that says the code is spent and the user must tap again', async () => {
    const token = String((await client.login('phonefault.1')).body.token);
    // Only the number's save, after WeChat answered (the per-user bound's count, before WeChat, goes through).
    const faulty = faultyDeps((command, input) =>
      command === 'UpdateItemCommand' && input.TableName === stack.tables.users && String(input.UpdateExpression).startsWith('SET phoneNumber =')
        ? 'throttle'
        : undefined,
    );
    try {
      const reply = await api(faulty.deps).invoke('phonenumber', {
        method: 'POST',
        path: '/phonenumber',
        headers: { authorization: `Bearer ${token}` },
        body: { code: 'phone-13600136000' },
      });
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE', err: expect.stringMatching(/spent.*tap the button again/) } });
      expect(reply.raw).not.toContain('13600136000');
      expect(faulty.hits).toEqual(Array(DYNAMODB_MAX_ATTEMPTS).fill('UpdateItemCommand'));
    } finally {
      faulty.destroy();
    }
  });

  it('a login whose code claim was written but whose reply was lost still logs in, asking WeChat once', async () => {
    let lost = 0;
    const faulty = faultyDeps((command) => (command === 'PutItemCommand' && lost++ === 0 ? 'commit-then-lose-reply' : undefined));
    try {
      const reply = await api(faulty.deps).login('ownclaim.1');
      expect(reply).toMatchObject({ status: 200, body: { token: expect.any(String) } });
      expect(callsFor('ownclaim.1')).toBe(1);
    } finally {
      faulty.destroy();
    }
  });
});

describe('DynamoDB paused (SIGSTOP) and resumed (SIGCONT)', () => {
  it('while paused, a request gets 503 STORAGE_UNAVAILABLE within the bound of lib/aws/dynamodb.ts', async () => {
    const token = String((await client.login('stalled.1')).body.token);
    pause();
    const safety = setTimeout(resume, dynamoCallBoundMs() + SLACK_MS + 2000);
    try {
      const started = performance.now();
      const reply = await client.credit(token);
      const elapsed = performance.now() - started;
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      expect(elapsed).toBeLessThan(dynamoCallBoundMs() + SLACK_MS);
    } finally {
      clearTimeout(safety);
      resume();
    }
  });

  it('a request caught by the pause ends (200 or 503) once DynamoDB resumes, and then login, checklogin and credit all work again', async () => {
    const token = String((await client.login('pauser.1')).body.token);
    pause();
    let inFlight: Promise<Awaited<ReturnType<typeof client.credit>>>;
    try {
      inFlight = client.credit(token);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      resume();
    }
    expect([200, 503]).toContain((await inFlight).status);

    const fresh = await client.login('pauser.2');
    expect(fresh).toMatchObject({ status: 200, body: { token: expect.any(String) } });
    const freshToken = String(fresh.body.token);
    expect(await client.checklogin(freshToken)).toMatchObject({ status: 200, body: { is_login: true } });
    expect(await client.credit(freshToken)).toMatchObject({ status: 200, body: { credit: 100 } });
    expect(await client.credit(token)).toMatchObject({ status: 200, body: { credit: 100 } });
    await expectNoSessionWithoutUser();
  });

  it('a pause that catches the login transaction leaves a session with its user or neither, and the user at the initial credit', async () => {
    // Pause DynamoDB the moment WeChat is asked, so the pause catches the session write.
    stack.fake.script((code) => {
      if (code === 'caught.1') {
        pause();
        setTimeout(resume, 2000);
      }
      return undefined;
    });
    try {
      const reply = await client.login('caught.1');
      expect([200, 503]).toContain(reply.status);
      resume();
      // Give DynamoDB Local time to work through whatever was queued while it was stopped.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { sessions, users } = await itemsOf('caught');
      if (reply.status === 200) expect(sessions).toHaveLength(1);
      if (sessions.length > 0) expect(users[0]?.credit).toBe(100);
      if (reply.status === 200) expect(await client.credit(String(reply.body.token))).toMatchObject({ status: 200, body: { credit: 100 } });
      await expectNoSessionWithoutUser();
      expect(callsFor('caught.1')).toBe(1);
    } finally {
      stack.fake.script(undefined);
      resume();
    }
  });
});

const spendEntries = async (key: string) => (await scanAll(stack.admin, stack.tables.ledger)).filter((entry) => entry.entryKey === `spend:${key}`);

describe('a spend when DynamoDB fails', () => {
  it('a throttled spend transaction is 503 with nothing written, and its retry with the same key spends once', async () => {
    const token = String((await client.login('spender-throttled.1')).body.token);
    const faulty = faultyDeps((command) => (command === 'TransactWriteItemsCommand' ? 'throttle' : undefined));
    try {
      const before = await snapshotTables(stack.admin, stack.tables);
      const reply = await api(faulty.deps).spend(token, { amount: 3, key: 'throttled-spend' });
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      expect(await snapshotTables(stack.admin, stack.tables)).toEqual(before);
    } finally {
      faulty.destroy();
    }
    const retry = await client.spend(token, { amount: 3, key: 'throttled-spend' });
    expect(retry.body).toMatchObject({ credit: 97 });
    expect(await spendEntries('throttled-spend')).toHaveLength(1);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('a spend whose transaction committed but whose reply was lost: the retry with its key gets the same spend, once', async () => {
    const token = String((await client.login('spender-lost.1')).body.token);
    let lost = 0;
    const faulty = faultyDeps((command) => (command === 'TransactWriteItemsCommand' && lost++ === 0 ? 'commit-then-lose-reply' : undefined));
    try {
      const reply = await api(faulty.deps).spend(token, { amount: 4, key: 'lost-reply-spend' });
      // The SDK's own retry of the lost reply finds the key used: the first entry is the answer.
      expect(reply.status, reply.raw).toBe(200);
      expect(reply.body).toMatchObject({ credit: 96, entry: { amount: -4, balance: 96 } });
    } finally {
      faulty.destroy();
    }
    expect((await client.spend(token, { amount: 4, key: 'lost-reply-spend' })).body).toMatchObject({ credit: 96 });
    expect(await spendEntries('lost-reply-spend')).toHaveLength(1);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('DynamoDB frozen mid-spend: 503 within the bound, then the balance is still the sum of its entries, and the retry spends at most once', async () => {
    const token = String((await client.login('spender-frozen.1')).body.token);
    const db = createDocumentClient({ region: stack.config.region, endpoint: dynamo.endpoint });
    // Freeze DynamoDB Local the moment the spend's transaction is sent.
    db.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && !paused) pause();
        return next(args);
      },
      { step: 'finalizeRequest', name: 'freezeOnTransaction' },
    );
    const safety = setTimeout(resume, dynamoCallBoundMs() + SLACK_MS + 2000);
    try {
      const started = performance.now();
      const reply = await api(allDeps(stack.config, { db, now: stack.clock.now })).spend(token, { amount: 5, key: 'frozen-spend' });
      const elapsed = performance.now() - started;
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      expect(elapsed).toBeLessThan(dynamoCallBoundMs() + SLACK_MS);
    } finally {
      clearTimeout(safety);
      resume();
      db.destroy();
    }
    // Whatever DynamoDB did with the frozen request once it woke up, it did all of it or none.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectBalancesAreSums(stack.admin, stack.tables);
    const retry = await client.spend(token, { amount: 5, key: 'frozen-spend' });
    expect(retry.body).toMatchObject({ credit: 95 });
    expect(await spendEntries('frozen-spend')).toHaveLength(1);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });
});

describe('the grant function when DynamoDB fails', () => {
  it('a 5xx fails the invocation (thrown, so that asynchronous callers retry), a 4xx stays a payload, one log line each; the retry grants once', async () => {
    const token = String((await client.login('granted-outage.1')).body.token);
    const { openid } = stack.fake.user('granted-outage');
    const prize = { openid, amount: 50, key: 'outage-grant-0001', reason: 'prize' };
    const lines: { level: string; message: string; status: unknown; code: unknown }[] = [];
    const spies = (['info', 'warn', 'error'] as const).map((level) =>
      vi.spyOn(logger, level).mockImplementation((message: unknown, ...rest: unknown[]) => {
        const fields = (rest[0] ?? {}) as { status?: unknown; code?: unknown };
        lines.push({ level, message: String(message), status: fields.status, code: fields.code });
      }),
    );
    const faulty = faultyDeps((command) => (command === 'TransactWriteItemsCommand' ? 'throttle' : undefined));
    try {
      const invoke = grantHandler(faulty.deps);
      const thrown = await invoke(prize).then(
        (reply) => ({ resolved: reply }),
        (err: unknown) => err,
      );
      expect(thrown).toBeInstanceOf(Error);
      const err = thrown as Error & { code?: unknown; status?: unknown };
      // What Lambda reports as the FunctionError (errorType, errorMessage, trace): the contract's code and text, no internals.
      expect({ name: err.name, message: err.message, code: err.code, status: err.status }).toEqual({
        name: 'STORAGE_UNAVAILABLE',
        message: 'Storage is unavailable right now: retry in a moment',
        code: 'STORAGE_UNAVAILABLE',
        status: 503,
      });
      expect(err.stack).toBe('STORAGE_UNAVAILABLE: Storage is unavailable right now: retry in a moment');
      // A refusal under the same fault is the invocation's payload: retrying it would not help.
      expect(await invoke({ ...prize, openid: 'o-never-logged-in', key: 'outage-grant-0002' })).toEqual({
        err: 'No such user: it has never logged in to this mini-program',
        code: 'USER_NOT_FOUND',
        status: 404,
      });
      expect(await invoke({ openid, amount: 0, key: 'outage-grant-0003', reason: 'x' })).toMatchObject({ code: 'INVALID_REQUEST', status: 400 });
      expect(lines).toEqual([
        { level: 'error', message: 'request failed', status: 503, code: 'STORAGE_UNAVAILABLE' },
        { level: 'info', message: 'request refused', status: 404, code: 'USER_NOT_FOUND' },
        { level: 'info', message: 'request refused', status: 400, code: 'INVALID_REQUEST' },
      ]);
    } finally {
      faulty.destroy();
      for (const spy of spies) spy.mockRestore();
    }
    // What an asynchronous caller's retry does once DynamoDB is back: the grant, once.
    expect(await grantHandler(stack.deps)(prize)).toMatchObject({ credit: 150, entry: { amount: 50 } });
    expect(await grantHandler(stack.deps)(prize)).toMatchObject({ credit: 150, entry: { amount: 50 } });
    expect((await client.credit(token)).body).toEqual({ credit: 150 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });
});

describe('DynamoDB stopped', () => {
  it('WeChat answers, then DynamoDB dies before the session is written: 503 quickly, and the code is not retried at WeChat', async () => {
    stack.fake.script((code) => {
      if (code !== 'dies.1') return undefined;
      dynamo.process.kill('SIGKILL');
      // Answer once the JVM is gone.
      const { openid, sessionKey, unionid } = stack.fake.user('dies');
      return { json: { openid, session_key: sessionKey, unionid }, delayMs: 300 };
    });
    try {
      const started = performance.now();
      const reply = await client.login('dies.1');
      const elapsed = performance.now() - started;
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE', err: expect.stringMatching(/retry/) } });
      expect(callsFor('dies.1')).toBe(1);
      // A refused connection costs no timeout, only the SDK's short backoff between attempts: far less than a
      // stalled call's bound (dynamoCallBoundMs). WeChat's answer came after 300 ms; ~0.1 s more here.
      expect(elapsed).toBeLessThan(300 + 1500);
    } finally {
      stack.fake.script(undefined);
    }
  });

  it('with DynamoDB stopped every endpoint answers 503 STORAGE_UNAVAILABLE quickly, and a login code never reaches WeChat', async () => {
    expect(dynamo.process.exitCode !== null || dynamo.process.signalCode !== null).toBe(true);
    const codes = stack.fake.codes.length;
    const token = `${'A'.repeat(22)}.${'A'.repeat(43)}`;
    const payload = userInfoPayload({ ...stack.fake.user('x'), appId: APP_ID, nickName: 'X' });
    for (const request of [
      () => client.login('offline.1'),
      () => client.checklogin(token),
      () => client.credit(token),
      () => client.userinfo(token, payload),
    ]) {
      const started = performance.now();
      const reply = await request();
      const elapsed = performance.now() - started;
      expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
      expect(elapsed).toBeLessThan(2000);
    }
    expect(stack.fake.codes.length).toBe(codes);
  });
});
