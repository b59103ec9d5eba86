/**
 * `npm run load`: a bounded load test of the whole local stack over loopback.
 * Starts `npm start` on a free port (or uses LOAD_API_URL + LOAD_WECHAT_URL),
 * logs in LOAD_USERS users, then sends a fixed number of requests in a
 * realistic mix with autocannon and checks: no non-2xx reply, and every user's
 * credit unchanged. Prints throughput, p50/p99 latency and the error count.
 */
import autocannon from 'autocannon';
import { type StackProcess, spawnLocalStack } from '../local/stack-process.ts';

const USERS = Number(process.env.LOAD_USERS ?? 40);
const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 4000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 16);
const MAX_SECONDS = 120;

let stack: StackProcess | undefined;
try {
  let api = process.env.LOAD_API_URL;
  let wechat = process.env.LOAD_WECHAT_URL;
  if (!api || !wechat) {
    console.log('Starting the local stack (npm start)…');
    stack = await spawnLocalStack({ POWERTOOLS_LOG_LEVEL: 'WARN' });
    api = stack.api;
    wechat = stack.state.wechat;
  }

  const run = `load${Date.now().toString(36)}`;
  const users = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const name = `${run}u${i}`;
      const login = await postJson(`${api}/login`, { code: `${name}.0` });
      const userinfo = await (await fetch(`${wechat}/__fake/userinfo?user=${name}`)).json();
      const { credit } = (await (await fetch(`${api}/credit`, { headers: bearer(String(login.token)) })).json()) as { credit: number };
      return { name, token: String(login.token), userinfo, credit };
    }),
  );
  const creditsBefore = users.reduce((sum, user) => sum + user.credit, 0);

  // Per request: 1 login (fresh code), 4 checklogin, 3 credit, 2 userinfo; each connection plays one user at a time.
  let loginSeq = 0;
  let next = 0;
  const pick = () => users[next++ % users.length]!;
  type User = (typeof users)[number];
  /** autocannon's per-connection context: the user this connection is playing. */
  const userOf = (context: object) => (context as { user: User }).user;
  const mix: autocannon.Request[] = [
    {
      method: 'POST',
      path: '/login',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req, context) => {
        const user = pick();
        Object.assign(context, { user });
        return { ...req, body: JSON.stringify({ code: `${user.name}.${++loginSeq}` }) };
      },
    },
    ...Array.from({ length: 4 }, () => authed('GET', '/checklogin')),
    ...Array.from({ length: 3 }, () => authed('GET', '/credit')),
    ...Array.from({ length: 2 }, () => ({
      ...authed('POST', '/userinfo'),
      setupRequest: (req: autocannon.Request, context: object) => ({
        ...req,
        headers: { ...bearer(userOf(context).token), 'content-type': 'application/json' },
        body: JSON.stringify(userOf(context).userinfo),
      }),
    })),
  ];

  const nonOk: Record<string, number> = {};
  const result = await autocannon({
    url: api,
    connections: CONNECTIONS,
    amount: REQUESTS,
    duration: MAX_SECONDS,
    timeout: 20,
    requests: mix.map((request) => ({
      ...request,
      onResponse: (status: number, body: string) => {
        if (status !== 200) nonOk[`${status} ${body.slice(0, 80)}`] = (nonOk[`${status} ${body.slice(0, 80)}`] ?? 0) + 1;
      },
    })),
  });

  let creditsAfter = 0;
  for (const user of users) {
    const response = await fetch(`${api}/credit`, { headers: bearer(user.token) });
    const reply = (await response.json()) as { credit?: number };
    if (typeof reply.credit !== 'number') throw new Error(`credit of ${user.name} after the run: ${response.status} ${JSON.stringify(reply)}`);
    creditsAfter += reply.credit;
  }

  const non2xx = result.non2xx + result.errors + result.timeouts;
  console.log(`
Load test: ${result.requests.total} requests, ${CONNECTIONS} connections, ${USERS} users, mix 1 login : 4 checklogin : 3 credit : 2 userinfo
  throughput      ${result.requests.average.toFixed(0)} req/s (${result.duration.toFixed(1)} s)
  latency         p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms   max ${result.latency.max} ms
  non-2xx/errors  ${non2xx} (non-2xx ${result.non2xx}, socket errors ${result.errors}, timeouts ${result.timeouts})
  credit total    before ${creditsBefore}, after ${creditsAfter}
`);
  for (const [reply, count] of Object.entries(nonOk)) console.log(`  ${count} × ${reply}`);

  const ok = non2xx === 0 && creditsAfter === creditsBefore && result.requests.total >= REQUESTS;
  console.log(ok ? 'PASS: every request succeeded and no credit changed.' : 'FAIL: see above.');
  process.exitCode = ok ? 0 : 1;

  function authed(method: string, path: string): autocannon.Request {
    return {
      method: method as autocannon.Request['method'],
      path,
      setupRequest: (req, context) => ({ ...req, headers: bearer(userOf(context).token) }),
    };
  }
} finally {
  await stack?.stop();
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}
