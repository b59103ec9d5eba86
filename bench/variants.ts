/**
 * `npx tsx bench/variants.ts`: what would move the size and cold-init figures.
 * Builds the floor, /checklogin and /login with the service's esbuild options
 * (read from serverless.yml, as bench/run.ts does) and with one change each,
 * in a temp dir, then measures bundle, zip and cold init like bench/run.ts.
 * serverless.yml is never touched. Writes bench/variants.md and prints it.
 *
 * Variants:
 *   - as configured (format cjs, SDK ES-module builds, minified);  minify off;
 *   - format esm (a .mjs bundle with a createRequire banner: what serverless.yml used before);
 *   - mainFields main (the SDK's CommonJS builds: esbuild's default for platform node).
 * A cjs bundle is loaded with require(), as Lambda loads one; an ESM one with import().
 * (Earlier runs also measured replacing @aws-sdk/client-ssm with one signed
 * GetParameter call, which lib/aws/ssm.ts now does; see BENCHMARKS.md.)
 *
 * It runs `serverless package` first (as bench/run.ts does) for each function's
 * packaged environment and the zips' deflate level.
 * Knob: BENCH_VARIANT_RUNS (20 cold runs per bundle).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { buildLikeService, FLOOR_ENTRY } from './bundle.ts';
import { cleanupAll, installSignalHandlers, onCleanup } from './children.ts';
import { LOCAL_ENV, measureColdInit } from './cold.ts';
import { ROOT, readServiceBuild, withFullCredentialChain } from './esbuild-options.ts';
import { packageService } from './package.ts';
import { machineInfo } from './report.ts';
import { kib, ms, ratio, summarize } from './stats.ts';
import { detectDeflateLevel, zipFiles } from './zip.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_VARIANT_RUNS ?? 20);

installSignalHandlers();
const tmp = mkdtempSync(join(tmpdir(), 'wechat-login-variants-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

const service = readServiceBuild();
const ESM: BuildOptions = {
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS code (the SDK's) still calls require(); an ES module has none of its own.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
};
const MAIN_FIRST: BuildOptions = { mainFields: ['main', 'module'] };

interface Variant {
  target: string;
  entry: string;
  variant: string;
  overrides: BuildOptions;
}

const variantsOf = (target: string, entry: string): Variant[] => [
  { target, entry, variant: 'as configured', overrides: {} },
  { target, entry, variant: 'minify off', overrides: { minify: false } },
  { target, entry, variant: 'format esm', overrides: ESM },
  { target, entry, variant: 'mainFields main', overrides: MAIN_FIRST },
];
const VARIANTS: Variant[] = [
  ...variantsOf('floor', FLOOR_ENTRY),
  ...variantsOf('checklogin', 'handlers/checklogin.ts'),
  ...variantsOf('login', 'handlers/login.ts'),
];

try {
  const machine = machineInfo();
  console.error('serverless package --stage bench (offline)…');
  const packaged = await packageService(join(tmp, 'package'), service);
  const reference = packaged[0]!;
  const LEVEL = detectDeflateLevel(readFileSync(reference.bundlePath), reference.bundleCompressedBytes).level;
  const envOf = (target: string): Record<string, string> => {
    const fn = packaged.find((p) => p.name === target);
    return fn ? { ...fn.environment, ...LOCAL_ENV } : { ...LOCAL_ENV, SESSIONS_TABLE: 'bench-sessions' };
  };
  console.error(`building ${VARIANTS.length} variants…`);
  const built: (Variant & { id: string; bundlePath: string; bundleBytes: number; zipBytes: number })[] = [];
  for (const [i, v] of VARIANTS.entries()) {
    // The floor keeps the SDK's full default credential chain, as in bench/run.ts.
    const out = await buildLikeService(v.target === 'floor' ? withFullCredentialChain(service) : service, v.entry, join(tmp, String(i)), v.overrides);
    const zipBytes = zipFiles(
      out.files.map((f) => ({ name: `handlers/${f.name}`, data: readFileSync(f.path) })),
      LEVEL,
    ).length;
    built.push({ ...v, id: String(i), bundlePath: out.bundlePath, bundleBytes: out.bundleBytes, zipBytes });
  }
  const empty = join(tmp, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  console.error(`cold init: ${RUNS} runs × ${built.length + 1} bundles, interleaved…`);
  const cold = await measureColdInit(
    [...built.map((b) => ({ name: b.id, file: b.bundlePath, env: envOf(b.target) })), { name: 'empty', file: empty, env: LOCAL_ENV }],
    RUNS,
  );
  for (const b of built) {
    const error = cold.get(b.id)?.error;
    if (error) throw new Error(`${b.target} (${b.variant}) does not load: ${error}`);
  }
  const importOf = (id: string) => summarize(cold.get(id)!.importMs);
  const cpuOf = (id: string) => summarize(cold.get(id)!.importCpuMs);
  const floorOf = (variant: string) => built.find((b) => b.target === 'floor' && b.variant === variant)!;
  const floorConfigured = floorOf('as configured');

  const rows = built.map((b) => {
    const imp = importOf(b.id);
    const floor = floorOf(b.variant);
    const floorImp = importOf(floor.id);
    const configuredImp = importOf(floorConfigured.id);
    return [
      b.target,
      b.variant,
      kib(b.bundleBytes),
      kib(b.zipBytes),
      `${ratio(b.zipBytes / floor.zipBytes)} / ${ratio(b.zipBytes / floorConfigured.zipBytes)}`,
      `${ms(imp.p50)} (${ms(imp.p25)}–${ms(imp.p75)})`,
      `${ratio(imp.p50 / floorImp.p50)} / ${ratio(imp.p50 / configuredImp.p50)}`,
      `${ms(cpuOf(b.id).p50)} (${ratio(cpuOf(b.id).p50 / cpuOf(floor.id).p50)} / ${ratio(cpuOf(b.id).p50 / cpuOf(floorConfigured.id).p50)})`,
    ];
  });
  const e = importOf('empty');
  const head = [
    'target',
    'variant',
    'bundle',
    'zip',
    'zip × floor (same variant / as configured)',
    'import ms p50 (p25–p75)',
    'import × floor (same variant / as configured)',
    'import CPU ms p50 (× floor same / configured)',
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const markdown = `# Build variants (scratch measurements)

Produced by \`npx tsx bench/variants.ts\` on ${new Date().toISOString()}: ${machine.nproc} CPUs, ${machine.cpuModel}, Node ${machine.node}, load average at start ${machine.loadAtStart.map((l) => l.toFixed(2)).join(' / ')}.
Each variant is the service's esbuild options from serverless.yml (${JSON.stringify(service.options)}) with one change (the floor without the \`alias\` of \`@aws-sdk/credential-provider-node\`: it keeps the SDK's full default credential chain); zips hold what esbuild wrote, deflated at level ${LEVEL} (as detected from the packaged zips); cold init is ${RUNS} interleaved fresh-\`node\` imports per bundle, as in BENCHMARKS.md. An empty module imports in ${ms(e.p50)} ms (p50). "Same variant" compares with the floor built the same way.

${line(head)}
${line(head.map(() => '---'))}
${rows.map(line).join('\n')}
`;
  writeFileSync(join(ROOT, 'bench', 'variants.md'), markdown);
  console.log(markdown);
} catch (err) {
  console.error('variants failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
