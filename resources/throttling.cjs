'use strict';
/**
 * API Gateway's per-route throttling: what bounds a flood now that no function reserves concurrency by default
 * (resources/settings.cjs). Each route gets its own rate (requests a second, sustained) and burst, so a flood on one
 * route is refused with 429 at the edge, before it reaches Lambda, and cannot take the account's concurrency from the
 * others: a route's concurrency is at most its rate × its duration. Routes not listed keep the stage's default
 * (serverless.yml, API_THROTTLE_RATE / API_THROTTLE_BURST). Each route's pair can be changed at deploy time with
 * API_THROTTLE_<FUNCTION>=<rate>/<burst> (e.g. API_THROTTLE_LOGIN=200/400), checked here at package time.
 */

/** Route key → [function, rate, burst]. The paid or WeChat-limited routes get less than the reads. */
const ROUTES = {
  // Each login spends a WeChat jscode2session call and, for a new user, a risk call: 50/s is 3,000 logins a minute.
  'POST /login': ['login', 50, 100],
  'GET /checklogin': ['checklogin', 100, 200],
  'GET /credit': ['credit', 100, 200],
  'POST /userinfo': ['userinfo', 20, 40],
  // Every success is a paid verification at WeChat.
  'POST /phonenumber': ['phonenumber', 10, 20],
  'POST /logout': ['logout', 50, 100],
  'POST /credit/spend': ['spend', 50, 100],
  'POST /credit/checkin': ['checkin', 50, 100],
  'GET /credit/history': ['history', 50, 100],
  'GET /profile': ['profile', 100, 200],
  // Each is a msg_sec_check call at WeChat.
  'PUT /profile': ['nickname', 10, 20],
  // Up to 1 MiB each into S3.
  'POST /profile/avatar': ['avatar', 10, 20],
};

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
  routeLogicalId,
  routeSettings: () => routeSettings(process.env),
  /** The stage names routes in its RouteSettings: API Gateway refuses a key whose route does not exist yet. */
  routeIds: () => Object.keys(ROUTES).map(routeLogicalId),
};
