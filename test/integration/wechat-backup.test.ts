import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '#lib/kernel/log';
import { allDeps } from '#lib/wiring';
import { freePort } from '../../local/ports.ts';
import { api } from '../support/invoke.ts';
import { captureOutput } from '../support/log-capture.ts';
import { parseFilterPattern } from '../support/metric-filter.ts';
import { type RawHttpServer, startRawHttpServer } from '../support/raw-http.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * WeChat's disaster-recovery domain (WECHAT_API_BACKUP_BASE), over real HTTP: an attempt that cannot connect to the
 * main base (nothing listening: connection refused) is sent to the backup once, within the same bound, and the
 * request's log line says so; an attempt that was sent (the main base accepted it, then hung or dropped it) never
 * goes to the backup, since WeChat may have spent the login code already.
 */
const TIMEOUT_MS = 1000;
/** DynamoDB calls and scheduling on a loaded 2-core machine. */
const SLACK_MS = 1500;

const { stack } = useTestStack({ WECHAT_TIMEOUT_MS: String(TIMEOUT_MS) });

const chunks: string[] = [];
let previousLevel: string;
beforeAll(() => {
  previousLevel = logger.getLevelName();
  logger.setLogLevel('INFO');
  captureOutput(chunks);
});
afterAll(() => {
  vi.restoreAllMocks();
  logger.setLogLevel(previousLevel as Parameters<typeof logger.setLogLevel>[0]);
});

/** The one log line of the last request (every request writes exactly one with `endpoint`). */
function lastRequestLine(): Record<string, unknown> {
  const lines = chunks
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => 'endpoint' in l);
  const line = lines.at(-1);
  if (!line) throw new Error('no request log line');
  return line;
}

/** A login client whose main WeChat base is `main`, with the stack's fake WeChat (or `backup`) as the backup domain. */
const clientWith = (main: string, backup: string | undefined = stack.fake.url) =>
  api(allDeps({ ...stack.config, wechatApiBase: main, wechatApiBackupBase: backup }, { now: stack.clock.now, busyRetryDelayMs: 20 }));

/** The stack's alarms and dashboard as resources/alarms.cjs builds them for a stage. */
const alarms = createRequire(import.meta.url)('../../resources/alarms.cjs') as {
  build(o: { service: string; stage: string; timeoutSeconds: number }): {
    Resources: Record<
      string,
      {
        Type: string;
        Properties: {
          LogGroupName: { Ref: string };
          FilterPattern: string;
          MetricTransformations: { MetricName: string }[];
          DashboardBody: { 'Fn::Sub': string };
        };
      }
    >;
  };
};
const template = alarms.build({ service: 'wechat-login', stage: 'prod', timeoutSeconds: 28 });
/** The metric filters of the login function's log group that emit `metric`. */
const loginFilters = (metric: string) =>
  Object.values(template.Resources).filter(
    (r) =>
      r.Type === 'AWS::Logs::MetricFilter' &&
      r.Properties.LogGroupName.Ref === 'LoginLogGroup' &&
      r.Properties.MetricTransformations[0]?.MetricName === metric,
  );

const closedPort = async () => `http://127.0.0.1:${await freePort()}`;
const codesSent = (code: string) => stack.fake.codes.filter((c) => c === code).length;

describe('WeChat backup domain', () => {
  it('main base refusing connections: the login goes to the backup, succeeds, and its log line is marked', async () => {
    // A returning user: this login calls jscode2session alone (a new user's adds the risk check).
    expect((await api(stack.deps).login('backup1.1')).status).toBe(200);
    const client = clientWith(await closedPort());
    chunks.length = 0;
    const started = performance.now();
    const reply = await client.login('backup1.2');
    expect(reply.status, reply.raw).toBe(200);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(codesSent('backup1.2'), 'the backup (the fake) got the code once').toBe(1);
    const line = lastRequestLine();
    expect(line).toMatchObject({ endpoint: 'login', status: 200, wechatBackup: 'jscode2session' });
    // Counted: the stack's metric filter on the login log group matches the very line, and the dashboard shows the metric.
    const [filter] = loginFilters('WeChatBackupUsed');
    expect(filter, 'a WeChatBackupUsed metric filter on the login log group').toBeDefined();
    expect(parseFilterPattern(filter!.Properties.FilterPattern)(JSON.stringify(line))).toBe(true);
    expect(template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub']).toContain('"WeChatBackupUsed"');
    expect(await client.credit(String(reply.body.token))).toMatchObject({ status: 200, body: { credit: 100 } });
  });

  it("a new user's login marks every API it sent to the backup, once each", async () => {
    const reply = await clientWith(await closedPort()).login('backup2.1');
    expect(reply.status, reply.raw).toBe(200);
    const marked = String(lastRequestLine().wechatBackup).split(' ');
    expect(marked).toContain('jscode2session');
    expect(marked).toContain('getuserriskrank');
    expect(new Set(marked).size).toBe(marked.length);
  });

  it('a login that needs no backup has no mark', async () => {
    expect((await clientWith(stack.fake.url, await closedPort()).login('backup3.1')).status).toBe(200);
    const line = lastRequestLine();
    expect(line).not.toHaveProperty('wechatBackup');
    expect(parseFilterPattern(loginFilters('WeChatBackupUsed')[0]!.Properties.FilterPattern)(JSON.stringify(line))).toBe(false);
  });

  it('main and backup both refusing: 502 WECHAT_UNREACHABLE, the failure line marked as well', async () => {
    const reply = await clientWith(await closedPort(), await closedPort()).login('backup4.1');
    expect(reply.status).toBe(502);
    expect(reply.body.code).toBe('WECHAT_UNREACHABLE');
    expect(lastRequestLine()).toMatchObject({ endpoint: 'login', code: 'WECHAT_UNREACHABLE', wechatBackup: 'jscode2session', api: 'jscode2session' });
  });

  it('the backup is tried within the same bound: a hanging backup ends the attempt at the one timeout, not two', async () => {
    stack.fake.script((code) => (code === 'backup5.1' ? 'hang' : undefined));
    const started = performance.now();
    const reply = await clientWith(await closedPort()).login('backup5.1');
    const elapsed = performance.now() - started;
    expect(reply.status).toBe(504);
    expect(codesSent('backup5.1')).toBe(1);
    // No busy retry on a timeout: one attempt, one bound, the main base's refusal and the backup inside it.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  describe('a request the main base received is never sent to the backup (it may have spent the code)', () => {
    let server: RawHttpServer | undefined;
    afterAll(async () => server?.close());

    it('accepted, then no answer until the timeout: 504, the backup never asked', async () => {
      server = await startRawHttpServer(() => undefined);
      const started = performance.now();
      const reply = await clientWith(server.url).login('backup6.1');
      expect(reply.status).toBe(504);
      expect(reply.body.code).toBe('WECHAT_TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(server.requests).toHaveLength(1);
      expect(codesSent('backup6.1'), 'the backup got the code').toBe(0);
      expect(lastRequestLine()).not.toHaveProperty('wechatBackup');
      await server.close();
      server = undefined;
    });

    it('accepted, then the connection dropped: 502, the backup never asked', async () => {
      server = await startRawHttpServer((socket) => socket.destroy());
      const reply = await clientWith(server.url).login('backup7.1');
      expect(reply.status).toBe(502);
      expect(reply.body.code).toBe('WECHAT_UNREACHABLE');
      expect(server.requests).toHaveLength(1);
      expect(codesSent('backup7.1'), 'the backup got the code').toBe(0);
      expect(lastRequestLine()).not.toHaveProperty('wechatBackup');
    });
  });
});
