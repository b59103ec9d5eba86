/**
 * Cold init: a fresh `node` process per run imports one bundled handler (a
 * `.cjs` bundle is `require`d instead, as Lambda's Node runtime loads one). The
 * child reports how long the import took (module load + top-level code) and
 * when it was ready relative to its own process start; the parent times spawn
 * to exit. Runs are interleaved across targets (rotating order each round) so
 * background noise hits all alike, and one discarded round warms the page
 * cache first.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { onCleanup } from './children.ts';

export interface ColdTarget {
  name: string;
  file: string;
  /** Variables on top of PATH/HOME (see coldEnv). */
  env: Record<string, string>;
}

export interface ColdSamples {
  /** performance.now() around `await import(bundle)` inside the child. */
  importMs: number[];
  /** CPU time (user + system, all threads) the child spent in that import: less sensitive to a busy machine. */
  importCpuMs: number[];
  /** Child's performance.now() when the import finished: process start to handler ready. */
  readyMs: number[];
  /** Parent's wall clock from spawn to exit. */
  processMs: number[];
  /** Set when the bundle failed to load: it is not run again. */
  error?: string;
}

const PROBE = `
const file = process.argv[1];
const { createRequire } = await import('node:module');
const c0 = process.cpuUsage();
const t0 = performance.now();
if (file.endsWith('.cjs')) createRequire(file)(file);
else await import(file);
const t1 = performance.now();
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ importMs: t1 - t0, importCpuMs: (cpu.user + cpu.system) / 1000, readyMs: t1 }));
`;

/**
 * The settings the bench gives every child on top of the function's own
 * environment (as packaged): a local AppSecret (it wins over WECHAT_SECRET_PARAM,
 * so no SSM call), a region, no logging, no SDK Node-version nag.
 */
export const LOCAL_ENV: Record<string, string> = {
  WECHAT_APPID: 'wx0000000000000000',
  WECHAT_SECRET: 'local-fake-app-secret',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** Exactly what a child sees: nothing inherited from the bench besides PATH and HOME. */
export function coldEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
}

async function probe(file: string, env: NodeJS.ProcessEnv): Promise<{ importMs: number; importCpuMs: number; readyMs: number; processMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE, file.endsWith('.cjs') ? file : pathToFileURL(file).href], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forget = onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  }).finally(() => {
    clearTimeout(timer);
    forget();
  });
  const processMs = performance.now() - started;
  if (code !== 0) {
    // The last line that names an error, e.g. "ConfigError: APP_CACHE_TABLE is not set".
    const reason = stderr.split('\n').find((line) => /(Error|Exception)\]?: /.test(line)) ?? stderr.slice(-300);
    throw new Error(`exited ${code}: ${reason.trim()}`);
  }
  const { importMs, importCpuMs, readyMs } = JSON.parse(stdout) as { importMs: number; importCpuMs: number; readyMs: number };
  return { importMs, importCpuMs, readyMs, processMs };
}

export async function measureColdInit(
  targets: readonly ColdTarget[],
  runs: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Map<string, ColdSamples>> {
  const samples = new Map<string, ColdSamples>(targets.map((t) => [t.name, { importMs: [], importCpuMs: [], readyMs: [], processMs: [] }]));
  // Warm-up round, discarded; a bundle that cannot load is reported, not retried.
  for (const target of targets) {
    try {
      await probe(target.file, coldEnv(target.env));
    } catch (err) {
      samples.get(target.name)!.error = err instanceof Error ? err.message : String(err);
    }
  }
  const live = targets.filter((t) => samples.get(t.name)!.error === undefined);
  const total = runs * live.length;
  let done = 0;
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < live.length; i++) {
      const target = live[(i + round) % live.length]!;
      const result = await probe(target.file, coldEnv(target.env));
      const s = samples.get(target.name)!;
      s.importMs.push(result.importMs);
      s.importCpuMs.push(result.importCpuMs);
      s.readyMs.push(result.readyMs);
      s.processMs.push(result.processMs);
      onProgress?.(++done, total);
    }
  }
  return samples;
}
