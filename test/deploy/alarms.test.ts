import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { logger } from '#lib/kernel/log';
import { allDeps } from '#lib/wiring';
import { freePort } from '../../local/ports.ts';
import { ROOT } from '../../local/state.ts';
import { validateTemplate } from '../support/cfn-spec.ts';
import { apiEvent } from '../support/event.ts';
import { api, type Reply } from '../support/invoke.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { captureOutput } from '../support/log-capture.ts';
import {
  type AlarmSpec,
  alarmState,
  applyMetricFilter,
  type MetricTransformation,
  metricKey,
  type PeriodData,
  parseFilterPattern,
} from '../support/metric-filter.ts';
import { rawHandlers } from '../support/raw.ts';
import { startTestStack, type TestDeps, type TestStack } from '../support/stack.ts';

/**
 * The packaged template's alarms, proven offline: the real handlers are driven into each failure, the log lines they
 * really write are run through the template's own metric filters, and each alarm is evaluated (statistic, period,
 * threshold, datapoints to alarm) over a stated failure rate: it must go to ALARM in an outage, and stay OK over a
 * healthy run of the same size (with one user's bad request in it). Every alarm must watch a metric something
 * produces: a metric filter of the stack, or an AWS namespace with the dimensions AWS publishes it with.
 */
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
let template: { Resources: Record<string, Resource>; Outputs: Record<string, any> };
let dir: string;
const WORK_FOLDER = `.esbuild/alarms-test-${process.pid}`;
const EMAIL = 'ops@example.com';

/** What CloudFormation's Ref gives for the resources alarms name (the API's id is made up: AWS assigns it). */
function ref(id: string): string {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`Ref to ${id}, which the template does not have`);
  if (resource.Type === 'AWS::Lambda::Function') return resource.Properties.FunctionName;
  if (resource.Type === 'AWS::DynamoDB::Table') return resource.Properties.TableName;
  if (resource.Type === 'AWS::Logs::LogGroup') return resource.Properties.LogGroupName;
  if (resource.Type === 'AWS::ApiGatewayV2::Api') return 'abc123';
  if (resource.Type === 'AWS::SNS::Topic') return `arn:aws:sns:us-east-1:123456789012:${resource.Properties.TopicName}`;
  throw new Error(`Ref to a ${resource.Type} is not resolved here`);
}
const resolve = (value: unknown): any => {
  if (Array.isArray(value)) return value.map(resolve);
  if (typeof value !== 'object' || value === null) return value;
  if ('Ref' in value) return ref((value as { Ref: string }).Ref);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
};
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
/** The alarms by name, less the stack's prefix (`wechat-login-prod-`), their Refs resolved. */
const alarms = (): Record<string, AlarmSpec & Record<string, any>> =>
  Object.fromEntries(
    ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.AlarmName.replace(/^wechat-login-prod-/, ''), resolve(r.Properties)]),
  );

/** Each function's log group → its metric filters. */
function filtersByLogGroup() {
  const byGroup = new Map<string, { pattern: string; transformation: MetricTransformation }[]>();
  for (const [, filter] of ofType('AWS::Logs::MetricFilter')) {
    const group = ref(filter.Properties.LogGroupName.Ref);
    for (const transformation of filter.Properties.MetricTransformations) {
      byGroup.set(group, [...(byGroup.get(group) ?? []), { pattern: filter.Properties.FilterPattern, transformation }]);
    }
  }
  return byGroup;
}

/** Log lines of one minute, per function, through the template's filters: what CloudWatch would publish that minute. */
function publish(minute: { fn: string; lines: string[] }[], extra: Record<string, number[]> = {}): PeriodData {
  const data: PeriodData = new Map(Object.entries(extra));
  const byGroup = filtersByLogGroup();
  for (const { fn, lines } of minute) {
    const filters = byGroup.get(`/aws/lambda/wechat-login-prod-${fn}`) ?? [];
    for (const line of lines) {
      for (const { pattern, transformation } of filters) {
        for (const point of applyMetricFilter(pattern, transformation, line))
          data.set(point.metric, [...(data.get(point.metric) ?? []), point.value]);
      }
    }
  }
  return data;
}

/** Minutes of data grouped into the alarm's own period (e.g. 5 minutes for a 300 s alarm). */
function periodsOf(alarm: AlarmSpec, minutes: PeriodData[]): PeriodData[] {
  const size = ((alarm.Period ?? alarm.Metrics?.find((m) => m.MetricStat)?.MetricStat?.Period ?? 60) as number) / 60;
  const periods: PeriodData[] = [];
  for (let i = 0; i < minutes.length; i += size) {
    const merged: PeriodData = new Map();
    for (const minute of minutes.slice(i, i + size)) for (const [k, v] of minute) merged.set(k, [...(merged.get(k) ?? []), ...v]);
    periods.push(merged);
  }
  return periods;
}

// ---------------------------------------------------------------------------------------------------------------
// The real handlers, their log lines captured as Lambda would ship them (one bare JSON line per request).

let stack: TestStack;
const chunks: string[] = [];
let previousLevel: string;

async function capture(run: () => Promise<unknown>): Promise<string[]> {
  const from = chunks.length;
  await run();
  return chunks
    .slice(from)
    .join('')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'));
}

/** Deps as production wires them, with one thing broken. */
function depsWith(config: Partial<TestStack['config']>, options: Parameters<typeof allDeps>[1] = {}): TestDeps {
  const merged = { ...stack.config, ...config };
  const db = options.db ?? createDocumentClient({ region: merged.region, endpoint: merged.dynamodbEndpoint });
  return allDeps(merged, { now: stack.clock.now, busyRetryDelayMs: 20, db, ...options }) as TestDeps;
}

let n = 0;
const code = (user: string) => `${user}.${process.pid}${n++}`;
let healthyToken = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alarms-'));
  const env: NodeJS.ProcessEnv = { ...process.env, WECHAT_APPID: 'wx1234567890abcdef', ESBUILD_WORK_FOLDER: WORK_FOLDER, ALARM_EMAIL: EMAIL };
  delete env.AVATARS_BUCKET;
  for (const name of Object.keys(env)) if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(name)) delete env[name];
  execFileSync(`${ROOT}node_modules/.bin/serverless`, ['package', '--stage', 'prod', '--package', dir], {
    cwd: ROOT,
    env,
    stdio: 'pipe',
    timeout: 150_000,
  });
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));

  stack = await startTestStack({ WECHAT_TIMEOUT_MS: '300' });
  previousLevel = logger.getLevelName();
  logger.setLogLevel('INFO');
  captureOutput(chunks);
  healthyToken = ((await api(stack.deps).login(code('alice'))).body as { token: string }).token;
});

afterAll(async () => {
  vi.restoreAllMocks();
  if (previousLevel) logger.setLogLevel(previousLevel as Parameters<typeof logger.setLogLevel>[0]);
  await stack?.close();
  rmSync(join(ROOT, WORK_FOLDER), { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------

interface Outage {
  /** The alarm (its name less the stack's prefix) that must fire. */
  alarm: string;
  fn: string;
  /** One request driven into the failure; its log lines are the outage's. */
  fail: () => Promise<unknown>;
  /** One healthy request of the same function. */
  ok: () => Promise<unknown>;
  /** Requests a minute (the stated rate) and the share that fails in the outage. */
  perMinute: number;
  failing: number;
  /** Alarms that page on the first occurrence: the healthy run has none of them. */
  onFirst?: boolean;
}

const login =
  (deps: () => TestDeps, user = 'user') =>
  () =>
    api(deps()).login(code(user));
const healthyLogin = login(() => stack.deps, 'healthy');
const healthyCredit = () => api(stack.deps).credit(healthyToken);
const hangingFetch = (() => new Promise(() => undefined)) as unknown as typeof fetch;

const OUTAGES: Record<string, () => Outage> = {
  'WeChat busy (-1) on every login': () => ({
    alarm: 'wechat-unavailable-jscode2session',
    fn: 'login',
    fail: () => api(stack.deps).login('fail--1'),
    ok: healthyLogin,
    perMinute: 20,
    failing: 1,
  }),
  'WeChat timing out on every login': () => ({
    alarm: 'wechat-unavailable-jscode2session',
    fn: 'login',
    fail: async () => {
      stack.fake.script(() => 'hang');
      try {
        return await api(stack.deps).login(code('slow'));
      } finally {
        stack.fake.script(undefined);
      }
    },
    ok: healthyLogin,
    perMinute: 20,
    failing: 1,
  }),
  'WeChat unreachable (connection refused)': () => ({
    alarm: 'wechat-unavailable-jscode2session',
    fn: 'login',
    fail: async () => api(depsWith({ wechatApiBase: `http://127.0.0.1:${await freePort()}` })).login(code('refused')),
    ok: healthyLogin,
    perMinute: 20,
    failing: 1,
  }),
  'WeChat answering HTML': () => ({
    alarm: 'wechat-unavailable-jscode2session',
    fn: 'login',
    fail: async () => {
      stack.fake.script(() => ({ status: 502, text: '<html>bad gateway</html>', contentType: 'text/html' }));
      try {
        return await api(stack.deps).login(code('html'));
      } finally {
        stack.fake.script(undefined);
      }
    },
    ok: healthyLogin,
    perMinute: 20,
    failing: 1,
  }),
  'WeChat refusing the AppSecret (40125)': () => ({
    alarm: 'wechat-misconfigured',
    fn: 'login',
    fail: () => api(stack.deps).login('fail-40125'),
    ok: healthyLogin,
    perMinute: 20,
    failing: 1,
    onFirst: true,
  }),
  'DynamoDB stopped (nothing listening)': () => ({
    alarm: 'storage-unavailable',
    fn: 'credit',
    fail: async () => api(depsWith({ dynamodbEndpoint: `http://127.0.0.1:${await freePort()}` })).credit(healthyToken),
    ok: healthyCredit,
    perMinute: 20,
    failing: 1,
  }),
  'a deadline passed (a wait nothing bounds)': () => ({
    alarm: 'deadline-exceeded',
    fn: 'login',
    fail: () =>
      rawHandlers(depsWith({}, { fetch: hangingFetch }))(
        'login',
        apiEvent({ method: 'POST', path: '/login', body: JSON.stringify({ code: code('late') }) }),
        lambdaContext(800),
      ),
    ok: healthyLogin,
    perMinute: 20,
    failing: 0.5,
  }),
  'a bug: DynamoDB refuses our request (ValidationException)': () => ({
    alarm: 'unhandled-errors',
    fn: 'credit',
    fail: () => {
      const db = createDocumentClient({ region: stack.config.region, endpoint: stack.config.dynamodbEndpoint });
      db.middlewareStack.add(
        () => async () => {
          throw Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException', $metadata: {} });
        },
        { step: 'initialize' },
      );
      return api(depsWith({}, { db })).credit(healthyToken);
    },
    ok: healthyCredit,
    perMinute: 20,
    failing: 0.25,
  }),
  'the paid phone-number quota used up (1400001)': () => ({
    alarm: 'phone-quota-exhausted',
    fn: 'phonenumber',
    fail: () => api(stack.deps).phonenumber(healthyToken, { code: 'fail-1400001', replace: true }),
    ok: () => api(stack.deps).profile(healthyToken),
    perMinute: 5,
    failing: 1,
    onFirst: true,
  }),
  'a farm of fake accounts (WeChat rates new users risky)': () => ({
    alarm: 'signups-held',
    fn: 'login',
    fail: login(() => stack.deps, 'risk3'),
    ok: login(() => stack.deps, 'newbie'),
    perMinute: 20,
    failing: 0.6,
  }),
};

const MINUTES = 5;

/** `perMinute` lines a minute for MINUTES minutes, `failing` of them from the failing lines (cycled), the rest healthy. */
function run(fn: string, failingLines: string[], okLines: string[], perMinute: number, failing: number) {
  const minutes: { fn: string; lines: string[] }[][] = [];
  let f = 0;
  let o = 0;
  for (let m = 0; m < MINUTES; m++) {
    const lines: string[] = [];
    const bad = Math.round(perMinute * failing);
    for (let i = 0; i < bad; i++) lines.push(failingLines[f++ % failingLines.length]!);
    for (let i = bad; i < perMinute; i++) lines.push(okLines[o++ % okLines.length]!);
    minutes.push([{ fn, lines }]);
  }
  return minutes;
}

/** API Gateway's 5xx metric (Average = the share of 5xx) for a minute of replies. */
const api5xx = (statuses: number[]) => ({
  [metricKey('AWS/ApiGateway', '5xx', { ApiId: 'abc123', Stage: '$default' })]: statuses.map((s) => (s >= 500 ? 1 : 0)),
});

describe('each failure that matters, driven through the real handlers, fires its alarm; a healthy run of the same size does not', () => {
  it.each(Object.keys(OUTAGES))('%s', { timeout: 60_000 }, async (name) => {
    const outage = OUTAGES[name]!();
    const failingLines: string[] = [];
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) {
      failingLines.push(
        ...(await capture(async () => {
          replies.push((await outage.fail()) as Reply);
        })),
      );
    }
    const okLines: string[] = [];
    for (let i = 0; i < 3; i++) okLines.push(...(await capture(outage.ok)));
    expect(failingLines.length, 'one log line per request').toBe(3);
    expect(okLines.length).toBe(3);
    for (const line of okLines) expect(JSON.parse(line).status, line).toBe(200);

    const alarm = alarms()[outage.alarm];
    expect(alarm, outage.alarm).toBeDefined();
    const outageRun = run(outage.fn, failingLines, okLines, outage.perMinute, outage.failing).map((minute) => publish(minute));
    expect(alarmState(alarm!, periodsOf(alarm!, outageRun)), `${outage.alarm} in the outage`).toBe('ALARM');

    // Healthy, same size; one user's bad request in it unless the alarm pages on the first.
    const healthy = run(outage.fn, failingLines, okLines, outage.perMinute, 0);
    if (!outage.onFirst) healthy[2]![0]!.lines[0] = failingLines[0]!;
    expect(
      alarmState(
        alarm!,
        periodsOf(
          alarm!,
          healthy.map((minute) => publish(minute)),
        ),
      ),
      `${outage.alarm} healthy`,
    ).toBe('OK');

    // The 5xx outages also fire the stage's 5xx-rate alarm, from the statuses the handlers really answered.
    const statuses = replies.map((r) => r.status ?? (r as unknown as { statusCode: number }).statusCode);
    if (statuses.every((s) => s >= 500) && outage.failing === 1) {
      const rate = alarms()['api-5xx-rate']!;
      const minutes = Array.from({ length: MINUTES }, () => publish([], api5xx(Array(outage.perMinute).fill(statuses[0]))));
      expect(alarmState(rate, periodsOf(rate, minutes))).toBe('ALARM');
      const calm = Array.from({ length: MINUTES }, (_, m) =>
        publish([], api5xx([...Array(outage.perMinute - 1).fill(200), m === 2 ? statuses[0]! : 200])),
      );
      expect(alarmState(rate, periodsOf(rate, calm))).toBe('OK');
    }
  });

  it('every WeChat failure line names its API (the WeChatFailures dimension), and none names a user', { timeout: 60_000 }, async () => {
    const lines = [
      ...(await capture(() => OUTAGES['WeChat timing out on every login']!().fail())),
      ...(await capture(() => OUTAGES['WeChat unreachable (connection refused)']!().fail())),
      ...(await capture(() => OUTAGES['WeChat answering HTML']!().fail())),
      ...(await capture(() => OUTAGES['WeChat busy (-1) on every login']!().fail())),
    ];
    const [wechat] = ofType('AWS::Logs::MetricFilter').filter(([, f]) => f.Properties.MetricTransformations[0].MetricName === 'WeChatFailures');
    const matches = parseFilterPattern(wechat![1].Properties.FilterPattern);
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(matches(line), line).toBe(true);
      expect(JSON.parse(line).api, line).toBe('jscode2session');
    }
  });
});

describe('AWS metrics: the alarms fire on the data AWS would publish, and stay quiet without it', () => {
  const minutesOf = (metrics: (m: number) => Record<string, number[]>) => Array.from({ length: MINUTES }, (_, m) => publish([], metrics(m)));
  const lambda = (name: string, fn: string) => metricKey('AWS/Lambda', name, { FunctionName: `wechat-login-prod-${fn}` });
  const dynamo = (name: string, table: string, operation: string) =>
    metricKey('AWS/DynamoDB', name, { TableName: `wechat-login-prod-${table}`, Operation: operation });

  it.each([
    [
      'Lambda Errors of login',
      'lambda-errors-1',
      (m: number) => ({ [lambda('Errors', 'login')]: [m >= 2 ? 3 : 0] }),
      (m: number) => ({ [lambda('Errors', 'login')]: [m === 2 ? 1 : 0] }),
    ],
    ['Lambda Errors of avatar', 'lambda-errors-2', () => ({ [lambda('Errors', 'avatar')]: [2] }), () => ({ [lambda('Errors', 'avatar')]: [0] })],
    [
      'Lambda Throttles of credit',
      'lambda-throttles-1',
      () => ({ [lambda('Throttles', 'credit')]: [5] }),
      (m: number) => ({ [lambda('Throttles', 'credit')]: [m === 0 ? 1 : 0] }),
    ],
    [
      'Lambda Duration of login above 14 s',
      'lambda-duration-1',
      () => ({ [lambda('Duration', 'login')]: [120, 15_000] }),
      () => ({ [lambda('Duration', 'login')]: [120, 900] }),
    ],
    [
      'DynamoDB throttling the users table (transactions)',
      'dynamodb-throttled-users',
      () => ({ [dynamo('ThrottledRequests', 'users', 'TransactWriteItems')]: [4] }),
      (m: number) => ({ [dynamo('ThrottledRequests', 'users', 'TransactWriteItems')]: [m === 1 ? 1 : 0] }),
    ],
    [
      'DynamoDB system errors on the ledger',
      'dynamodb-system-errors-ledger',
      () => ({ [dynamo('SystemErrors', 'ledger', 'PutItem')]: [2] }),
      () => ({ [dynamo('SystemErrors', 'ledger', 'PutItem')]: [0] }),
    ],
  ])('%s', (_name, id, outage, healthy) => {
    const alarm = alarms()[id]!;
    expect(alarm, id).toBeDefined();
    expect(alarmState(alarm, periodsOf(alarm, minutesOf(outage)))).toBe('ALARM');
    expect(alarmState(alarm, periodsOf(alarm, minutesOf(healthy)))).toBe('OK');
  });

  it("the duration alarms fire above half the functions' timeout", () => {
    const timeout = template.Resources.LoginLambdaFunction!.Properties.Timeout as number;
    for (const [id, alarm] of Object.entries(alarms()).filter(([id]) => id.startsWith('lambda-duration'))) {
      expect(alarm.Threshold, id).toBe((timeout * 1000) / 2);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** The dimensions AWS publishes each metric we alarm on with (CloudWatch user guide, per service). */
const AWS_METRICS: Record<string, { metrics: string[]; dimensions: string[] }> = {
  'AWS/Lambda': { metrics: ['Errors', 'Throttles', 'Duration'], dimensions: ['FunctionName'] },
  'AWS/DynamoDB': { metrics: ['ThrottledRequests', 'SystemErrors'], dimensions: ['Operation', 'TableName'] },
  'AWS/ApiGateway': { metrics: ['5xx', '4xx', 'Count', 'Latency'], dimensions: ['ApiId', 'Stage'] },
};
const DYNAMODB_OPERATIONS = [
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchGetItem',
  'BatchWriteItem',
  'Query',
  'Scan',
  'TransactWriteItems',
  'TransactGetItems',
];

/** Why an alarm's metric would have no data: nothing in the stack emits it, or not with those dimensions. Empty: it is produced. */
function unproduced(t: typeof template, alarm: Record<string, any>): string[] {
  const problems: string[] = [];
  const stats: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: any }[] }[] = alarm.Metrics
    ? alarm.Metrics.filter((q: any) => q.MetricStat).map((q: any) => q.MetricStat.Metric)
    : [alarm];
  const stage = Object.values(t.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')?.Properties.StageName;
  for (const { Namespace, MetricName, Dimensions = [] } of stats) {
    const names = Dimensions.map((d) => d.Name).sort();
    const known = AWS_METRICS[Namespace];
    if (known) {
      if (!known.metrics.includes(MetricName)) problems.push(`${Namespace} ${MetricName}: not a metric this check knows`);
      if (JSON.stringify(names) !== JSON.stringify(known.dimensions))
        problems.push(`${Namespace} ${MetricName} is published per ${known.dimensions.join('+')}, not ${names.join('+') || 'nothing'}`);
      for (const { Name, Value } of Dimensions) {
        const expectedType = { FunctionName: 'AWS::Lambda::Function', TableName: 'AWS::DynamoDB::Table', ApiId: 'AWS::ApiGatewayV2::Api' }[Name];
        if (expectedType && t.Resources[Value?.Ref]?.Type !== expectedType)
          problems.push(`${Name} must Ref a ${expectedType} of the stack, got ${JSON.stringify(Value)}`);
        if (Name === 'Stage' && Value !== stage) problems.push(`Stage ${Value}: the HTTP API's stage is ${stage}`);
        if (Name === 'Operation' && !DYNAMODB_OPERATIONS.includes(Value)) problems.push(`Operation ${Value} is not a DynamoDB operation`);
      }
      continue;
    }
    const producers = Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::Logs::MetricFilter')
      .flatMap((r) => r.Properties.MetricTransformations as MetricTransformation[])
      .filter((tr) => tr.MetricNamespace === Namespace && tr.MetricName === MetricName);
    if (producers.length === 0) problems.push(`${Namespace} ${MetricName}: no metric filter of the stack emits it`);
    else if (!producers.some((tr) => JSON.stringify((tr.Dimensions ?? []).map((d) => d.Key).sort()) === JSON.stringify(names))) {
      problems.push(`${Namespace} ${MetricName} is emitted with other dimensions than ${names.join('+') || 'none'}`);
    }
  }
  return problems;
}

describe('the alarms as declared', () => {
  it('every alarm watches a metric something produces, with the dimensions it is produced with', () => {
    const all = ofType('AWS::CloudWatch::Alarm');
    expect(all.length).toBeGreaterThanOrEqual(20);
    for (const [id, alarm] of all) expect(unproduced(template, alarm.Properties), id).toEqual([]);
  });

  it('the check above fails an alarm on TableName alone, on a stage named otherwise, and on a metric nothing emits', () => {
    const users = { Ref: 'UsersTable' };
    expect(
      unproduced(template, { Namespace: 'AWS/DynamoDB', MetricName: 'ThrottledRequests', Dimensions: [{ Name: 'TableName', Value: users }] }),
    ).not.toEqual([]);
    expect(
      unproduced(template, {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Dimensions: [
          { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
          { Name: 'Stage', Value: 'prod' },
        ],
      }),
    ).not.toEqual([]);
    expect(unproduced(template, { Namespace: 'wechat-login/prod', MetricName: 'NobodyEmitsThis', Dimensions: [] })).not.toEqual([]);
    expect(unproduced(template, { Namespace: 'wechat-login/prod', MetricName: 'WeChatFailures', Dimensions: [] })).not.toEqual([]);
  });

  it('every alarm notifies the topic, on ALARM and on OK, and names its runbook section in README.md', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const runbook = readme.slice(readme.indexOf('\n## Runbook\n'));
    expect(runbook.length, 'README.md has a Runbook section').toBeGreaterThan(20);
    for (const [id, { Properties: alarm }] of ofType('AWS::CloudWatch::Alarm')) {
      expect(alarm.ActionsEnabled, id).toBe(true);
      expect(alarm.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.OKActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      const section = /Runbook: README\.md, Runbook, "([^"]+)"/.exec(alarm.AlarmDescription)?.[1];
      expect(section, id).toBeDefined();
      expect(runbook, `${id}: README.md ## Runbook has ### ${section}`).toContain(`\n### ${section}\n`);
    }
    expect(template.Resources.AlarmTopic!.Type).toBe('AWS::SNS::Topic');
    expect(template.Resources.AlarmEmailSubscription!.Properties).toEqual({ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: EMAIL });
  });

  it('metric filters read only the bounded fields of the log line: no dimension carries a user, token or other unbounded value', () => {
    for (const [id, filter] of ofType('AWS::Logs::MetricFilter')) {
      for (const transformation of filter.Properties.MetricTransformations as MetricTransformation[]) {
        for (const { Value } of transformation.Dimensions ?? []) expect(['$.api'], id).toContain(Value);
        expect(transformation.MetricValue, id).toBe('1');
      }
    }
  });

  it('every function has its log group filtered, and the alarms cover every function of the stack', () => {
    const functions = ofType('AWS::Lambda::Function').map(([, fn]) => fn.Properties.FunctionName as string);
    const groups = new Set(filtersByLogGroup().keys());
    for (const fn of functions) expect(groups, fn).toContain(`/aws/lambda/${fn}`);
    const watched = new Set(
      Object.values(alarms())
        .flatMap((a) => (a.Metrics ?? []).flatMap((q) => q.MetricStat?.Metric.Dimensions ?? []))
        .filter((d) => d.Name === 'FunctionName')
        .map((d) => d.Value),
    );
    expect([...watched].sort()).toEqual([...functions].sort());
  });

  it('a dashboard in the stack shows every alarm', () => {
    const body: string = template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'];
    const parsed = JSON.parse(body) as { widgets: { type: string; properties: { alarms?: string[] } }[] };
    const shown = parsed.widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
    expect(shown.map((arn) => arn.split(':alarm:')[1]).sort()).toEqual(
      Object.values(alarms())
        .map((a) => a.AlarmName)
        .sort(),
    );
  });
});

describe('the packaged template, against the CloudFormation resource specification (@aws-cdk/aws-service-spec)', () => {
  it('every resource type exists, every property is known and of the right type, required properties are present', { timeout: 60_000 }, async () => {
    expect(await validateTemplate(template)).toEqual([]);
  });

  it('the check fails an unknown type, an unknown property, a wrong type, a missing required property and a bad DeletionPolicy', {
    timeout: 60_000,
  }, async () => {
    const broken = structuredClone(template);
    broken.Resources.Bogus = { Type: 'AWS::Nothing::Here', Properties: {} };
    broken.Resources.AlarmTopic!.Properties.Colour = 'red';
    broken.Resources.HttpApiStage!.Properties.AutoDeploy = 'sometimes';
    delete broken.Resources.UsersTable!.Properties.KeySchema;
    (broken.Resources.LedgerTable as { DeletionPolicy?: string }).DeletionPolicy = 'Keep';
    const problems = await validateTemplate(broken);
    expect(problems.join('\n')).toMatch(/no resource type AWS::Nothing::Here/);
    expect(problems.join('\n')).toMatch(/AlarmTopic.*Colour: no such property/);
    expect(problems.join('\n')).toMatch(/HttpApiStage.*AutoDeploy: expected a boolean/);
    expect(problems.join('\n')).toMatch(/UsersTable.*KeySchema: required, missing/);
    expect(problems.join('\n')).toMatch(/LedgerTable: DeletionPolicy Keep/);
  });
});
