'use strict';
/**
 * API Gateway's per-route throttling: what bounds a flood now that no function reserves concurrency by default
 * (resources/settings.cjs). Each route gets its own rate (requests a second, sustained) and burst, so a flood on one
 * route is refused with 429 at the edge, before it reaches Lambda, and cannot take the account's concurrency from the
 * others: a route's concurrency is at most its rate × its duration. Routes not listed keep the stage's default
 * (serverless.yml, API_THROTTLE_RATE / API_THROTTLE_BURST). Each route's pair can be changed at deploy time with
 * API_THROTTLE_<FUNCTION>=<rate>/<burst> (e.g. API_THROTTLE_LOGIN=200/400), checked here at package time.
 */

const { require: tsRequire } = require('tsx/cjs/api');

const { FUNCTIONS } = tsRequire('../lib/http/routes.ts', __filename);

/** Function → [rate, burst], its route from the route table (lib/http/routes.ts). The paid or WeChat-limited routes get less than the reads. */
const THROTTLES = {
  // Each login spends a WeChat jscode2session call and, for a new user, a risk call: 50/s is 3,000 logins a minute.
  login: [50, 100],
  checklogin: [100, 200],
  credit: [100, 200],
  userinfo: [20, 40],
  // Every success is a paid verification at WeChat.
  phonenumber: [10, 20],
  logout: [50, 100],
  spend: [50, 100],
  checkin: [50, 100],
  history: [50, 100],
  profile: [100, 200],
  // Each is a msg_sec_check call at WeChat.
  nickname: [10, 20],
  // Up to 1 MiB each into S3.
  avatar: [10, 20],
};

/** Route key → [function, rate, burst]: every route of the table, each with its own throttle. */
const ROUTES = Object.fromEntries(
  Object.entries(FUNCTIONS).flatMap(([fn, { method, path }]) => {
    if (!path) return [];
    if (!THROTTLES[fn]) throw new Error(`resources/throttling.cjs: the route of ${fn} (${method} ${path}) has no throttle`);
    return [[`${method} ${path}`, [fn, ...THROTTLES[fn]]]];
  }),
);
const unrouted = Object.keys(THROTTLES).filter((fn) => !FUNCTIONS[fn]?.path);
if (unrouted.length) throw new Error(`resources/throttling.cjs: ${unrouted.join(', ')} has no route in lib/http/routes.ts`);

/** osls's logical id of a route: HttpApiRoute + the method and each path segment, capitalized, without punctuation. */
function routeLogicalId(routeKey) {
  const [method, path] = routeKey.split(' ');
  const words = [method.toLowerCase(), ...path.split('/').filter(Boolean)];
  return `HttpApiRoute${words.map((word) => word.replace(/[^A-Za-z0-9]/g, '').replace(/^./, (c) => c.toUpperCase())).join('')}`;
}

function fail(message) {
  const error = new Error(message);
  error.stack = message;
  throw error;
}

/** Each route's { ThrottlingRateLimit, ThrottlingBurstLimit }, the defaults overridden by API_THROTTLE_<FUNCTION>. */
function routeSettings(env) {
  const settings = {};
  for (const [routeKey, [fn, rate, burst]] of Object.entries(ROUTES)) {
    const name = `API_THROTTLE_${fn.toUpperCase()}`;
    const raw = env[name]?.trim();
    let pair = [rate, burst];
    if (raw) {
      const match = /^(\d{1,5})\/(\d{1,5})$/.exec(raw);
      // API Gateway's account default is 10,000 requests a second and a burst of 5,000.
      if (!match || Number(match[1]) < 1 || Number(match[2]) < 1 || Number(match[1]) > 10000 || Number(match[2]) > 5000) {
        fail(`${name} must be <rate>/<burst>, whole numbers from 1 to 10000 and 1 to 5000 (e.g. ${rate}/${burst}), got "${raw}"`);
      }
      pair = [Number(match[1]), Number(match[2])];
    }
    settings[routeKey] = { ThrottlingRateLimit: pair[0], ThrottlingBurstLimit: pair[1] };
  }
  return settings;
}

module.exports = {
  ROUTES,
  THROTTLES,
  routeLogicalId,
  routeSettings: () => routeSettings(process.env),
  /** The stage names routes in its RouteSettings: API Gateway refuses a key whose route does not exist yet. */
  routeIds: () => Object.keys(ROUTES).map(routeLogicalId),
};
