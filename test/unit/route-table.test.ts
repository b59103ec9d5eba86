import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { FUNCTION_NAMES, FUNCTIONS, ROUTE_NAMES, routeKey } from '#lib/http/routes';
import { ROUTES as CLIENT_ROUTES } from '../../client/src/routes.ts';
import { ROUTES_FILE, renderRoutes } from '../../client/tools/routes.mts';
import { ROOT } from '../../local/state.ts';
import { type IamContext, PROD_IAM_CONTEXT, serverlessFunctions } from '../support/routes.ts';

/**
 * The route table (lib/http/routes.ts) is the one source of the deployment's functions: serverless.yml takes them,
 * whole, from resources/functions.cjs, which builds each from the table and its role from resources/iam.cjs.
 */
type Statement = ReturnType<typeof serverlessFunctions>['login']['iamRoleStatements'][number];
const iam = createRequire(import.meta.url)('../../resources/iam.cjs') as {
  statements(ctx: IamContext, names: string[]): Record<string, Statement[]>;
  check(name: string, statements: Statement[]): Statement[];
  UNFENCED: Record<string, string>;
};

const onUsers = (statement: Statement) =>
  statement.Resource.some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': ['UsersTable', 'Arn'] }));
const writesUsers = (statement: Statement) =>
  onUsers(statement) && statement.Action.some((action) => action === 'dynamodb:UpdateItem' || action === 'dynamodb:PutItem');
const fenceOf = (statement: Statement) => statement.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'];

describe('the route table (lib/http/routes.ts) and serverless.yml', () => {
  it("serverless.yml's functions are the generator's, whole: no function is written there by hand", () => {
    const yml = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'), { logLevel: 'silent' }) as { functions: unknown };
    expect(yml.functions).toBe('${file(./resources/functions.cjs):resolve}');
  });

  it('every function of the table is generated with its own handler module, and its route when it has one', () => {
    const functions = serverlessFunctions();
    expect(Object.keys(functions)).toEqual(FUNCTION_NAMES);
    for (const name of FUNCTION_NAMES) {
      expect(functions[name].handler, name).toBe(`handlers/${name}.handler`);
      expect(existsSync(`${ROOT}handlers/${name}.ts`), name).toBe(true);
      const events = (ROUTE_NAMES as string[]).includes(name) ? [{ httpApi: routeKey(name as (typeof ROUTE_NAMES)[number]) }] : undefined;
      expect(functions[name].events, name).toEqual(events);
    }
    expect(FUNCTION_NAMES.filter((name) => !(ROUTE_NAMES as string[]).includes(name))).toEqual(['grant']);
    // Route keys are unique: two functions on one route would be refused by API Gateway.
    expect(new Set(ROUTE_NAMES.map(routeKey)).size).toBe(ROUTE_NAMES.length);
  });

  it('every handler module is a function of the table', async () => {
    const { readdirSync } = await import('node:fs');
    const modules = readdirSync(`${ROOT}handlers`).filter((file) => file.endsWith('.ts'));
    expect(modules.map((file) => file.replace(/\.ts$/, '')).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it("each function's feature is the one its handler calls into (README, Layout), never the other of credit and profile", () => {
    for (const name of FUNCTION_NAMES) {
      const { feature } = FUNCTIONS[name];
      const features = new Set(
        [...readFileSync(`${ROOT}handlers/${name}.ts`, 'utf8').matchAll(/from '#lib\/(session|credit|profile)\//g)].map((m) => m[1]),
      );
      expect(features.has(feature), `${name} imports from lib/${feature}`).toBe(true);
      if (feature !== 'session') expect(features.has(feature === 'credit' ? 'profile' : 'credit'), name).toBe(false);
    }
  });

  it("openapi.yaml has exactly the table's routes, each under the table's operationId", () => {
    const spec = parse(readFileSync(`${ROOT}openapi.yaml`, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const specified = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch'].includes(method))
        .map(([method, operation]) => `${method.toUpperCase()} ${path} ${operation.operationId}`),
    );
    expect(specified.sort()).toEqual(ROUTE_NAMES.map((name) => `${routeKey(name)} ${FUNCTIONS[name].operationId}`).sort());
  });
});

describe('the other per-function lists of resources/ name exactly the functions of the table', () => {
  const load = createRequire(import.meta.url);
  it('route throttles (resources/throttling.cjs): every route, keyed by the route the table gives it', () => {
    const { ROUTES } = load('../../resources/throttling.cjs') as { ROUTES: Record<string, [string, number, number]> };
    expect(Object.entries(ROUTES).map(([key, [fn]]) => `${fn} ${key}`)).toEqual(ROUTE_NAMES.map((name) => `${name} ${routeKey(name)}`));
  });

  it('reserved concurrency (resources/settings.cjs) and the alarms (resources/alarms.cjs): every function', () => {
    const { FUNCTIONS: alarmed } = load('../../resources/alarms.cjs') as { FUNCTIONS: string[] };
    expect([...alarmed].sort()).toEqual([...FUNCTION_NAMES].sort());
    vi.stubEnv('RESERVED_CONCURRENCY', 'on');
    try {
      const { reservedConcurrency } = load('../../resources/settings.cjs') as { reservedConcurrency(): Record<string, number> };
      expect(Object.keys(reservedConcurrency()).sort()).toEqual([...FUNCTION_NAMES].sort());
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("the client's routes (client/src/routes.ts)", () => {
  it('are what `npm run build` generates from the route table: every route, under its operationId', () => {
    expect(readFileSync(ROUTES_FILE, 'utf8')).toBe(renderRoutes());
    expect(CLIENT_ROUTES).toEqual(Object.fromEntries(ROUTE_NAMES.map((name) => [FUNCTIONS[name].operationId, routeKey(name)])));
  });
});

describe('IAM from one description per feature (resources/iam.cjs)', () => {
  it('every write on the users table carries a dynamodb:Attributes fence, but the login role’s (the one named unfenced)', () => {
    const functions = serverlessFunctions();
    expect(Object.keys(iam.UNFENCED)).toEqual(['login']);
    for (const name of FUNCTION_NAMES) {
      for (const statement of functions[name].iamRoleStatements.filter(writesUsers)) {
        if (name === 'login') continue;
        expect(fenceOf(statement), name).toEqual(expect.arrayContaining(['uid']));
        // Select and ReturnValues fenced too: no fenced role gets the whole item back.
        expect(statement.Condition?.StringEqualsIfExists, name).toEqual({
          'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
          'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'],
        });
      }
    }
  });

  it('refuses a role that writes users unfenced, and a function of the table without a role', () => {
    const unfenced: Statement = { Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: [{ 'Fn::GetAtt': ['UsersTable', 'Arn'] }] };
    expect(() => iam.check('newroute', [unfenced])).toThrow(/newroute writes the users table without a dynamodb:Attributes fence/);
    expect(() => iam.check('login', [unfenced])).not.toThrow();
    const put: Statement = { ...unfenced, Action: ['dynamodb:PutItem'] };
    expect(() => iam.check('newroute', [put])).toThrow(/fence/);
    expect(() => iam.statements(PROD_IAM_CONTEXT, [...FUNCTION_NAMES, 'newroute'])).toThrow(/roles for newroute missing/);
    expect(() => iam.statements(PROD_IAM_CONTEXT, FUNCTION_NAMES.slice(1))).toThrow(/login not in lib\/http\/routes.ts/);
  });

  it('names the AppSecret, the apps path and the bucket serverless.yml resolves, never a wildcard but the avatars prefix', () => {
    const ctx = { appSecretParameter: '/x/secret', appsPath: '/x/apps', avatarsBucket: 'bucket-x' };
    const text = JSON.stringify(serverlessFunctions(ctx));
    expect(text).toContain('":parameter","/x/secret"]');
    expect(text).toContain('":parameter","/x/apps"]');
    expect(text).toContain('":s3:::","bucket-x","/avatars/*"]');
    expect(text.replaceAll('/avatars/*', '')).not.toContain('*');
  });
});
