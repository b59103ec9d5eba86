/** BENCHMARKS.md (and the console table) from the measurements of bench/run.ts. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { CLIENT_BUDGET_BYTES, type ClientBuild } from '../client/tools/build.mts';
import type { Contributor, Floor } from './bundle.ts';
import type { ColdSamples } from './cold.ts';
import { DEFAULT_CREDENTIAL_CHAIN, type ServiceBuild, withFullCredentialChain } from './esbuild-options.ts';
import type { PackagedFunction } from './package.ts';
import { PACKAGE_COMMAND } from './package.ts';
import { kib, ms, percentile, ratio, summarize } from './stats.ts';
import type { Endpoint, EndpointResult, WarmResult } from './warm.ts';

/** bench/warm.ts LOGOUT_ALL (a type-only import keeps warm.ts and its DynamoDB Local out of the report's load). */
const LOGOUT_ALL = 'logout?all=1';
/** bench/warm.ts CHECKIN_FIRST. */
const CHECKIN_FIRST = 'checkin (first today)';

/** The budgets, as agreed. */
export const BUDGETS = {
  coldInitVsFloor: 1.0,
  zipVsFloor: 1.0,
  checkloginReads: 1,
  /** The code's claim (before WeChat is asked), then one transaction: README, Decisions. */
  loginWrites: ['PutItem', 'TransactWriteItems'],
  ownCodeP50Ms: 1,
  /** client/dist/index.js, minified: what every mini-program that uses the client ships. */
  clientBytes: CLIENT_BUDGET_BYTES,
};
const LOGIN_BUDGET = `\`/login\` = ${BUDGETS.loginWrites.length} write round-trips: the claim, then one transaction (+ the WeChat call)`;

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  loadAtStart: number[];
}

export function machineInfo(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: release(),
    loadAtStart: loadavg(),
  };
}

export interface ReportInput {
  machine: Machine;
  startedAt: Date;
  durationSeconds: number;
  coldSeconds: number;
  service: ServiceBuild;
  packaged: PackagedFunction[];
  floor: Floor;
  floorContributors: Contributor[];
  deflate: { level: number; exact: boolean };
  rebuilt: {
    name: string;
    identical: boolean;
    /** Whether its re-build bundled @aws-sdk/credential-provider-node (ours should not). */
    fullCredentialChain: boolean;
    rezipDiff: number;
    contributors: Contributor[];
    extra: { name: string; bytes: number; via: string[] }[];
  }[];
  cold: Map<string, ColdSamples>;
  coldRuns: number;
  /** The warm results, or why the warm bench could not run. */
  warm: WarmResult | { error: string; warmup: number; calls: number };
  users: number;
  client: ClientBuild;
}

interface BudgetRow {
  budget: string;
  figure: string;
  limit: string;
  pass: boolean;
}

export function renderReport(input: ReportInput): { markdown: string; console: string; failures: number } {
  const { packaged, floor, cold } = input;
  const warmError = 'error' in input.warm ? input.warm.error : undefined;
  const warm: WarmResult =
    'error' in input.warm
      ? {
          order: [],
          endpoints: {},
          skipped: [],
          commandMs: {},
          capacityReported: false,
          warmup: input.warm.warmup,
          calls: input.warm.calls,
          dynamoStartMs: 0,
        }
      : input.warm;
  /** Undefined when the bundle failed to load (coldError says why). */
  const coldOf = (name: string) => {
    const s = cold.get(name);
    if (!s) throw new Error(`no cold-init samples for ${name}`);
    if (s.error !== undefined) return undefined;
    return { imp: summarize(s.importMs), cpu: summarize(s.importCpuMs), ready: summarize(s.readyMs), proc: summarize(s.processMs) };
  };
  const coldError = (name: string) => cold.get(name)?.error ?? '';
  const floorCold = coldOf('floor');
  const emptyCold = coldOf('empty');
  if (!floorCold || !emptyCold) throw new Error(`the floor or an empty module failed to load: ${coldError('floor') || coldError('empty')}`);

  // ---- budgets
  const budgets: BudgetRow[] = [];
  for (const fn of packaged) {
    const c = coldOf(fn.name);
    if (!c) {
      budgets.push({
        budget: `cold init \`${fn.name}\` ≤ ${BUDGETS.coldInitVsFloor.toFixed(1)}× floor`,
        figure: `does not load: ${coldError(fn.name)}`,
        limit: `≤ ${ratio(BUDGETS.coldInitVsFloor)}`,
        pass: false,
      });
      continue;
    }
    const r = c.imp.p50 / floorCold.imp.p50;
    budgets.push({
      budget: `cold init \`${fn.name}\` ≤ ${BUDGETS.coldInitVsFloor.toFixed(1)}× floor`,
      figure: `${ratio(r)} (import p50 ${ms(c.imp.p50)} ms vs floor ${ms(floorCold.imp.p50)} ms; CPU time ${ratio(c.cpu.p50 / floorCold.cpu.p50)})`,
      limit: `≤ ${ratio(BUDGETS.coldInitVsFloor)}`,
      pass: r <= BUDGETS.coldInitVsFloor,
    });
  }
  for (const fn of packaged) {
    const r = fn.zipBytes / floor.zipBytes;
    budgets.push({
      budget: `zip \`${fn.name}\` ≤ ${BUDGETS.zipVsFloor.toFixed(1)}× floor`,
      figure: `${ratio(r)} (${kib(fn.zipBytes)} vs floor ${kib(floor.zipBytes)})`,
      limit: `≤ ${ratio(BUDGETS.zipVsFloor)}`,
      pass: r <= BUDGETS.zipVsFloor,
    });
  }
  const perRequest = (endpoint: Endpoint) => requestShape(warm.endpoints[endpoint]!);
  const benched = (endpoint: Endpoint) => warm.order.includes(endpoint);
  if (benched('checklogin')) {
    const c = perRequest('checklogin');
    const onlyOneRead = c.calls.min === 1 && c.calls.max === 1 && c.reads.max === 1 && c.writes.max === 0;
    budgets.push({
      budget: '`/checklogin` = 1 DynamoDB read',
      figure: `${range(c.calls)} call(s)/request: ${c.commandList} (${c.strong.max ? 'strongly consistent' : 'eventually consistent'})`,
      limit: '= 1 read',
      pass: onlyOneRead,
    });
  }
  if (benched('credit')) {
    // The token names its user: the session and the credit in one BatchGetItem (#12).
    const c = perRequest('credit');
    budgets.push({
      budget: '`/credit` = 1 DynamoDB round-trip',
      figure: `${range(c.calls)} call(s)/request: ${c.commandList} (${c.strong.max ? 'strongly consistent' : 'eventually consistent'})`,
      limit: '= 1 round-trip',
      pass: c.calls.min === 1 && c.calls.max === 1 && c.writes.max === 0,
    });
  }
  if (warm.endpoints[LOGOUT_ALL]) {
    // A user's sessions are one partition: one strongly consistent Query, then a delete each (#12).
    const o = perRequest(LOGOUT_ALL);
    const queries = warm.endpoints[LOGOUT_ALL].meters.map((m) => m.commands.filter((c) => c.command === 'QueryCommand').length);
    const others = warm.endpoints[LOGOUT_ALL].meters.map((m) =>
      m.commands.every((c) => ['GetItemCommand', 'UpdateItemCommand', 'QueryCommand', 'DeleteItemCommand'].includes(c.command)),
    );
    budgets.push({
      budget: '`/logout?all=1` = 1 Query + its deletes',
      figure: `${range(o.calls)} call(s)/request: ${o.commandList}`,
      limit: '1 Query (+ session check, replay mark, deletes)',
      pass: queries.every((n) => n === 1) && others.every(Boolean) && warm.endpoints[LOGOUT_ALL].non200 === 0,
    });
  }
  // A move of credit: the session and the balance in one read, then one transaction (the balance and the entry): README, Points.
  const move = (name: string, route: string) => {
    const r = warm.endpoints[name];
    if (!r) return;
    const m = perRequest(name);
    const asIntended = r.meters.every(
      (meter) => meter.commands.map((c) => c.command.replace(/Command$/, '')).join(' → ') === 'BatchGetItem → TransactWriteItems',
    );
    budgets.push({
      budget: `\`${route}\` = 2 DynamoDB round-trips (no lost race)`,
      figure: `${m.commandList}; ${range(m.rcu)} RCU + ${range(m.wcu)} WCU/request`,
      limit: 'BatchGetItem → TransactWriteItems',
      pass: asIntended && r.non200 === 0,
    });
  };
  if (benched('spend')) move('spend', 'POST /credit/spend');
  move(CHECKIN_FIRST, 'POST /credit/checkin (first today)');
  if (benched('checkin')) {
    const c = perRequest('checkin');
    budgets.push({
      budget: '`POST /credit/checkin` again the same day = 1 DynamoDB read',
      figure: `${c.commandList}; ${range(c.rcu)} RCU/request`,
      limit: '= 1 read, no write',
      pass: c.calls.max === 1 && c.writes.max === 0 && warm.endpoints.checkin!.non200 === 0,
    });
  }
  if (benched('history')) {
    // The session first, then the page: no ledger is read for a caller without a live session (README Decisions).
    const h = perRequest('history');
    const inOrder = warm.endpoints.history!.meters.every(
      (m) => m.commands.map((c) => c.command.replace(/Command$/, '')).join(' → ') === 'GetItem → Query',
    );
    budgets.push({
      budget: '`GET /credit/history` = 2 DynamoDB round-trips (the session, then the page), no write',
      figure: `${h.commandList}; ${range(h.rcu)} RCU/request`,
      limit: 'GetItem → Query',
      pass: inOrder && h.calls.max === 2 && h.writes.max === 0 && warm.endpoints.history!.non200 === 0,
    });
  }
  if (benched('profile')) {
    const p = perRequest('profile');
    budgets.push({
      budget: '`GET /profile` = 1 DynamoDB round-trip',
      figure: `${p.commandList}; ${range(p.rcu)} RCU/request`,
      limit: '= 1 round-trip',
      pass: p.calls.max === 1 && p.writes.max === 0 && warm.endpoints.profile!.non200 === 0,
    });
  }
  if (benched('nickname')) {
    const n = perRequest('nickname');
    const asIntended = warm.endpoints.nickname!.meters.every(
      // A user's first check of the window costs one more write: the count's failed condition, then the window opened.
      (m) => /^BatchGetItem( → UpdateItem){2,3}$/.test(m.commands.map((c) => c.command.replace(/Command$/, '')).join(' → ')),
    );
    budgets.push({
      // The first write counts the check against the user's bound (NICKNAME_CHECKS_PER_HOUR) before WeChat is asked.
      budget: '`PUT /profile` = 1 read + the per-user bound + the content check + 1 write',
      figure: `${n.commandList} + ${range(n.wechat)} WeChat call; ${range(n.wcu)} WCU/request`,
      limit: 'BatchGetItem → UpdateItem (bound) → msg_sec_check → UpdateItem',
      pass: asIntended && n.wechat.max <= 2 && warm.endpoints.nickname!.non200 === 0,
    });
  }
  if (benched('login')) {
    const l = perRequest('login');
    const expected = BUDGETS.loginWrites.join(' → ');
    // Every login makes exactly these calls, in this order (and so nothing else: no read, no second transaction).
    const asIntended = warm.endpoints.login!.meters.every((m) => m.commands.map((c) => c.command.replace(/Command$/, '')).join(' → ') === expected);
    budgets.push({
      budget: LOGIN_BUDGET,
      figure: `${range(l.writes)} write round-trips/request (${l.commandList}) + ${range(l.wechat)} WeChat call`,
      limit: `${expected} + 1 WeChat`,
      pass: asIntended && l.wechat.max <= 1,
    });
  }
  for (const endpoint of warm.order) {
    const own = summarize(warm.endpoints[endpoint]!.ownMs);
    budgets.push({
      budget: `own-code warm overhead \`/${endpoint}\` p50 < ${BUDGETS.ownCodeP50Ms} ms`,
      figure: `p50 ${ms(own.p50, 3)} ms (p99 ${ms(own.p99, 3)} ms)`,
      limit: `< ${BUDGETS.ownCodeP50Ms} ms`,
      pass: own.p50 < BUDGETS.ownCodeP50Ms,
    });
  }
  if (warmError !== undefined) {
    for (const budget of ['`/checklogin` = 1 DynamoDB read', LOGIN_BUDGET, `own-code warm overhead p50 < ${BUDGETS.ownCodeP50Ms} ms`]) {
      budgets.push({ budget, figure: `warm bench failed: ${warmError}`, limit: '–', pass: false });
    }
  }
  budgets.push({
    budget: `mini-program client \`client/dist/index.js\` < ${kib(BUDGETS.clientBytes)} minified`,
    figure: `${kib(input.client.cjsBytes)} (ES module build ${kib(input.client.mjsBytes)})`,
    limit: `< ${kib(BUDGETS.clientBytes)}`,
    pass: input.client.cjsBytes < BUDGETS.clientBytes,
  });
  const failures = budgets.filter((b) => !b.pass).length;
  const budgetTable = table(
    ['budget', 'measured', 'limit', 'result'],
    budgets.map((b) => [b.budget, b.figure, b.limit, b.pass ? 'PASS' : '**FAIL**']),
  );

  // ---- size and cold init
  const sizeRows = [
    [
      'floor',
      kib(floor.zipBytes),
      '1.00×',
      kib(floor.bundleBytes),
      '1.00×',
      coldCell(floorCold.imp),
      '1.00×',
      ms(floorCold.cpu.p50),
      '1.00×',
      coldCell(floorCold.ready),
      ms(floorCold.proc.p50, 0),
    ],
    ...packaged.map((fn) => {
      const c = coldOf(fn.name);
      if (!c) {
        const sizes = [
          fn.name,
          kib(fn.zipBytes),
          ratio(fn.zipBytes / floor.zipBytes),
          kib(fn.bundleBytes),
          ratio(fn.bundleBytes / floor.bundleBytes),
        ];
        return [...sizes, `**does not load:** ${coldError(fn.name)}`, '–', '–', '–', '–', '–'];
      }
      return [
        fn.name,
        kib(fn.zipBytes),
        ratio(fn.zipBytes / floor.zipBytes),
        kib(fn.bundleBytes),
        ratio(fn.bundleBytes / floor.bundleBytes),
        coldCell(c.imp),
        ratio(c.imp.p50 / floorCold.imp.p50),
        ms(c.cpu.p50),
        ratio(c.cpu.p50 / floorCold.cpu.p50),
        coldCell(c.ready),
        ms(c.proc.p50, 0),
      ];
    }),
    [
      '(empty module: node itself)',
      '–',
      '–',
      '–',
      '–',
      coldCell(emptyCold.imp),
      '–',
      ms(emptyCold.cpu.p50),
      '–',
      coldCell(emptyCold.ready),
      ms(emptyCold.proc.p50, 0),
    ],
  ];
  const sizeTable = table(
    [
      'function',
      'zip',
      'zip ×floor',
      'bundle',
      'bundle ×floor',
      'import ms p50 (p25–p75, min–max)',
      'import ×floor',
      'import CPU ms p50',
      'CPU ×floor',
      'process start → ready ms p50 (p25–p75, min–max)',
      'spawn → exit ms p50',
    ],
    sizeRows,
  );

  // ---- warm latency
  const warmTable = table(
    ['endpoint', 'n', 'total p50 / p99', 'DynamoDB p50 / p99', 'WeChat p50 / p99', 'own code p50 / p99', 'non-200'],
    warm.order.map((endpoint) => {
      const r = warm.endpoints[endpoint]!;
      const pair = (values: number[], digits = 2) => `${ms(percentile(values, 0.5), digits)} / ${ms(percentile(values, 0.99), digits)}`;
      return [
        `/${endpoint}`,
        String(r.totalMs.length),
        pair(r.totalMs),
        pair(r.dynamoMs),
        r.meters.some((m) => m.wechatCalls > 0) ? pair(r.wechatMs) : '–',
        pair(r.ownMs, 3),
        r.non200 ? `**${r.non200}** (${r.firstError ?? ''})` : '0',
      ];
    }),
  );

  // ---- DynamoDB per request
  const dynamoTable = table(
    ['endpoint', 'DynamoDB calls', 'commands (in order)', 'strong reads', 'eventual reads', 'write round-trips', 'RCU', 'WCU', 'SDK retries'],
    warm.order.map((endpoint) => {
      const s = perRequest(endpoint);
      return [
        `/${endpoint}`,
        range(s.calls),
        s.commandList,
        range(s.strong),
        range(s.eventual),
        range(s.writes),
        s.capacityReported ? range(s.rcu) : 'n/a',
        s.capacityReported ? range(s.wcu) : 'n/a',
        String(s.retries),
      ];
    }),
  );
  const commandTable = table(
    ['command', 'n', 'p50 ms', 'p99 ms'],
    Object.entries(warm.commandMs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([command, values]) => [command, String(values.length), ms(percentile(values, 0.5), 2), ms(percentile(values, 0.99), 2)]),
  );

  // ---- what fills the bundles
  const TOP = 6;
  const contributorSection = [
    { name: 'floor', bytes: floor.bundleBytes, list: input.floorContributors },
    ...input.rebuilt.map((r) => ({ name: r.name, bytes: packaged.find((p) => p.name === r.name)!.bundleBytes, list: r.contributors })),
  ]
    .map(({ name, bytes, list }) => {
      const top = list.slice(0, TOP).map((c) => `${c.name} ${kib(c.bytes)} (${((100 * c.bytes) / bytes).toFixed(0)}%)`);
      const rest = list.slice(TOP).reduce((sum, c) => sum + c.bytes, 0);
      if (rest > 0) top.push(`${list.length - TOP} more ${kib(rest)}`);
      return `- **${name}** (${kib(bytes)}): ${top.join(', ')}`;
    })
    .join('\n');
  const extraSection = input.rebuilt
    .map((r) => {
      const items = r.extra.map((e) => `${e.name} +${kib(e.bytes)}${e.via.length ? ` (${e.via.join('; ')})` : ''}`);
      return `- **${r.name}**: ${items.length ? items.join(', ') : 'nothing over 1 KiB'}`;
    })
    .join('\n');

  const m = input.machine;
  const header = [
    `- **Machine:** ${m.nproc} CPUs (nproc), ${m.cpuModel}, ${m.memoryGiB.toFixed(1)} GiB RAM, Linux ${m.kernel}, Node ${m.node}; load average at start ${m.loadAtStart.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min)`,
    `- **Date:** ${input.startedAt.toISOString()} (bench took ${input.durationSeconds.toFixed(0)} s)`,
    `- **Command:** \`npm run bench\` (\`tsx bench/run.ts\`), which first runs \`${PACKAGE_COMMAND}\``,
    `- **Runs:** cold init ${input.coldRuns} per target, interleaved (${input.coldSeconds.toFixed(0)} s); warm ${warm.warmup} warm-up + ${warm.calls} measured calls per endpoint, sequential, ${input.users} users`,
  ].join('\n');

  const identical = input.rebuilt.every((r) => r.identical);
  const withChain = input.rebuilt.filter((r) => r.fullCredentialChain).map((r) => r.name);
  const chainless = withChain.length === 0 ? 'none of ours has it' : `**${withChain.join(', ')} still carry it**`;
  const rezip = input.rebuilt.map((r) => `${r.name} ${r.rezipDiff >= 0 ? '+' : ''}${r.rezipDiff} B`).join(', ');
  const methodology = `## Methodology

- **Artifacts.** \`serverless package\` (osls + serverless-esbuild, stage \`bench\`, no AWS credentials, into a temp dir) writes one zip per function; sizes are of those zips and of the bundle inside (read by \`test/support/zip.ts\`). Each zip holds only: ${packaged.map((p) => p.entries.join(', ')).join('; ')}.
- **Floor.** \`bench/floor/handler.ts\`: a \`DynamoDBDocumentClient\` at module scope and one \`GetCommand\` per request. It is bundled with the esbuild JS API using the \`custom.esbuild\` options read from the current \`serverless.yml\` at run time, with serverless-esbuild's defaults and key handling (\`bench/esbuild-options.ts\`), but without the \`alias\` of \`${DEFAULT_CREDENTIAL_CHAIN}\`, so it keeps the SDK's full default credential chain (checked: its metafile has that package; ${chainless}): \`${JSON.stringify(withFullCredentialChain(input.service).options)}\`. Our functions are built with \`alias: ${JSON.stringify(input.service.options.alias ?? {})}\` on top. Re-building our handlers that way gives bundles ${identical ? 'byte-identical to' : '**not** identical to'} the packaged ones. Its zip holds what esbuild wrote, deflated like the plugin's (archiver) zips: the deflate level is detected from the packaged artifact (level ${input.deflate.level}, ${input.deflate.exact ? 'reproduces the packaged compressed size exactly' : 'closest match, not exact'}); re-zipping our bundles that way differs from the packaged zips by ${rezip}.
- **Cold init.** For each run a fresh \`node\` (same Node as the bench) loads one unzipped bundle as Lambda's runtime does (\`require\` for a \`.cjs\` bundle, \`await import()\` otherwise), between two \`performance.now()\` calls; *import* is that span (loading, parsing, top-level code; \`WECHAT_SECRET\` is set, so \`/login\`'s AppSecret read, which starts at init without being awaited, makes no SSM call). *Import CPU* is the child's \`process.cpuUsage()\` (user + system, all threads) over the same span: it hardly moves when other work competes for the CPUs, so it is the cross-check when the machine is busy. *Process start → ready* is the child's \`performance.now()\` at that point (Node bootstrap included); *spawn → exit* is the parent's wall clock. The child's environment is PATH, HOME, the function's own environment as packaged (the CloudFormation template's variables: table names, WECHAT_API_BASE, WECHAT_SECRET_PARAM, …), then WECHAT_APPID=wx0000000000000000, WECHAT_SECRET=local-fake-app-secret (it wins over WECHAT_SECRET_PARAM: no SSM call), AWS_REGION=us-east-1, POWERTOOLS_LOG_LEVEL=SILENT; the floor gets those and SESSIONS_TABLE. Nothing touches the network at import. Targets rotate order each round; one discarded round warms the page cache. The empty module shows what Node alone costs. The budget compares wall-clock import medians. Lambda runs Node 22 on arm64 at 512 MB, so absolute times differ there; ratios to the floor carry over better.
- **Warm.** \`createHandler(deps)\` from \`handlers/*.ts\` (TypeScript via tsx, not the bundle) is called in-process with API Gateway HTTP API v2 events (\`test/support/event.ts\`), sequentially, endpoints interleaved per round, against DynamoDB Local (in memory, \`local/dynamodb.ts\`; the stage's tables created from \`resources/dynamodb.yml\` by \`local/tables.ts\`) and the fake WeChat over loopback HTTP. The process runs with the union of the functions' packaged environments, pointed at those (WECHAT_API_BASE, DYNAMODB_ENDPOINT, a local WECHAT_SECRET); the deps are wired as \`test/support/stack.ts\` and the handlers wire them (\`lib/wiring.ts\`). Every login uses a fresh code (\`<user>.<n>\`) of one of ${input.users} users, each created by two unmeasured logins first (the second session is a spare for \`/logout\`); the read endpoints use each user's latest token; \`/userinfo\` posts what \`wx.getUserInfo()\` would give that user; \`/logout\` (if present) ends a spare session of an earlier login; \`/spend\` spends 1 under a fresh key; \`/checkin\` repeats the day's check-in (its first, which moves credit, is measured once per user before the rounds: *checkin (first today)*); \`/history\` reads the newest 20 entries. Functions without a recipe (the profile routes, the routeless grant) are measured for size and cold init only. *DynamoDB* time is measured by a middleware at the top of the DynamoDB client's \`initialize\` step, so it covers the whole \`send\` (marshalling, signing, HTTP to DynamoDB Local, retries), as the wall time with at least one call in flight (calls made in parallel count once); *WeChat* time by wrapping the \`fetch\` passed to \`createCode2Session\` (request and body); *own code* = handler total − DynamoDB − WeChat (our parsing, validation, hashing, decryption, the handler wrapper and logging at SILENT). Warm-up calls are not counted.
- **DynamoDB accounting.** The same middleware counts calls per request and sets \`ReturnConsumedCapacity: 'TOTAL'\`; capacity is the sum of \`ConsumedCapacity[].CapacityUnits\` (an array for transactions). DynamoDB Local ${warm.capacityReported ? 'does report consumed capacity, for transactions too (2 units per transactional item), so the RCU/WCU columns are its figures' : '**did not** report consumed capacity for every call: those columns are n/a'}. A read is strong when its input has \`ConsistentRead: true\`. A write round-trip is one write call (a transaction of several items counts once).
- **Noise.** The machine may be shared; the load average at start is above. Medians and interquartile ranges are reported for that reason; cold-init ratios come from interleaved runs.
- **Client.** The mini-program client is built as \`npm run build\` builds it (\`client/tools/build.mts\`: esbuild, CommonJS and ES module, target ES2017, minified, no dependencies); its size is that of \`client/dist/index.js\`, what a mini-program's \`require\` loads after WeChat DevTools' "build npm".
- **Knobs.** \`BENCH_COLD_RUNS\`, \`BENCH_WARM_CALLS\`, \`BENCH_WARMUP\`, \`BENCH_USERS\` (environment); \`BENCH_STRICT=1\` makes a failing budget exit 2. The command exits 1 only when something could not be measured.
- **What would move the figures.** \`npx tsx bench/variants.ts\` builds the floor, \`checklogin\` and \`login\` with one esbuild change each (minify off; format esm, the earlier setting; \`mainFields: main\`, the SDK's CommonJS builds) and measures them the same way, into \`bench/variants.md\`; \`serverless.yml\` is not touched. It is how the format (CommonJS: about 8% less import time than the same bundle as ESM) and \`mainFields\` (module first: about 40% less) were chosen.`;

  const markdown = `# Benchmarks

${header}

## Budgets

${budgetTable}

${failures === 0 ? 'All budgets pass.' : `${failures} budget(s) fail.`}

The \`/login\` budget is two write round-trips on purpose (README, Decisions): the first is the conditional
claim on the code's hash, made *before* the WeChat call so that a double tap or a client retry calls WeChat
once and a storage outage fails before the user's code is spent; the second is the transaction that writes
the session, the user and WeChat's answer on the claim.${
    m.loadAtStart[0]! > m.nproc
      ? `\n\n**The machine was busy** (1-minute load average ${m.loadAtStart[0]!.toFixed(1)} on ${m.nproc} CPUs): wall-clock cold-init times are noisy; the CPU-time ratios beside them are the cross-check.`
      : ''
  }

## Size and cold init

${sizeTable}

## Warm latency (ms, per request)

${warmError !== undefined ? `**The warm bench failed:** ${warmError}` : warmTable}
${warm.skipped.length ? `\nNot benched warm (no event recipe in \`bench/warm.ts\`): ${warm.skipped.join(', ')}.\n` : ''}
## DynamoDB per request

${dynamoTable}

Single DynamoDB calls (whole \`send\`, against DynamoDB Local on loopback):

${commandTable}

## What fills the bundles (esbuild metafile, bytes in output)

${contributorSection}

Beyond the floor (bytes over the floor's for the same package, ≥ 1 KiB; which of our files import it directly):

${extraSection}

${methodology}
`;
  const consoleText = [
    `Budgets (${failures === 0 ? 'all PASS' : `${failures} FAIL`})`,
    budgetTable,
    '',
    'Size and cold init',
    sizeTable,
    '',
    'Warm latency (ms)',
    warmTable,
    '',
    'DynamoDB per request',
    dynamoTable,
  ].join('\n');
  return { markdown, console: consoleText, failures };
}

interface Range {
  min: number;
  max: number;
  mean: number;
}

function requestShape(r: EndpointResult) {
  const of = (pick: (m: EndpointResult['meters'][number]) => number): Range => {
    const values = r.meters.map(pick);
    return { min: Math.min(...values), max: Math.max(...values), mean: values.reduce((a, b) => a + b, 0) / values.length };
  };
  const sequences = new Map<string, number>();
  for (const m of r.meters) {
    const key = m.commands.map((c) => c.command.replace(/Command$/, '')).join(' → ') || '(none)';
    sequences.set(key, (sequences.get(key) ?? 0) + 1);
  }
  const commandList = [...sequences.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => (sequences.size > 1 ? `${key} (${n}×)` : key))
    .join('; ');
  return {
    calls: of((m) => m.calls),
    reads: of((m) => m.strongReads + m.eventualReads),
    strong: of((m) => m.strongReads),
    eventual: of((m) => m.eventualReads),
    writes: of((m) => m.writes),
    wechat: of((m) => m.wechatCalls),
    rcu: of((m) => m.readUnits),
    wcu: of((m) => m.writeUnits),
    retries: r.meters.reduce((sum, m) => sum + m.retries, 0),
    capacityReported: r.meters.every((m) => m.capacityReported),
    commandList,
  };
}

function range(r: Range): string {
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  return r.min === r.max ? fmt(r.min) : `${fmt(r.min)}–${fmt(r.max)} (mean ${fmt(r.mean)})`;
}

function coldCell(s: { p50: number; p25: number; p75: number; min: number; max: number }): string {
  return `${ms(s.p50)} (${ms(s.p25)}–${ms(s.p75)}, ${ms(s.min)}–${ms(s.max)})`;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
