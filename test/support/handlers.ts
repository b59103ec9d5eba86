import type { HttpHandler } from '#lib/http/handler';
import { FUNCTIONS, ROUTE_NAMES, type RouteName } from '#lib/http/routes';
import { createHandler as avatar } from '../../handlers/avatar.ts';
import { createHandler as checkin } from '../../handlers/checkin.ts';
import { createHandler as checklogin } from '../../handlers/checklogin.ts';
import { createHandler as credit } from '../../handlers/credit.ts';
import { createHandler as history } from '../../handlers/history.ts';
import { createHandler as login } from '../../handlers/login.ts';
import { createHandler as logout } from '../../handlers/logout.ts';
import { createHandler as nickname } from '../../handlers/nickname.ts';
import { createHandler as phonenumber } from '../../handlers/phonenumber.ts';
import { createHandler as profile } from '../../handlers/profile.ts';
import { createHandler as spend } from '../../handlers/spend.ts';
import { createHandler as userinfo } from '../../handlers/userinfo.ts';
import { lambdaContext } from './lambda-context.ts';
import type { TestDeps } from './stack.ts';

/**
 * Each routed function's createHandler, by its name in the route table (lib/http/routes.ts): a route added there
 * without its handler here does not compile.
 */
const CREATE: Record<RouteName, (deps: TestDeps) => HttpHandler> = {
  login,
  checklogin,
  credit,
  userinfo,
  phonenumber,
  logout,
  spend,
  checkin,
  history,
  profile,
  nickname,
  avatar,
};

/** The API's routes for tests, from the route table (what serverless.yml deploys), each with its handler's createHandler. */
export const ROUTES = Object.fromEntries(
  ROUTE_NAMES.map((name) => [name, { method: FUNCTIONS[name].method, path: FUNCTIONS[name].path, create: CREATE[name] }]),
) as { [K in RouteName]: { method: (typeof FUNCTIONS)[K]['method']; path: (typeof FUNCTIONS)[K]['path']; create: (deps: TestDeps) => HttpHandler } };

export type Endpoint = keyof typeof ROUTES;

export const ENDPOINTS: Endpoint[] = ROUTE_NAMES;

/** Lambda's remaining time at the start of an invocation, as the deployed functions' 28 s timeout gives it. */
export const LAMBDA_REMAINING_MS = 28_000;

/**
 * Every real handler, built on the given deps, run as Lambda runs it: with a
 * Lambda context (so under the request deadline and its backstop timer) unless
 * the caller hands in one of its own.
 */
export function createHandlers(deps: TestDeps): Record<Endpoint, HttpHandler> {
  return Object.fromEntries(
    ENDPOINTS.map((name) => {
      const handler = ROUTES[name].create(deps);
      const asLambda: HttpHandler = (event, context) => handler(event, context ?? lambdaContext(LAMBDA_REMAINING_MS));
      return [name, asLambda];
    }),
  ) as Record<Endpoint, HttpHandler>;
}
