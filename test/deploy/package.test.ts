import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { DYNAMODB_CLEANUP_BOUND_MS, dynamoCallBoundMs } from '#lib/aws/dynamodb';
import { SSM_TIMEOUT_MS } from '#lib/aws/ssm';
import { MAX_WECHAT_TIMEOUT_MS } from '#lib/config';
import { legacyBalanceReadAttributes } from '#lib/credit/balance';
import { limitWriteAttributes } from '#lib/profile/user-limits';
import { type ProfileAttribute, profileWriteAttributes, replayMarkWriteAttributes } from '#lib/session/users';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { buildLikeService, FLOOR_ENTRY } from '../../bench/bundle.ts';
import { readServiceBuild, withFullCredentialChain } from '../../bench/esbuild-options.ts';
import { localDynamoClient } from '../../local/dynamodb.ts';
import { type FakeWeChat, startFakeWeChat } from '../../local/fake-wechat.ts';
import { ROOT } from '../../local/state.ts';
import { createTables } from '../../local/tables.ts';
import { deployedEnvironment } from '../support/cfn-intrinsics.ts';
import { apiEvent } from '../support/event.ts';
import { type ProxiedExchange, type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.ts';
import { resignedAuthorization } from '../support/sigv4.ts';
import { readZip } from '../support/zip.ts';

/**
 * `serverless package` for a prod stage, offline and without AWS credentials,
 * then checks of the CloudFormation template it writes and of the zips.
 */
const SENTINEL_SECRET = 'sentinel-app-secret-must-not-ship-7f3a';
const APPID = 'wx1234567890abcdef';
let dir: string;
// Its own esbuild folder: a running `npm start` keeps loading the bundles in the default one.
const WORK_FOLDER = `.esbuild/package-test-${process.pid}`;
afterAll(() => {
  rmSync(join(ROOT, WORK_FOLDER), { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});
let template: { Resources: Record<string, Resource>; Outputs: Record<string, unknown> };

interface Resource {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: Record<string, any>;
}

/** Reserved concurrency with RESERVED_CONCURRENCY=on (resources/settings.cjs): the account's default quota (1,000) less Lambda's 100 unreserved, at most. */
const RESERVED = {
  Login: 250,
  Checklogin: 130,
  Credit: 120,
  Userinfo: 60,
  Phonenumber: 40,
  Logout: 40,
  Spend: 40,
  Checkin: 30,
  History: 20,
  Grant: 10,
  Profile: 40,
  Nickname: 20,
  Avatar: 20,
};
const ACCOUNT_CONCURRENCY = 1000;
/** The avatars' bucket without AVATARS_BUCKET: named by CloudFormation for the account and region it is deployed in. */
const DEFAULT_BUCKET = { 'Fn::Sub': 'wechat-login-prod-avatars-${AWS::AccountId}-${AWS::Region}' };
const MIN_UNRESERVED = 100;

/** The IAM fence AWS documents for a role that may write only some attributes. */
const onlyAttributes = (attribute: ProfileAttribute | 'replayMark') => ({
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes':
      attribute === 'replayMark'
        ? replayMarkWriteAttributes
        : [
            ...profileWriteAttributes(attribute),
            // The nickname and phonenumber roles also count their WeChat calls on the user (lib/profile/user-limits.ts).
            ...(attribute === 'nickName' ? limitWriteAttributes('nickNameChecks') : []),
            ...(attribute === 'phoneNumber' ? limitWriteAttributes('phoneNumberExchanges') : []),
          ],
  },
  StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
});

const FUNCTIONS = {
  Login: {
    route: 'POST /login',
    dynamodb: {
      SessionsTable: ['dynamodb:PutItem'],
      UsersTable: ['dynamodb:UpdateItem'],
      LoginsTable: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      // The sign-up grant, the new user's first entry; the access_token, for its risk check.
      LedgerTable: ['dynamodb:PutItem'],
      AppCacheTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    },
    ssm: true,
  },
  Checklogin: {
    route: 'GET /checklogin',
    dynamodb: { SessionsTable: ['dynamodb:GetItem'], AppCacheTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ssm: true,
  },
  // The session and its user in one BatchGetItem: the token names its user.
  // The session and the balance item (credit's own, in the ledger table) in one BatchGetItem; a user stored before the
  // balance had its own item: only its balance attributes (a read fence), never more of the user.
  Credit: {
    route: 'GET /credit',
    dynamodb: { SessionsTable: ['dynamodb:BatchGetItem'], LedgerTable: ['dynamodb:BatchGetItem'], UsersTable: ['dynamodb:GetItem'] },
    usersReadFence: true,
    ssm: false,
  },
  Userinfo: {
    route: 'POST /userinfo',
    dynamodb: {
      SessionsTable: ['dynamodb:GetItem'],
      UsersTable: ['dynamodb:UpdateItem'],
      AppCacheTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    },
    usersFence: onlyAttributes('userInfo'),
    ssm: true,
  },
  Phonenumber: {
    route: 'POST /phonenumber',
    dynamodb: {
      // The session and whether the number is known, in one BatchGetItem: a known number is not bought again.
      SessionsTable: ['dynamodb:BatchGetItem'],
      UsersTable: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
      AppCacheTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    },
    usersFence: onlyAttributes('phoneNumber'),
    ssm: true,
  },
  Profile: {
    route: 'GET /profile',
    dynamodb: { SessionsTable: ['dynamodb:BatchGetItem'], UsersTable: ['dynamodb:BatchGetItem'] },
    s3: ['s3:GetObject'],
    ssm: false,
  },
  Nickname: {
    route: 'PUT /profile',
    dynamodb: {
      SessionsTable: ['dynamodb:BatchGetItem'],
      UsersTable: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
      AppCacheTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    },
    usersFence: onlyAttributes('nickName'),
    s3: ['s3:GetObject'],
    ssm: true,
  },
  Avatar: {
    route: 'POST /profile/avatar',
    dynamodb: { SessionsTable: ['dynamodb:GetItem'], UsersTable: ['dynamodb:UpdateItem'] },
    usersFence: onlyAttributes('avatarKey'),
    // The only function that writes to the bucket.
    s3: ['s3:PutObject', 's3:DeleteObject', 's3:GetObject'],
    ssm: false,
  },
  Logout: {
    route: 'POST /logout',
    dynamodb: {
      // A user's sessions are one partition of the table itself: no index.
      SessionsTable: ['dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      UsersTable: ['dynamodb:UpdateItem'],
    },
    // ?all=1 writes only the user's log-out mark: it can move no credit and touch no profile.
    usersFence: onlyAttributes('replayMark'),
    ssm: false,
  },
  // Moves of credit: the balance is credit's own item in the ledger table, so no credit role writes the users table at
  // all; it may read only the balance attributes a user stored before the split still holds (a read fence).
  Spend: {
    route: 'POST /credit/spend',
    dynamodb: {
      SessionsTable: ['dynamodb:BatchGetItem'],
      LedgerTable: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      UsersTable: ['dynamodb:GetItem'],
    },
    usersReadFence: true,
    ssm: false,
  },
  Checkin: {
    route: 'POST /credit/checkin',
    dynamodb: {
      SessionsTable: ['dynamodb:BatchGetItem'],
      LedgerTable: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      UsersTable: ['dynamodb:GetItem'],
    },
    usersReadFence: true,
    ssm: false,
  },
  History: {
    route: 'GET /credit/history',
    dynamodb: { SessionsTable: ['dynamodb:GetItem'], 'LedgerTable/index/bySeq': ['dynamodb:Query'] },
    ssm: false,
  },
  // No route: invoked with the AWS SDK by the team's own services.
  Grant: {
    route: undefined,
    dynamodb: { UsersTable: ['dynamodb:GetItem'], LedgerTable: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    usersReadFence: true,
    ssm: false,
  },
} as const;

/** `SessionsTable` for a table's ARN, `SessionsTable/index/byOpenid` for one of its indexes, undefined for anything else. */
function tableOf(resource: any): string | undefined {
  if (resource['Fn::GetAtt']?.[1] === 'Arn') return resource['Fn::GetAtt'][0];
  const [separator, [table, index]] = resource['Fn::Join'] ?? [];
  if (separator === '/' && table?.['Fn::GetAtt']?.[1] === 'Arn' && /^index\/\w+$/.test(index)) return `${table['Fn::GetAtt'][0]}/${index}`;
  return undefined;
}

const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

function packageEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WECHAT_APPID: APPID,
    WECHAT_SECRET: SENTINEL_SECRET,
    ESBUILD_WORK_FOLDER: WORK_FOLDER,
    ...extra,
  };
  // The stage's default bucket name, not the one the test processes are configured with (vitest.config.ts).
  delete env.AVATARS_BUCKET;
  // No credentials at all: packaging must not need an AWS account.
  for (const name of Object.keys(env)) if (name.startsWith('AWS_') && name !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete env[name];
  return env;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'package-'));
  execFileSync(`${ROOT}node_modules/.bin/serverless`, ['package', '--stage', 'prod', '--package', dir], {
    cwd: ROOT,
    env: packageEnv(),
    stdio: 'pipe',
    timeout: 120_000,
  });
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
});

describe('serverless package (prod, offline, no credentials)', () => {
  it('writes one zip per function', () => {
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.zip'))
        .sort(),
    ).toEqual(
      Object.keys(FUNCTIONS)
        .map((name) => `${name.toLowerCase()}.zip`)
        .sort(),
    );
    expect(Object.keys(FUNCTIONS)).toHaveLength(13);
  });

  it('ships no plaintext AppSecret in the template, the state file or any file inside a zip', () => {
    for (const file of readdirSync(dir)) {
      const contents = file.endsWith('.zip') ? readZip(readFileSync(join(dir, file))).map((f) => f.data) : [readFileSync(join(dir, file))];
      expect(contents.length, file).toBeGreaterThan(0);
      for (const content of contents) expect(content.includes(SENTINEL_SECRET), file).toBe(false);
    }
    for (const name of Object.keys(FUNCTIONS)) {
      const variables = { ...template.Resources[`${name}LambdaFunction`]!.Properties.Environment.Variables };
      expect(variables.WECHAT_SECRET, name).toBeUndefined();
      expect(variables.WECHAT_SECRET_PARAM, name).toBe('/wechat-login/prod/wechat-app-secret');
    }
  });

  // Thirteen fresh node processes one after another: seconds on a busy machine, not the default 5 s.
  it('zips one CommonJS bundle per function, which loads the way Lambda loads it and answers a request without a token', { timeout: 60_000 }, () => {
    const loaded = mkdtempSync(join(tmpdir(), 'package-loaded-'));
    onTestFinished(() => rmSync(loaded, { recursive: true, force: true }));
    for (const name of Object.keys(FUNCTIONS)) {
      const fn = template.Resources[`${name}LambdaFunction`]!.Properties;
      const file = `${String(fn.Handler).replace(/\.handler$/, '')}.cjs`;
      const files = readZip(readFileSync(join(dir, `${name.toLowerCase()}.zip`)));
      expect(
        files.map((f) => f.name),
        name,
      ).toEqual([file]);
      mkdirSync(join(loaded, name, 'handlers'), { recursive: true });
      writeFileSync(join(loaded, name, file), files[0]!.data);
      // A fresh node with only the function's own environment (plus what Lambda or a local run adds), as Lambda's
      // runtime loads a .cjs handler: require(). The request is refused before any I/O (no token, no body).
      const probe = `require(process.argv[1]).handler({ headers: {}, requestContext: { http: { method: 'POST' } } }).then((r) => process.stdout.write(JSON.stringify(r)))`;
      const reply = execFileSync(process.execPath, ['-e', probe, join(loaded, name, file)], {
        env: {
          PATH: process.env.PATH,
          ...deployedEnvironment(fn.Environment.Variables),
          WECHAT_SECRET: SENTINEL_SECRET,
          AWS_REGION: 'us-east-1',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
        timeout: 20_000,
      });
      if (name === 'Grant') {
        // Invoked, not routed: the reply is the JSON itself, with the status an HTTP reply would have had.
        expect(JSON.parse(reply)).toEqual({ err: expect.stringContaining('openid'), code: 'INVALID_REQUEST', status: 400 });
        continue;
      }
      const { statusCode, body } = JSON.parse(reply) as { statusCode: number; body: string };
      if (name === 'Checklogin') {
        // Without a token the answer is simply "not logged in", as the original API gave it.
        expect({ statusCode, body: JSON.parse(body) }).toEqual({ statusCode: 200, body: { is_login: false } });
        continue;
      }
      expect(statusCode, `${name}: ${body}`).toBeGreaterThanOrEqual(400);
      expect(statusCode, `${name}: ${body}`).toBeLessThan(500);
      expect(JSON.parse(body), name).toEqual({ err: expect.any(String), code: expect.any(String) });
    }
  });

  it('routes each endpoint to its own function on an HTTP API', () => {
    const routes = resources('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    expect(routes).toEqual(
      Object.values(FUNCTIONS)
        .flatMap((f) => (f.route ? [f.route] : []))
        .sort(),
    );
    // The grant function has no route: only IAM principals allowed to invoke it can move points server-side.
    expect(template.Resources.GrantLambdaFunction).toBeDefined();
    expect(JSON.stringify(resources('AWS::ApiGatewayV2::Integration'))).not.toContain('GrantLambdaFunction');
    expect(resources('AWS::Lambda::Permission').map(([id]) => id)).not.toContain('GrantLambdaPermissionHttpApi');
    expect(resources('AWS::ApiGatewayV2::Api')[0]?.[1].Properties.ProtocolType).toBe('HTTP');
  });

  it("runs every function on nodejs22.x, arm64, with a timeout above the worst request and under API Gateway's 30 s", () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const fn = template.Resources[`${name}LambdaFunction`]!.Properties;
      expect(fn.Runtime, name).toBe('nodejs22.x');
      expect(fn.Architectures, name).toEqual(['arm64']);
      expect(fn.Timeout, name).toBeLessThan(30);
      // Lambda's timeout must never be what ends a request: it covers the worst login (the claim and the
      // transaction, a fresh instance's AppSecret read, WeChat, and the claim's cleanup after a failure).
      const worstLoginMs =
        2 * dynamoCallBoundMs() + SSM_TIMEOUT_MS + busyRetryBoundMs({ timeoutMs: MAX_WECHAT_TIMEOUT_MS }) + DYNAMODB_CLEANUP_BOUND_MS;
      expect(fn.Timeout * 1000, name).toBeGreaterThan(worstLoginMs);
      expect(fn.FunctionName, name).toMatch(/^wechat-login-prod-/);
    }
  });

  it('keeps logs for a bounded time', () => {
    const groups = resources('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it.each([
    ['SessionsTable', 'wechat-login-prod-sessions', 'expiresAt'],
    ['LoginsTable', 'wechat-login-prod-logins', 'expiresAt'],
    ['AppCacheTable', 'wechat-login-prod-app-cache', 'ttl'],
  ])('%s: on-demand, TTL, encrypted', (id, name, ttlAttribute) => {
    const table = template.Resources[id]!.Properties;
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: ttlAttribute, Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.TableName).toBe(name);
  });

  it("sessions live under their user: keyed by uid and the token's hash, no index (logout everywhere is one strongly consistent Query)", () => {
    const sessions = template.Resources.SessionsTable!.Properties;
    expect(sessions.KeySchema).toEqual([
      { AttributeName: 'uid', KeyType: 'HASH' },
      { AttributeName: 'tokenHash', KeyType: 'RANGE' },
    ]);
    expect(sessions.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('users are keyed by uid (app and openid), with a sparse unionid index that projects only appid and openid', () => {
    const users = template.Resources.UsersTable!.Properties;
    expect(users.KeySchema).toEqual([{ AttributeName: 'uid', KeyType: 'HASH' }]);
    expect(users.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byUnionid',
        KeySchema: [{ AttributeName: 'unionid', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['appid', 'openid'] },
      },
    ]);
  });

  it('ledger entries live under their user by idempotency key, ordered by a local index on their sequence number, and never expire', () => {
    const ledger = template.Resources.LedgerTable!.Properties;
    expect(ledger.KeySchema).toEqual([
      { AttributeName: 'uid', KeyType: 'HASH' },
      { AttributeName: 'entryKey', KeyType: 'RANGE' },
    ]);
    expect(ledger.LocalSecondaryIndexes).toEqual([
      {
        IndexName: 'bySeq',
        KeySchema: [
          { AttributeName: 'uid', KeyType: 'HASH' },
          { AttributeName: 'seq', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(ledger.TimeToLiveSpecification).toBeUndefined();
  });

  it("every function knows where further apps are registered: the stage's SSM path", () => {
    for (const name of Object.keys(FUNCTIONS)) {
      expect(template.Resources[`${name}LambdaFunction`]!.Properties.Environment.Variables.WECHAT_APPS_PARAM_PATH, name).toBe(
        '/wechat-login/prod/apps/',
      );
    }
  });

  it.each(['UsersTable', 'LedgerTable'])(
    '%s (credits): on-demand, point-in-time recovery, encrypted, retained on delete and replace, deletion-protected',
    (id) => {
      const users = template.Resources[id]!;
      // Retained, except when the stack's own creation fails: a failed first deploy can then be retried.
      expect(users.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(users.UpdateReplacePolicy).toBe('Retain');
      expect(users.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(users.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(users.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(users.Properties.DeletionProtectionEnabled).toBe(true);
    },
  );

  it('gives each function its own role with exactly the DynamoDB actions it calls on exactly its tables', () => {
    for (const [name, expected] of Object.entries(FUNCTIONS)) {
      const roleRef = template.Resources[`${name}LambdaFunction`]!.Properties.Role['Fn::GetAtt'][0];
      expect(roleRef, name).toBe(`${name}IamRoleLambdaExecution`);
      const statements: { Action: string[]; Resource: unknown[] }[] = template.Resources[roleRef]!.Properties.Policies.flatMap(
        (p: any) => p.PolicyDocument.Statement,
      );

      const granted: Record<string, string[]> = {};
      for (const statement of statements) {
        for (const action of statement.Action) {
          expect(action, name).not.toContain('*');
          if (action.startsWith('s3:')) {
            // Only objects under the avatars' prefix, of the stack's own bucket: never the bucket, never another prefix.
            expect(statement.Resource, `${name} ${action}`).toEqual([
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', DEFAULT_BUCKET, '/avatars/*']] },
            ]);
            (granted.s3 ??= []).push(action);
            continue;
          }
          if (!action.startsWith('dynamodb:')) continue;
          for (const resource of statement.Resource as any[]) {
            const table = tableOf(resource);
            expect(table, `${name} ${action} on a non-table resource`).toBeDefined();
            (granted[table!] ??= []).push(action);
          }
        }
        for (const resource of statement.Resource) expect(JSON.stringify(resource), name).not.toMatch(/"\*"|:\*"$/);
      }
      const { s3 = [], ...tables } = granted;
      expect(tables, name).toEqual(expected.dynamodb);
      // Only the avatar function may write to the bucket; the others may only presign reads.
      expect(s3.sort(), name).toEqual([...('s3' in expected ? expected.s3 : [])].sort());

      // Only the login role is unfenced: the profile and credit roles' updates on users are fenced to their own attributes.
      const onUsers = statements.filter((s) => s.Action.includes('dynamodb:UpdateItem') && s.Resource.some((r) => tableOf(r) === 'UsersTable'));
      // A credit role reads a user item only for the balance attributes it held before the split, and writes none.
      if ('usersReadFence' in expected) {
        const reads = statements.filter((s) => s.Action.includes('dynamodb:GetItem') && s.Resource.some((r) => tableOf(r) === 'UsersTable'));
        expect(
          reads.map((s) => (s as { Condition?: unknown }).Condition),
          name,
        ).toEqual([
          {
            'ForAllValues:StringEquals': { 'dynamodb:Attributes': legacyBalanceReadAttributes },
            StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
          },
        ]);
        expect(onUsers, `${name} writes a user item`).toEqual([]);
      }
      if ('usersFence' in expected) {
        expect(
          onUsers.map((s) => (s as { Condition?: unknown }).Condition),
          name,
        ).toEqual([expected.usersFence]);
        // A profile role cannot move credit; a credit role cannot write a profile.
        const fenced = JSON.stringify(expected.usersFence);
        if (fenced.includes('credit')) expect(fenced, name).not.toMatch(/userInfo|phoneNumber/);
        else expect(fenced, name).not.toContain('credit');
      }

      const ssm = statements.filter((s) => s.Action.some((a) => a.startsWith('ssm:')));
      if (!expected.ssm) {
        expect(ssm, name).toEqual([]);
        continue;
      }
      expect(
        ssm.map((s) => s.Action),
        name,
      ).toEqual([['ssm:GetParameter'], ['ssm:GetParametersByPath']]);
      // GetParameter on the default app's AppSecret only: no wildcard, so no made-up AppID can be asked about by name.
      expect(ssm[0]!.Resource, name).toHaveLength(1);
      expect(JSON.stringify(ssm[0]!.Resource)).toContain(':parameter","/wechat-login/prod/wechat-app-secret"]');
      // More apps' AppSecrets: the stage's apps path listed as a whole (IAM authorizes GetParametersByPath against the path).
      expect(ssm[1]!.Resource, name).toHaveLength(1);
      expect(JSON.stringify(ssm[1]!.Resource)).toContain(':parameter","/wechat-login/prod/apps"]');
      expect(JSON.stringify(ssm)).not.toContain('*');
    }
  });

  it('reserves no concurrency by default: the deploy fits any account quota and sits beside other stages (an opt-in leaves 100 unreserved)', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      expect(template.Resources[`${name}LambdaFunction`]!.Properties.ReservedConcurrentExecutions, name).toBeUndefined();
    }
    // What RESERVED_CONCURRENCY=on reserves (test/unit/deploy-settings.test.ts) still fits the default quota.
    const total = Object.values(RESERVED).reduce((sum, n) => sum + n, 0);
    expect(total).toBeLessThanOrEqual(ACCOUNT_CONCURRENCY - MIN_UNRESERVED);
  });

  it('throttles each route on its own (flood protection at the edge), every key a route of the API, created after its routes', () => {
    const [id, stage] = resources('AWS::ApiGatewayV2::Stage')[0]!;
    const routes = new Map(resources('AWS::ApiGatewayV2::Route').map(([routeId, r]) => [r.Properties.RouteKey as string, routeId]));
    const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = stage.Properties.RouteSettings;
    expect(Object.keys(settings).sort(), id).toEqual([...routes.keys()].sort());
    for (const [key, limits] of Object.entries(settings)) {
      expect(limits.ThrottlingRateLimit, key).toBeGreaterThan(0);
      expect(limits.ThrottlingBurstLimit, key).toBeGreaterThanOrEqual(limits.ThrottlingRateLimit);
    }
    // The paid and WeChat-limited routes get less than the stage default.
    expect(settings['POST /phonenumber']).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(settings['POST /login']).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    // API Gateway refuses RouteSettings for a route that does not exist yet.
    const dependsOn = [(template.Resources[id] as { DependsOn?: string[] }).DependsOn ?? []].flat();
    for (const routeId of routes.values()) expect(dependsOn, routeId).toContain(routeId);
  });

  it('throttles the HTTP API default stage', () => {
    const stage = resources('AWS::ApiGatewayV2::Stage')[0]![1].Properties;
    expect(stage.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  it('avatars: a private bucket (every public access blocked, no ACLs), encrypted, HTTPS only, no CORS, retained on delete and replace', () => {
    // Besides the deployment bucket osls makes for the zips.
    expect(
      resources('AWS::S3::Bucket')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['AvatarsBucket', 'ServerlessDeploymentBucket']);
    const bucket = template.Resources.AvatarsBucket!;
    expect(bucket.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    // S3 names are global: unique to the account and region, so a second team's deploy with the defaults cannot collide.
    expect(bucket.Properties.BucketName).toEqual(DEFAULT_BUCKET);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
    expect(bucket.Properties.CorsConfiguration).toBeUndefined();
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
    const policy = template.Resources.AvatarsBucketPolicy!;
    // The policy grants nothing: it only refuses plain HTTP.
    expect(policy.Properties.PolicyDocument.Statement.map((statement: { Effect: string }) => statement.Effect)).toEqual(['Deny']);
    expect(policy.Properties.PolicyDocument.Statement[0].Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    for (const name of Object.keys(FUNCTIONS)) {
      expect(template.Resources[`${name}LambdaFunction`]!.Properties.Environment.Variables.AVATARS_BUCKET, name).toEqual(DEFAULT_BUCKET);
    }
  });

  it('has no CORS configuration (mini-programs do not need it)', () => {
    expect(resources('AWS::ApiGatewayV2::Api')[0]![1].Properties.CorsConfiguration).toBeUndefined();
  });

  it('outputs the API URL', () => {
    expect(template.Outputs.HttpApiUrl).toBeDefined();
  });
});

describe('serverless package refuses deploy settings that break or leak, naming the setting', () => {
  it.each([
    // An invalid IAM resource (…:parameterwechat-app-secret): every login would get 500.
    ['WECHAT_SECRET_PARAM', { WECHAT_SECRET_PARAM: 'wechat-app-secret' }],
    // The AppSecret would travel in clear.
    ['WECHAT_API_BASE', { WECHAT_API_BASE: 'http://api.weixin.qq.com' }],
    // More than the account can reserve: CloudFormation would fail midway.
    ['RESERVED_CONCURRENCY_', { RESERVED_CONCURRENCY: 'on', RESERVED_CONCURRENCY_LOGIN: '850' }],
    // A share set without the opt-in would reserve nothing, silently.
    ['RESERVED_CONCURRENCY=on', { RESERVED_CONCURRENCY_LOGIN: '250' }],
    // A route's throttle that API Gateway would refuse.
    ['API_THROTTLE_LOGIN', { API_THROTTLE_LOGIN: '50' }],
  ])('%s', (name, extra) => {
    const out = mkdtempSync(join(tmpdir(), 'package-refused-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const run = spawnSync(`${ROOT}node_modules/.bin/serverless`, ['package', '--stage', 'prod', '--package', out], {
      cwd: ROOT,
      env: packageEnv(extra),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stdout).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain(name);
    expect(readdirSync(out)).toEqual([]);
  });
});

/**
 * A malformed value for every variable of the README's configuration table; null for those npm start alone reads
 * (they are not in serverless.yml's environment, which the test checks). A row added to the table must be added here.
 */
const MALFORMED: Record<string, string | null> = {
  WECHAT_APPID: 'wx123',
  WECHAT_SECRET: 'short',
  WECHAT_SECRET_PARAM: 'wechat-app-secret',
  WECHAT_API_BASE: 'http://api.weixin.qq.com',
  WECHAT_API_BACKUP_BASE: 'http://api2.weixin.qq.com',
  WECHAT_TIMEOUT_MS: '5000',
  SESSION_TTL_SECONDS: '0',
  INITIAL_CREDIT: '-1',
  SIGNUP_MAX_RISK_RANK: '5',
  SIGNUP_RISK_TIMEOUT_MS: '99',
  SIGNUP_RISK_UNKNOWN: 'maybe',
  CHECKIN_CREDIT: '0',
  CHECKIN_TIME_ZONE: 'Asia/Shanghia',
  CHECKIN_BONUS_EVERY: '367',
  CHECKIN_BONUS_CREDIT: 'twenty',
  PORT: null,
  DYNAMODB_ENDPOINT: 'not a url',
  DYNAMODB_PORT: null,
  POWERTOOLS_LOG_LEVEL: 'VERBOSE',
  WECHAT_APPS: 'wx123=secret',
  WECHAT_APPS_PARAM_PATH: 'wechat-login/apps',
  APPS_CACHE_SECONDS: '0',
  AVATARS_BUCKET: 'avatars.example.com',
  S3_ENDPOINT: 'not a url',
  S3_PORT: null,
  AVATAR_MAX_BYTES: '5000000',
  AVATAR_URL_TTL_SECONDS: '43201',
  NICKNAME_REVIEW: 'maybe',
  NICKNAME_CHECKS_PER_HOUR: '0',
  PHONE_NUMBERS_PER_DAY: '1001',
  SESSIONS_TABLE: ' ',
  USERS_TABLE: ' ',
  LOGINS_TABLE: ' ',
  APP_CACHE_TABLE: ' ',
  LEDGER_TABLE: ' ',
};

/** The variables the README's configuration table names (its first column). */
function readmeSettings(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## API'));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));
}

describe('package time checks the whole environment serverless.yml sets, as the functions read it (#19)', () => {
  const settings = createRequire(import.meta.url)('../../resources/settings.cjs') as { checkEnvironment(env: Record<string, unknown>): string };
  const deployed = () => ({ ...template.Resources.LoginLambdaFunction!.Properties.Environment.Variables }) as Record<string, unknown>;

  it("knows a malformed value for every setting of the README's table, and the packaged environment passes the check", () => {
    expect(Object.keys(MALFORMED).sort()).toEqual([...new Set(readmeSettings())].sort());
    expect(settings.checkEnvironment(deployed())).toBe('checked');
    // Every function gets the same environment, so the check covers each.
    for (const name of Object.keys(FUNCTIONS)) {
      expect(template.Resources[`${name}LambdaFunction`]!.Properties.Environment.Variables, name).toEqual(deployed());
    }
  });

  it.each(Object.entries(MALFORMED))('refuses a malformed %s (%j), naming it', (name, value) => {
    if (value === null) {
      expect(deployed(), `${name} is read by npm start only`).not.toHaveProperty(name);
      return;
    }
    expect(() => settings.checkEnvironment({ ...deployed(), [name]: value })).toThrow(new RegExp(`^${name}`));
  });

  it('the check is wired: `serverless package` with AVATAR_MAX_BYTES=5000000 (which once stopped all 13 functions) builds nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'package-refused-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const run = spawnSync(`${ROOT}node_modules/.bin/serverless`, ['package', '--stage', 'prod', '--package', out], {
      cwd: ROOT,
      env: packageEnv({ AVATAR_MAX_BYTES: '5000000' }),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stdout).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('AVATAR_MAX_BYTES must be a whole number');
    expect(readdirSync(out)).toEqual([]);
  });
});

/**
 * Strings only the SDK's default credential chain puts in a bundle (package names and messages survive
 * minification), at least one for each of its parts. A bundle built without the alias has every one of them.
 */
const CREDENTIAL_CHAIN_MARKERS = [
  'defaultProvider::fromSSO', // @aws-sdk/credential-provider-node: the chain itself
  '@aws-sdk/credential-provider-ini', // INI profiles (~/.aws/credentials, assume-role)
  '@aws-sdk/credential-provider-sso', // SSO
  '@aws-sdk/credential-provider-process', // credential_process
  '@aws-sdk/credential-provider-web-identity', // web identity token files
  '@aws-sdk/credential-provider-http', // container credentials
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', // container and instance metadata
  '@aws-sdk/token-providers', // SSO OIDC tokens
  '@aws-sdk/nested-clients', // the STS, SSO and SSO-OIDC clients behind them
  'AssumeRoleWithWebIdentity', // STS
];
const chainMarkersIn = (bundle: string) => CREDENTIAL_CHAIN_MARKERS.filter((marker) => bundle.includes(marker));

describe('credentials: the environment, as Lambda hands them over, and nothing else', () => {
  it("no zipped bundle carries the SDK's default credential chain (SSO, INI, process, web identity, container, STS), only the environment provider", () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const [bundle] = readZip(readFileSync(join(dir, `${name.toLowerCase()}.zip`)));
      const text = bundle!.data.toString('utf8');
      expect(chainMarkersIn(text), name).toEqual([]);
      // @aws-sdk/credential-provider-env's fromEnv, which reads the session token
      expect(text, name).toContain('AWS_SESSION_TOKEN');
    }
  });

  it.each([
    ['the floor (bench/floor/handler.ts, built as the bench builds it)', FLOOR_ENTRY],
    ['handlers/credit.ts', 'handlers/credit.ts'],
  ])(
    'finds every marker of that chain in %s, bundled with the same options but without the alias: the check above can fail',
    async (_what, entry) => {
      const out = mkdtempSync(join(tmpdir(), 'package-chain-'));
      onTestFinished(() => rmSync(out, { recursive: true, force: true }));
      const built = await buildLikeService(withFullCredentialChain(readServiceBuild()), entry, out);
      const text = readFileSync(built.bundlePath, 'utf8');
      expect(CREDENTIAL_CHAIN_MARKERS.filter((marker) => !text.includes(marker))).toEqual([]);
    },
  );

  describe('each zipped bundle, run as Lambda runs it, against DynamoDB Local through a recording proxy', () => {
    const CREDENTIALS = {
      accessKeyId: 'AKIDDEPLOYTESTONLY01',
      secretAccessKey: 'deploy-test-secret-access-key/0123456789',
      sessionToken: 'deploy-test-session-token-FwoGZXIvYXdzEBYaD',
    };
    const REGION = 'us-east-1';
    const run = promisify(execFile);
    let proxy: RecordingProxy;
    let fake: FakeWeChat;
    let bundles: string;

    beforeAll(async () => {
      const endpoint = inject('dynamodbEndpoint');
      const variables = deployedEnvironment(template.Resources.LoginLambdaFunction!.Properties.Environment.Variables);
      const admin = localDynamoClient(endpoint);
      try {
        await createTables(admin, {
          sessions: variables.SESSIONS_TABLE!,
          users: variables.USERS_TABLE!,
          logins: variables.LOGINS_TABLE!,
          appCache: variables.APP_CACHE_TABLE!,
          ledger: variables.LEDGER_TABLE!,
        });
      } finally {
        admin.destroy();
      }
      // The bucket the functions are configured with, on the run's s3rver (test/support/s3-global-setup.ts knows these credentials).
      await fetch(`${inject('s3Endpoint')}/${variables.AVATARS_BUCKET}`, { method: 'PUT' });
      proxy = await startRecordingProxy(endpoint);
      fake = await startFakeWeChat({ appId: APPID, secret: SENTINEL_SECRET });
      bundles = mkdtempSync(join(tmpdir(), 'package-run-'));
      for (const name of Object.keys(FUNCTIONS)) {
        for (const file of readZip(readFileSync(join(dir, `${name.toLowerCase()}.zip`)))) {
          mkdirSync(join(bundles, name, 'handlers'), { recursive: true });
          writeFileSync(join(bundles, name, file.name), file.data);
        }
      }
    });
    afterAll(async () => {
      await proxy?.close();
      await fake?.close();
      if (bundles) rmSync(bundles, { recursive: true, force: true });
    });

    /**
     * A fresh node loads the function's bundle with require(), as Lambda does, and calls its handler with the
     * event. Its environment is the function's own, the credentials Lambda would put there, and the local
     * stand-ins: DynamoDB Local (through the proxy) and the fake WeChat. Returns the reply and what DynamoDB saw.
     */
    /** The function's own environment, the credentials Lambda would put there, and the local stand-ins. */
    function bundleEnv(name: keyof typeof FUNCTIONS, extra: Record<string, string | undefined> = {}): Record<string, string> {
      const fn = template.Resources[`${name}LambdaFunction`]!.Properties;
      const env: Record<string, string | undefined> = {
        PATH: process.env.PATH,
        ...deployedEnvironment(fn.Environment.Variables),
        WECHAT_SECRET: SENTINEL_SECRET,
        WECHAT_API_BASE: fake.url,
        DYNAMODB_ENDPOINT: proxy.url,
        S3_ENDPOINT: inject('s3Endpoint'),
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...extra,
      };
      return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
    }

    const bundleFile = (name: keyof typeof FUNCTIONS) =>
      join(bundles, name, `${String(template.Resources[`${name}LambdaFunction`]!.Properties.Handler).replace(/\.handler$/, '')}.cjs`);

    /**
     * A fresh node loads the function's bundle with require(), as Lambda does, and calls its handler with the
     * event. Its environment is bundleEnv's. Returns the reply and what DynamoDB saw.
     */
    async function invoke(name: keyof typeof FUNCTIONS, event: object, options: { env?: Record<string, string | undefined>; node?: string[] } = {}) {
      const env = bundleEnv(name, options.env);
      const file = bundleFile(name);
      const probe = `require(process.argv[1]).handler(JSON.parse(process.argv[2])).then((r) => process.stdout.write(JSON.stringify(r)))`;
      const before = proxy.exchanges.length;
      const { stdout } = await run(process.execPath, [...(options.node ?? []), '-e', probe, file, JSON.stringify(event)], {
        env,
        encoding: 'utf8',
        timeout: 20_000,
      });
      const reply = JSON.parse(stdout) as { statusCode?: number; body?: string; status?: number };
      // An HTTP function's reply, or (the routeless grant) the JSON itself, with `status` on an error.
      if (reply.statusCode === undefined)
        return { status: reply.status ?? 200, body: reply as Record<string, any>, dynamodb: proxy.exchanges.slice(before) };
      return { status: reply.statusCode, body: JSON.parse(String(reply.body)), dynamodb: proxy.exchanges.slice(before) };
    }

    /** Every call signed with the environment's key, secret and session token; every answer DynamoDB Local's own. */
    async function expectSignedWithEnvironmentCredentials(name: string, calls: ProxiedExchange[]) {
      expect(calls.length, `${name}: DynamoDB calls`).toBeGreaterThan(0);
      for (const call of calls) {
        const what = `${name} ${String(call.headers['x-amz-target'])}`;
        const authorization = String(call.headers.authorization);
        expect(authorization, what).toMatch(
          new RegExp(
            `^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/dynamodb/aws4_request, SignedHeaders=[^,]*x-amz-security-token[^,]*, Signature=[0-9a-f]{64}$`,
          ),
        );
        expect(call.headers['x-amz-security-token'], what).toBe(CREDENTIALS.sessionToken);
        // Signed with that secret: the request as it arrived signs the same again.
        expect(await resignedAuthorization(call, { credentials: CREDENTIALS, region: REGION, service: 'dynamodb' }), what).toBe(authorization);
        expect(call.headers['x-amz-target'], what).toMatch(/^DynamoDB_20120810\.\w+$/);
        // DynamoDB Local's own answer: a result, or one of its errors (a write retried after a slow first attempt
        // may find that attempt's item), never the proxy's.
        const answer = JSON.parse(call.reply) as { __type?: string };
        expect(
          call.status === 200 || /^com\.amazonaws\.dynamodb\.v20120810#\w+$/.test(answer.__type ?? ''),
          `${what}: ${call.status} ${call.reply}`,
        ).toBe(true);
      }
      expect(calls.filter((call) => call.status === 200).length, `${name}: DynamoDB results`).toBeGreaterThan(0);
    }

    it("signs every DynamoDB call with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and works on DynamoDB's answers: every function", {
      timeout: 60_000,
    }, async () => {
      const login = await invoke('Login', apiEvent({ method: 'POST', path: '/login', body: { code: 'deployed.1' } }));
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(login.body).toEqual({ token: expect.stringMatching(/^[\w-]{22}\.[\w-]{43}$/), expires_in: 604800 });
      await expectSignedWithEnvironmentCredentials('login', login.dynamodb);
      const auth = { authorization: `Bearer ${login.body.token}` };

      const checklogin = await invoke('Checklogin', apiEvent({ method: 'GET', path: '/checklogin', headers: auth }));
      expect(checklogin.body).toEqual({ is_login: true });
      await expectSignedWithEnvironmentCredentials('checklogin', checklogin.dynamodb);

      const credit = await invoke('Credit', apiEvent({ method: 'GET', path: '/credit', headers: auth }));
      expect(credit.body).toEqual({ credit: 100 });
      await expectSignedWithEnvironmentCredentials('credit', credit.dynamodb);

      const data = (await (await fetch(`${fake.url}/__fake/userinfo?user=deployed`)).json()) as object;
      const userinfo = await invoke('Userinfo', apiEvent({ method: 'POST', path: '/userinfo', headers: auth, body: data }));
      expect(userinfo.body, JSON.stringify(userinfo.body)).toMatchObject({ pass: true, userInfo: expect.any(Object) });
      await expectSignedWithEnvironmentCredentials('userinfo', userinfo.dynamodb);

      const phone = await invoke(
        'Phonenumber',
        apiEvent({ method: 'POST', path: '/phonenumber', headers: auth, body: { code: 'phone-13800138000' } }),
      );
      expect(phone.body, JSON.stringify(phone.body)).toEqual({ phoneNumber: '+8613800138000', purePhoneNumber: '13800138000', countryCode: '86' });
      await expectSignedWithEnvironmentCredentials('phonenumber', phone.dynamodb);

      const spend = await invoke(
        'Spend',
        apiEvent({ method: 'POST', path: '/credit/spend', headers: auth, body: { amount: 5, key: 'deployed-spend-1' } }),
      );
      expect(spend.body, JSON.stringify(spend.body)).toMatchObject({ credit: 95, entry: { id: '2', amount: -5, balance: 95 } });
      await expectSignedWithEnvironmentCredentials('spend', spend.dynamodb);

      const checkin = await invoke('Checkin', apiEvent({ method: 'POST', path: '/credit/checkin', headers: auth }));
      expect(checkin.body, JSON.stringify(checkin.body)).toMatchObject({ credit: 105, granted: 10, streak: 1 });
      await expectSignedWithEnvironmentCredentials('checkin', checkin.dynamodb);

      const grant = await invoke('Grant', { openid: fake.user('deployed').openid, amount: 20, key: 'deployed-grant-1', reason: 'prize' });
      expect(grant.body, JSON.stringify(grant.body)).toMatchObject({ credit: 125, entry: { id: '4', amount: 20, reason: 'prize' } });
      await expectSignedWithEnvironmentCredentials('grant', grant.dynamodb);

      const history = await invoke('History', apiEvent({ method: 'GET', path: '/credit/history', headers: auth }));
      expect((history.body.entries as { reason: string }[]).map((entry) => entry.reason)).toEqual(['prize', 'checkin', 'spend', 'signup']);
      await expectSignedWithEnvironmentCredentials('history', history.dynamodb);

      const nickname = await invoke('Nickname', apiEvent({ method: 'PUT', path: '/profile', headers: auth, body: { nickName: 'Deployed' } }));
      expect(nickname.body, JSON.stringify(nickname.body)).toEqual({ nickName: 'Deployed', phone: { known: true, masked: '138****8000' } });
      await expectSignedWithEnvironmentCredentials('nickname', nickname.dynamodb);

      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
      const boundary = '----deploy';
      const multipart = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n`),
        png,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const avatar = await invoke(
        'Avatar',
        apiEvent({
          method: 'POST',
          path: '/profile/avatar',
          headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
          body: multipart,
        }),
      );
      expect(avatar.status, JSON.stringify(avatar.body)).toBe(200);
      await expectSignedWithEnvironmentCredentials('avatar', avatar.dynamodb);
      const profile = await invoke('Profile', apiEvent({ method: 'GET', path: '/profile', headers: auth }));
      const url = new URL(String(profile.body.avatarUrl));
      // Presigned with the environment's credentials, session token included (a Lambda role's are temporary).
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/s3/aws4_request$`));
      expect(url.searchParams.get('X-Amz-Security-Token')).toBe(CREDENTIALS.sessionToken);
      expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(png);
      await expectSignedWithEnvironmentCredentials('profile', profile.dynamodb);

      const logout = await invoke('Logout', apiEvent({ method: 'POST', path: '/logout', headers: auth }));
      expect(logout.body).toEqual({ logged_out: true, sessions_revoked: 1 });
      await expectSignedWithEnvironmentCredentials('logout', logout.dynamodb);
    });

    it("a refused request leaves nothing armed that fails the instance's next invocation: every bundle, under a stand-in for Lambda's Node runtime", {
      timeout: 60_000,
    }, async () => {
      // Lambda's runtime fails the invocation in flight and exits on an unhandled rejection. Each instance gets a
      // malformed body with 0.9 s left (its deadline backstop would fire at 0.65 s), then, once that time has
      // passed, a second request: both must be answered by the same, still running, instance.
      const runtime = join(ROOT, 'test/support/lambda-runtime.cjs');
      const runs = (Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]).map(async (name) => {
        const route = FUNCTIONS[name].route;
        const [method, path] = route ? route.split(' ') : ['POST', '/'];
        const refused = route ? apiEvent({ method, path, body: 'x' }) : { openid: 42 };
        const plan = [
          { event: refused, remainingMs: 900, pauseAfterMs: 1_000 },
          { event: refused, remainingMs: 28_000 },
        ];
        const child = spawnSync(process.execPath, [runtime, bundleFile(name), JSON.stringify(plan)], {
          env: bundleEnv(name),
          encoding: 'utf8',
          timeout: 20_000,
        });
        return {
          name,
          status: child.status,
          lines: child.stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line)),
        };
      });
      for (const { name, status, lines } of await Promise.all(runs)) {
        expect(
          lines.map((line) => line.crash ?? line.index),
          name,
        ).toEqual([0, 1]);
        expect(status, name).toBe(0);
        for (const { reply } of lines) {
          const code = reply.statusCode ?? reply.status;
          expect(code, `${name}: ${JSON.stringify(reply)}`).toBeGreaterThanOrEqual(name === 'Checklogin' || name === 'Logout' ? 200 : 400);
          expect(code, `${name}: ${JSON.stringify(reply)}`).toBeLessThan(500);
        }
      }
    });

    it('the login bundle signs its SSM read of the AppSecret with the same environment credentials, session token included', {
      timeout: 30_000,
    }, async () => {
      // SSM is AWS itself: the child's fetch answers for ssm.<region>.amazonaws.com and writes down what it was sent.
      const record = join(bundles, 'ssm-request.json');
      const stub = join(bundles, 'ssm-stub.cjs');
      writeFileSync(
        stub,
        `const { writeFileSync } = require('node:fs');
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!url.hostname.startsWith('ssm.')) return realFetch(input, init);
  writeFileSync(${JSON.stringify(record)}, JSON.stringify({ url: url.href, method: init.method, headers: init.headers, body: init.body }));
  return new Response(JSON.stringify({ Parameter: { Value: ${JSON.stringify(SENTINEL_SECRET)} } }), { headers: { 'content-type': 'application/x-amz-json-1.1' } });
};
`,
      );
      const login = await invoke('Login', apiEvent({ method: 'POST', path: '/login', body: { code: 'deployed.2' } }), {
        env: { WECHAT_SECRET: undefined },
        node: ['--require', stub],
      });
      // The AppSecret it read is what the fake WeChat checks.
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      const ssm = JSON.parse(readFileSync(record, 'utf8')) as { url: string; method: string; headers: Record<string, string>; body: string };
      expect(ssm.url).toBe(`https://ssm.${REGION}.amazonaws.com/`);
      expect(JSON.parse(ssm.body)).toEqual({ Name: '/wechat-login/prod/wechat-app-secret', WithDecryption: true });
      expect(ssm.headers.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/ssm/aws4_request, SignedHeaders=[^,]*x-amz-security-token[^,]*, Signature=[0-9a-f]{64}$`,
        ),
      );
      expect(ssm.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      const received = { method: ssm.method, path: new URL(ssm.url).pathname, headers: ssm.headers, body: ssm.body };
      expect(await resignedAuthorization(received, { credentials: CREDENTIALS, region: REGION, service: 'ssm' })).toBe(ssm.headers.authorization);
      await expectSignedWithEnvironmentCredentials('login (AppSecret from SSM)', login.dynamodb);
    });
  });
});
