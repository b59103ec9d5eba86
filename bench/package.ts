/**
 * `serverless package` for a bench stage, offline, into a temp dir; then each
 * function's zip and its unzipped bundle.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup, onCleanup } from './children.ts';
import { ROOT, type ServiceBuild } from './esbuild-options.ts';
import { extractZip, listZip } from './zip.ts';

export const STAGE = 'bench';
export const PACKAGE_COMMAND = `WECHAT_APPID=wx0000000000000000 npx serverless package --stage ${STAGE} --package <tmp>`;

export interface PackagedFunction {
  name: string;
  zipPath: string;
  zipBytes: number;
  /** The bundle inside the zip (e.g. handlers/login.cjs). */
  bundleEntry: string;
  bundlePath: string;
  /** Where the zip was unzipped. */
  unzippedDir: string;
  bundleBytes: number;
  /** Its deflated size inside the zip. */
  bundleCompressedBytes: number;
  /** Every entry in the zip (should be just the bundle). */
  entries: string[];
  /** The function's environment as packaged (CloudFormation template), string values only. */
  environment: Record<string, string>;
}

export async function packageService(outDir: string, build: ServiceBuild): Promise<PackagedFunction[]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WECHAT_APPID: 'wx0000000000000000',
    // A plain name: the default is an Fn::Sub over the account and region (resources/settings.cjs), which only
    // CloudFormation resolves, and the bundles need a bucket name at cold start.
    AVATARS_BUCKET: `wechat-login-${STAGE}-avatars`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  // No credentials: packaging must not need (or reach) AWS.
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(name)) delete env[name];
  }
  const child = spawn(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', STAGE, '--package', outDir], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const forget = onCleanup(() => killGroup(child, 'SIGKILL'));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => {
    clearTimeout(timer);
    forget();
  });
  if (code !== 0) throw new Error(`serverless package failed (exit ${code}):\n${output}`);

  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Handler?: string; Environment?: { Variables?: Record<string, unknown> } } }>;
  };
  const lambdas = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');

  const functions: PackagedFunction[] = [];
  for (const [name, fn] of Object.entries(build.functions)) {
    const variables = lambdas.find((r) => r.Properties?.Handler === fn.handler)?.Properties?.Environment?.Variables ?? {};
    // Values CloudFormation resolves at deploy time (Ref, GetAtt) are objects here: left out.
    const environment = Object.fromEntries(Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    const zipPath = join(outDir, `${name}.zip`);
    if (!existsSync(zipPath)) {
      throw new Error(`serverless package wrote no ${name}.zip (found: ${readdirSync(outDir).join(', ')})`);
    }
    const entries = listZip(zipPath);
    const bundleEntry = fn.entry.replace(/\.[cm]?[jt]s$/, build.outputFileExtension);
    const bundle = entries.find((e) => e.name === bundleEntry);
    if (!bundle) throw new Error(`${name}.zip has no ${bundleEntry} (entries: ${entries.map((e) => e.name).join(', ')})`);
    const dir = join(outDir, 'unzipped', name);
    extractZip(zipPath, dir);
    const bundlePath = join(dir, bundleEntry);
    functions.push({
      name,
      zipPath,
      zipBytes: statSync(zipPath).size,
      bundleEntry,
      bundlePath,
      unzippedDir: dir,
      bundleBytes: statSync(bundlePath).size,
      bundleCompressedBytes: bundle.compressedSize,
      entries: entries.map((e) => e.name),
      environment,
    });
  }
  return functions;
}
