import type { HttpHandler } from '#lib/http/handler';
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
 * THE one list of the API's routes for tests: each function of serverless.yml
 * (same name) with its route and its handler's createHandler. A unit test holds
 * it equal to serverless.yml, so an endpoint added there cannot be left out here.
 */
export const ROUTES = {
  login: { method: 'POST', path: '/login', create: login },
  checklogin: { method: 'GET', path: '/checklogin', create: checklogin },
  credit: { method: 'GET', path: '/credit', create: credit },
  userinfo: { method: 'POST', path: '/userinfo', create: userinfo },
  phonenumber: { method: 'POST', path: '/phonenumber', create: phonenumber },
  logout: { method: 'POST', path: '/logout', create: logout },
  spend: { method: 'POST', path: '/credit/spend', create: spend },
  checkin: { method: 'POST', path: '/credit/checkin', create: checkin },
  history: { method: 'GET', path: '/credit/history', create: history },
  profile: { method: 'GET', path: '/profile', create: profile },
  nickname: { method: 'PUT', path: '/profile', create: nickname },
  avatar: { method: 'POST', path: '/profile/avatar', create: avatar },
} as const satisfies Record<string, { method: string; path: string; create: (deps: TestDeps) => HttpHandler }>;

export type Endpoint = keyof typeof ROUTES;

export const ENDPOINTS = Object.keys(ROUTES) as Endpoint[];

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
