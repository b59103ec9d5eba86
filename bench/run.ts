/**
 * `npm run bench`: size, cold init and warm cost of each function, beside the
 * floor (the least a DynamoDB-backed function can be), checked against the
 * budgets. Writes BENCHMARKS.md and prints the same tables.
 *
 *   1. `serverless package` (stage bench, offline) -> the real zips and bundles.
 *   2. The floor (bench/floor/handler.ts), bundled with serverless.yml's current
 *      custom.esbuild options and zipped like ours; our handlers re-bundled the
 *      same way with a metafile (checked byte-identical to the packaged ones).
 *   3. Cold init: fresh node processes importing each unzipped bundle.
 *   4. Warm: createHandler(deps) in-process against DynamoDB Local + fake WeChat.
 *   5. The mini-program client (client/), built as `npm run build` builds it: its minified size.
 *
 * Knobs (environment): BENCH_COLD_RUNS (40), BENCH_WARM_CALLS (1000 per
 * endpoint), BENCH_WARMUP (100 per endpoint), BENCH_USERS (50); BENCH_STRICT=1
 * exits 2 when a budget fails (otherwise the exit code only reports errors).
 * Never part of `npm test`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient } from '../client/tools/build.mts';
import { buildFloor, buildLikeService, carriesDefaultCredentialChain, contributors, extraOverFloor } from './bundle.ts';
import { cleanupAll, installSignalHandlers, onCleanup } from './children.ts';
import { LOCAL_ENV, measureColdInit } from './cold.ts';
import { ROOT, readServiceBuild } from './esbuild-options.ts';
import { packageService, STAGE } from './package.ts';
import { machineInfo, renderReport } from './report.ts';
import { detectDeflateLevel, zipFiles } from './zip.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const COLD_RUNS = intFromEnv('BENCH_COLD_RUNS', 40);
const WARM_CALLS = intFromEnv('BENCH_WARM_CALLS', 1000);
const WARMUP = intFromEnv('BENCH_WARMUP', 100);
const USERS = intFromEnv('BENCH_USERS', 50);

installSignalHandlers();
const startedAt = new Date();
const machine = machineInfo();
const benchStarted = performance.now();
const tmp = mkdtempSync(join(tmpdir(), 'wechat-login-bench-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

try {
  const service = readServiceBuild();

  step('serverless package --stage bench (offline)');
  const packaged = await packageService(join(tmp, 'package'), service);
  const first = packaged[0];
  if (!first) throw new Error('serverless.yml has no functions');

  step('floor bundle and zip; metafile re-builds of our handlers');
  const deflate = detectDeflateLevel(readFileSync(first.bundlePath), first.bundleCompressedBytes);
  const floor = await buildFloor(service, join(tmp, 'floor'), deflate.level);
  // The floor is the SDK as it comes: without its default credential chain, every ratio to it would flatter ours.
  if (!carriesDefaultCredentialChain(floor.metafile))
    throw new Error('the floor bundle lacks the SDK default credential chain (@aws-sdk/credential-provider-node)');
  const floorContributors = contributors(floor.metafile);
  const rebuilt = [];
  for (const fn of packaged) {
    const built = await buildLikeService(service, service.functions[fn.name]!.entry, join(tmp, 'rebuild', fn.name));
    const identical = readFileSync(built.bundlePath).equals(readFileSync(fn.bundlePath));
    const rezipped = zipFiles(
      fn.entries.map((name) => ({ name, data: readFileSync(join(fn.unzippedDir, name)) })),
      deflate.level,
    ).length;
    rebuilt.push({
      name: fn.name,
      identical,
      fullCredentialChain: carriesDefaultCredentialChain(built.metafile),
      rezipDiff: rezipped - fn.zipBytes,
      contributors: contributors(built.metafile),
      extra: extraOverFloor(built.metafile, floorContributors),
    });
  }

  step(`cold init: ${COLD_RUNS} runs × ${packaged.length + 2} targets, interleaved`);
  const emptyModule = join(tmp, 'empty.mjs');
  writeFileSync(emptyModule, 'export {};\n');
  const coldStarted = performance.now();
  const cold = await measureColdInit(
    [
      { name: 'floor', file: floor.bundlePath, env: { ...LOCAL_ENV, SESSIONS_TABLE: 'bench-sessions' } },
      // Each function with its own packaged environment, plus the local settings.
      ...packaged.map((fn) => ({ name: fn.name, file: fn.bundlePath, env: { ...fn.environment, ...LOCAL_ENV } })),
      { name: 'empty', file: emptyModule, env: LOCAL_ENV },
    ],
    COLD_RUNS,
    (done, total) => progress(`  ${done}/${total}`),
  );
  const coldSeconds = (performance.now() - coldStarted) / 1000;
  for (const [name, samples] of cold) {
    if (samples.error === undefined) continue;
    console.error(`${name} does not load: ${samples.error}`);
    process.exitCode = 1;
  }

  step(`warm: ${WARMUP} warm-up + ${WARM_CALLS} measured calls per endpoint against DynamoDB Local + fake WeChat`);
  const { runWarm } = await import('./warm.ts');
  const environment = Object.assign({}, ...packaged.map((fn) => fn.environment)) as Record<string, string>;
  // A warm failure (e.g. a handler that cannot start) is reported with the rest, not lost.
  const warm = await runWarm({ functions: service.functions, stage: STAGE, environment, warmup: WARMUP, calls: WARM_CALLS, users: USERS }).catch(
    (err: unknown) => {
      console.error('warm bench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
      return { error: err instanceof Error ? err.message.split('\n')[0]! : String(err), warmup: WARMUP, calls: WARM_CALLS };
    },
  );

  step('the mini-program client: npm run build');
  const client = await buildClient();

  const report = renderReport({
    machine,
    startedAt,
    durationSeconds: (performance.now() - benchStarted) / 1000,
    coldSeconds,
    service,
    packaged,
    floor,
    floorContributors,
    deflate,
    rebuilt,
    cold,
    coldRuns: COLD_RUNS,
    warm,
    users: USERS,
    client,
  });
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), report.markdown);
  console.log(report.console);
  console.log(`\nWrote BENCHMARKS.md (${((performance.now() - benchStarted) / 1000).toFixed(0)} s).`);
  if (report.failures > 0) {
    console.log(`${report.failures} budget(s) FAIL.`);
    // The bench measures; it fails the command only when asked to (e.g. in a gate).
    if (process.env.BENCH_STRICT === '1') process.exitCode = 2;
  }
} catch (err) {
  console.error('\nbench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}

function step(what: string): void {
  console.error(`\n[bench ${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(3)} s] ${what}`);
}

function progress(what: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${what}`);
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}
