import { createRequire } from 'node:module';
import { FUNCTION_NAMES, type FunctionName } from '#lib/http/routes';

export interface ServerlessRoute {
  /** The function's name in serverless.yml. */
  name: string;
  /** "METHOD /path", as API Gateway names the route. */
  route: string;
  /** The handler's source, e.g. handlers/login.ts. */
  entry: string;
}

export interface GeneratedFunction {
  handler: string;
  reservedConcurrency: number | null;
  events?: { httpApi: string }[];
  iamRoleStatements: { Effect: string; Action: string[]; Resource: unknown[]; Condition?: Record<string, Record<string, unknown>> }[];
}

/** What the statements name: the AppSecret's parameter, the apps path, the avatars' bucket (a name or an Fn::Sub). */
export interface IamContext {
  appSecretParameter: string;
  appsPath: string;
  avatarsBucket: string | Record<string, string>;
}

/** What the statements name, as serverless.yml resolves it for the prod stage by default. */
export const PROD_IAM_CONTEXT: IamContext = {
  appSecretParameter: '/wechat-login/prod/wechat-app-secret',
  appsPath: '/wechat-login/prod/apps',
  avatarsBucket: { 'Fn::Sub': 'wechat-login-prod-avatars-${AWS::AccountId}-${AWS::Region}' },
};

const generator = createRequire(import.meta.url)('../../resources/functions.cjs') as {
  functions(ctx: IamContext, reserved: Record<string, number | null>): Record<FunctionName, GeneratedFunction>;
};

/** serverless.yml's `functions`, as resources/functions.cjs generates them from the route table (no reserved concurrency). */
export function serverlessFunctions(ctx: IamContext = PROD_IAM_CONTEXT): Record<FunctionName, GeneratedFunction> {
  return generator.functions(ctx, {});
}

/** Every HTTP API route of serverless.yml: what is deployed, so what the tests serve. */
export function serverlessRoutes(): ServerlessRoute[] {
  const functions = serverlessFunctions();
  return FUNCTION_NAMES.flatMap((name) => {
    const fn = functions[name];
    const handler = fn.handler;
    return (fn.events ?? []).map((event) => ({ name, route: event.httpApi, entry: `${handler.slice(0, handler.lastIndexOf('.'))}.ts` }));
  });
}
