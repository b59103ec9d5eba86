/**
 * Warm latency, DynamoDB calls and consumed capacity per request.
 *
 * Each endpoint's `createHandler(deps)` (handlers/*.ts, run through tsx) is
 * invoked in-process with real API Gateway HTTP API events against DynamoDB
 * Local and the fake WeChat over loopback HTTP, sequentially, interleaving the
 * endpoints round by round. The deps are wired as test/support/stack.ts wires
 * them (readConfig, createDocumentClient, createDynamoStore, createCode2Session),
 * plus two meters:
 *   - a DynamoDB middleware at the top of the `initialize` step, so it spans the
 *     whole `send` (marshalling, signing, HTTP, retries); it also asks for
 *     ReturnConsumedCapacity=TOTAL and sums ConsumedCapacity from the output;
 *   - a `fetch` wrapper handed to createCode2Session, spanning the request and
 *     reading the body.
 * Own code = handler total − DynamoDB − WeChat.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parse } from 'yaml';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { readConfig } from '#lib/config';
import type { LedgerDeps } from '#lib/credit/deps';
import { FUNCTIONS, type RouteName } from '#lib/http/routes';
import type { ProfileDeps } from '#lib/profile/deps';
import type { LoginDeps, WeChatApiDeps } from '#lib/session/deps';
import { allDeps } from '#lib/wiring';
import { startLocalDynamo } from '../local/dynamodb.ts';
import { startFakeWeChat } from '../local/fake-wechat.ts';
import { createTables, type TableNames } from '../local/tables.ts';
import { type SignedUserData, userInfoPayload } from '../local/wechat-data.ts';
import { apiEvent } from '../test/support/event.ts';
import { onCleanup } from './children.ts';
import { ROOT } from './esbuild-options.ts';

/**
 * How to call each endpoint the bench knows. Functions in serverless.yml without
 * a recipe here are measured for size and cold init only (reported as such).
 *   - login: a fresh code of the round's user (the fake accepts each code once);
 *   - checklogin, credit, userinfo: that user's latest token;
 *   - logout: a spare session (a pool filled by the setup logins and topped up
 *     by every measured login), so the read endpoints keep a live token;
 *   - spend: 1 point under a fresh idempotency key (users start with 100);
 *   - checkin: a repeat of today's check-in (granted 0: one read); the first of
 *     the day, which moves credit, is measured apart (CHECKIN_FIRST);
 *   - history: the newest 20 entries;
 *   - profile: GET /profile; nickname: PUT /profile with a new nickname (WeChat's
 *     msg_sec_check at the fake, then the write). The avatar upload needs S3, which
 *     the bench does not run: it is measured for size and cold init only.
 */
export const RECIPES = [
  'login',
  'checklogin',
  'credit',
  'userinfo',
  'logout',
  'spend',
  'checkin',
  'history',
  'profile',
  'nickname',
] as const satisfies readonly RouteName[];
/** Measured apart from the rounds (see runWarm), reported as a budget only. */
export const LOGOUT_ALL = 'logout?all=1';
/** Each user's first check-in of the day (a grant), measured once per user before the rounds. */
export const CHECKIN_FIRST = 'checkin (first today)';
export type Endpoint = string;

const APP_ID = 'wx0000000000000000';
const APP_SECRET = 'local-fake-app-secret';

/** What one request did. */
interface Meter {
  /** Wall time with at least one DynamoDB call in flight: calls made in parallel count once. */
  dynamoMs: number;
  inFlight: number;
  busySince: number;
  wechatMs: number;
  wechatCalls: number;
  calls: number;
  strongReads: number;
  eventualReads: number;
  writes: number;
  transactions: number;
  retries: number;
  readUnits: number;
  writeUnits: number;
  capacityReported: boolean;
  commands: { command: string; ms: number }[];
}

const newMeter = (): Meter => ({
  dynamoMs: 0,
  inFlight: 0,
  busySince: 0,
  wechatMs: 0,
  wechatCalls: 0,
  calls: 0,
  strongReads: 0,
  eventualReads: 0,
  writes: 0,
  transactions: 0,
  retries: 0,
  readUnits: 0,
  writeUnits: 0,
  capacityReported: true,
  commands: [],
});

export interface EndpointResult {
  endpoint: Endpoint;
  totalMs: number[];
  dynamoMs: number[];
  wechatMs: number[];
  ownMs: number[];
  meters: Meter[];
  non200: number;
  firstError?: string;
}

export interface WarmResult {
  /** Benched endpoints, in serverless.yml order. */
  order: Endpoint[];
  endpoints: Record<Endpoint, EndpointResult>;
  /** Functions without a recipe in bench/warm.ts. */
  skipped: string[];
  /** Latency of single DynamoDB calls by command, over all measured requests. */
  commandMs: Record<string, number[]>;
  capacityReported: boolean;
  warmup: number;
  calls: number;
  dynamoStartMs: number;
}

type CommandKind = 'read' | 'write' | 'other';
const kindOf = (command: string): CommandKind =>
  /^(GetItem|BatchGetItem|Query|Scan|TransactGetItems)Command$/.test(command)
    ? 'read'
    : /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)Command$/.test(command)
      ? 'write'
      : 'other';

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

export async function runWarm(options: {
  /** function name -> handler entry (from serverless.yml). */
  functions: Record<string, { entry: string }>;
  /** The stage the functions were packaged for: its table names are created locally. */
  stage: string;
  /** Every function's environment as packaged; their union is what the handlers run with. */
  environment: Record<string, string>;
  warmup: number;
  calls: number;
  users: number;
}): Promise<WarmResult> {
  const order = Object.keys(options.functions).filter((name) => (RECIPES as readonly string[]).includes(name));
  const skipped = Object.keys(options.functions).filter((name) => !order.includes(name));
  if (!order.includes('login')) throw new Error('serverless.yml has no login function: the warm bench needs it to make sessions');
  const dynamoStarted = performance.now();
  const dynamo = await startLocalDynamo();
  const forgetDynamo = onCleanup(() => dynamo.stop());
  const dynamoStartMs = performance.now() - dynamoStarted;
  const fake = await startFakeWeChat({ appId: APP_ID, secret: APP_SECRET });
  const forgetFake = onCleanup(() => fake.close());

  // The stage's tables (names as serverless.yml gives them), in this fresh in-memory DynamoDB Local.
  const tables = tableNamesFor(options.stage);
  await createTables(dynamo.client, tables as unknown as TableNames);

  // The functions' own settings, then the local ones: fake WeChat, DynamoDB Local, a local AppSecret.
  const env: Record<string, string> = {
    ...options.environment,
    WECHAT_APPID: APP_ID,
    WECHAT_SECRET: APP_SECRET,
    WECHAT_API_BASE: fake.url,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // The bench sets many nicknames per user per hour: a bound it does not measure must not refuse them (its write is measured).
    NICKNAME_CHECKS_PER_HOUR: '10000',
  };
  // What the handler modules read at import (they build their own production deps, unused here).
  Object.assign(process.env, env);

  let current: Meter | undefined;
  let capacityReported = true;

  const config = readConfig(env);
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const forgetDb = onCleanup(() => db.destroy());
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        ReturnConsumedCapacity?: string;
        ConsistentRead?: boolean;
        RequestItems?: Record<string, { ConsistentRead?: boolean }>;
      };
      input.ReturnConsumedCapacity = 'TOTAL';
      const command = context.commandName ?? 'UnknownCommand';
      const meter = current;
      const started = performance.now();
      if (meter && meter.inFlight++ === 0) meter.busySince = started;
      let output: { ConsumedCapacity?: Capacity | Capacity[]; $metadata?: { attempts?: number } } | undefined;
      try {
        const result = await next(args);
        output = result.output as typeof output;
        return result;
      } finally {
        const elapsed = performance.now() - started;
        if (meter) {
          if (--meter.inFlight === 0) meter.dynamoMs += performance.now() - meter.busySince;
          meter.calls++;
          meter.commands.push({ command, ms: elapsed });
          meter.retries += Math.max(0, (output?.$metadata?.attempts ?? 1) - 1);
          const kind = kindOf(command);
          if (kind === 'read') {
            // A BatchGetItem says it per table.
            const batch = input.RequestItems && Object.values(input.RequestItems);
            if (input.ConsistentRead === true || (batch && batch.length > 0 && batch.every((table) => table.ConsistentRead === true)))
              meter.strongReads++;
            else meter.eventualReads++;
          } else if (kind === 'write') {
            meter.writes++;
          }
          if (command === 'TransactWriteItemsCommand' || command === 'TransactGetItemsCommand') meter.transactions++;
          const consumed = output?.ConsumedCapacity;
          if (consumed === undefined) {
            if (output) {
              meter.capacityReported = false;
              capacityReported = false;
            }
          } else {
            for (const c of Array.isArray(consumed) ? consumed : [consumed]) {
              const units = c.CapacityUnits ?? 0;
              if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
                meter.readUnits += c.ReadCapacityUnits ?? 0;
                meter.writeUnits += c.WriteCapacityUnits ?? 0;
              } else if (kind === 'read') meter.readUnits += units;
              else meter.writeUnits += units;
            }
          }
        }
      }
    },
    { step: 'initialize', priority: 'high', name: 'benchDynamoMeter' },
  );

  const timedFetch: typeof fetch = async (input, init) => {
    const meter = current;
    const started = performance.now();
    try {
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } finally {
      if (meter) {
        meter.wechatMs += performance.now() - started;
        meter.wechatCalls++;
      }
    }
  };

  // As production wires it (lib/wiring.ts), on the metered client and fetch.
  const deps = allDeps(config, { db, fetch: timedFetch });

  // Imported only now: the modules read the environment above at import.
  type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  const handlers: Record<Endpoint, Handler> = {};
  for (const name of order) {
    const module = (await import(pathToFileURL(join(ROOT, options.functions[name]!.entry)).href)) as {
      createHandler?: (deps: LoginDeps & WeChatApiDeps & LedgerDeps & ProfileDeps) => Handler;
    };
    if (typeof module.createHandler !== 'function') throw new Error(`${options.functions[name]!.entry} exports no createHandler(deps)`);
    handlers[name] = module.createHandler(deps);
  }
  const login = handlers.login!;

  try {
    // Users, each logged in once (not measured): their first login creates them.
    const run = `b${Date.now().toString(36)}`;
    const users: { name: string; token: string; userinfo: SignedUserData }[] = [];
    const spareTokens: string[] = [];
    for (let i = 0; i < options.users; i++) {
      const name = `${run}u${i}`;
      const token = tokenOf(await login(loginEvent(`${name}.0`)), 'setup login');
      spareTokens.push(tokenOf(await login(loginEvent(`${name}.00`)), 'setup login'));
      const { openid, unionid, sessionKey } = fake.user(name);
      users.push({ name, token, userinfo: userInfoPayload({ openid, unionid, sessionKey, appId: APP_ID, nickName: name }) });
    }

    const results = Object.fromEntries(
      order.map((endpoint) => [
        endpoint,
        { endpoint, totalMs: [], dynamoMs: [], wechatMs: [], ownMs: [], meters: [], non200: 0 } satisfies EndpointResult,
      ]),
    ) as Record<Endpoint, EndpointResult>;

    const measureApart = async (name: string, handler: Handler, eventOf: (user: (typeof users)[number]) => APIGatewayProxyEventV2) => {
      const apart: EndpointResult = { endpoint: name, totalMs: [], dynamoMs: [], wechatMs: [], ownMs: [], meters: [], non200: 0 };
      for (const user of users) {
        const meter = newMeter();
        current = meter;
        const started = performance.now();
        const reply = await handler(eventOf(user));
        const totalMs = performance.now() - started;
        current = undefined;
        if (reply.statusCode !== 200) {
          apart.non200++;
          apart.firstError ??= `${reply.statusCode} ${String(reply.body).slice(0, 200)}`;
        }
        apart.totalMs.push(totalMs);
        apart.dynamoMs.push(meter.dynamoMs);
        apart.wechatMs.push(meter.wechatMs);
        apart.ownMs.push(totalMs - meter.dynamoMs - meter.wechatMs);
        apart.meters.push(meter);
      }
      results[name] = apart;
    };
    // The first check-in of the day moves credit (a transaction); every later one today is a read.
    if (order.includes('checkin')) {
      await measureApart(CHECKIN_FIRST, handlers.checkin!, (user) => routed('checkin', { headers: { authorization: `Bearer ${user.token}` } }));
    }

    let loginSeq = 0;
    let spendSeq = 0;
    const eventFor = (endpoint: Endpoint, user: (typeof users)[number]): APIGatewayProxyEventV2 => {
      const auth = { authorization: `Bearer ${user.token}` };
      switch (endpoint) {
        case 'login':
          return loginEvent(`${user.name}.${++loginSeq}`);
        case 'checklogin':
          return routed('checklogin', { headers: auth });
        case 'credit':
          return routed('credit', { headers: auth });
        case 'userinfo':
          return routed('userinfo', { headers: auth, body: user.userinfo });
        case 'logout': {
          const spare = spareTokens.shift();
          if (!spare) throw new Error('no spare session left for /logout');
          return routed('logout', { headers: { authorization: `Bearer ${spare}` } });
        }
        case 'spend':
          return routed('spend', { headers: auth, body: { amount: 1, key: `bench-spend-${++spendSeq}` } });
        case 'checkin':
          return routed('checkin', { headers: auth });
        case 'history':
          return routed('history', { headers: auth, query: { limit: '20' } });
        case 'profile':
          return routed('profile', { headers: auth });
        case 'nickname':
          return routed('nickname', { headers: auth, body: { nickName: `bench ${++spendSeq}` } });
        default:
          throw new Error(`no recipe for ${endpoint}`);
      }
    };

    const rounds = options.warmup + options.calls;
    for (let round = 0; round < rounds; round++) {
      const measured = round >= options.warmup;
      const user = users[round % users.length]!;
      for (let i = 0; i < order.length; i++) {
        const endpoint = order[(i + round) % order.length]!;
        const event = eventFor(endpoint, user);
        const meter = newMeter();
        current = meter;
        const started = performance.now();
        const reply = await handlers[endpoint]!(event);
        const totalMs = performance.now() - started;
        current = undefined;
        const r = results[endpoint]!;
        if (reply.statusCode !== 200) {
          r.non200++;
          r.firstError ??= `${reply.statusCode} ${String(reply.body).slice(0, 200)}`;
        }
        if (endpoint === 'login' && reply.statusCode === 200) {
          // The previous token becomes a spare for /logout; the read endpoints use the newest.
          spareTokens.push(user.token);
          user.token = tokenOf(reply, 'login');
        }
        if (!measured) continue;
        r.totalMs.push(totalMs);
        r.dynamoMs.push(meter.dynamoMs);
        r.wechatMs.push(meter.wechatMs);
        r.ownMs.push(totalMs - meter.dynamoMs - meter.wechatMs);
        r.meters.push(meter);
      }
    }
    // Logging out everywhere (#12), once per user after the rounds: it ends all of the user's sessions, so never inside them.
    if (order.includes('logout')) {
      await measureApart(LOGOUT_ALL, handlers.logout!, (user) =>
        routed('logout', { headers: { authorization: `Bearer ${user.token}` }, query: { all: '1' } }),
      );
    }
    const commandMs: Record<string, number[]> = {};
    for (const r of Object.values(results)) {
      for (const meter of r.meters) for (const { command, ms } of meter.commands) (commandMs[command] ??= []).push(ms);
    }
    return { order, endpoints: results, skipped, commandMs, capacityReported, warmup: options.warmup, calls: options.calls, dynamoStartMs };
  } finally {
    db.destroy();
    forgetDb();
    await fake.close();
    forgetFake();
    await dynamo.stop();
    forgetDynamo();
  }
}

/** An event on the function's own route (the route table's method and path). */
function routed(name: RouteName, input: Omit<NonNullable<Parameters<typeof apiEvent>[0]>, 'method' | 'path'>): APIGatewayProxyEventV2 {
  const { method, path } = FUNCTIONS[name];
  return apiEvent({ method, path, ...input });
}

function loginEvent(code: string): APIGatewayProxyEventV2 {
  return routed('login', { body: { code } });
}

function tokenOf(reply: APIGatewayProxyStructuredResultV2, what: string): string {
  const body = JSON.parse(String(reply.body)) as { token?: unknown };
  if (reply.statusCode !== 200 || typeof body.token !== 'string') {
    throw new Error(`${what} failed: ${reply.statusCode} ${String(reply.body).slice(0, 300)}`);
  }
  return body.token;
}

/** custom.tableNames of serverless.yml resolved for a stage, whatever tables it lists. */
function tableNamesFor(stage: string): Record<string, string> {
  const yml = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    service: string;
    custom?: { tableNames?: Record<string, string> };
  };
  return Object.fromEntries(
    Object.entries(yml.custom?.tableNames ?? {}).map(([key, template]) => [
      key,
      template.replaceAll('${self:service}', yml.service).replaceAll('${sls:stage}', stage),
    ]),
  );
}
