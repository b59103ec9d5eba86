/**
 * The esbuild options serverless-esbuild uses for this service, read from the
 * current serverless.yml (custom.esbuild) every run, never hard-coded, so the
 * floor and the analysis builds follow whatever the service is configured with.
 *
 * Mirrors serverless-esbuild 1.57.x (dist/index.js getBuildOptions, dist/bundle.js):
 * its defaults (bundle, platform node, target from provider.runtime) under the
 * custom options; the plugin-only keys removed; `exclude` turned into `external`;
 * `outputFileExtension` turned into esbuild's `outExtension`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { FUNCTION_NAMES, handlerOf } from '#lib/http/routes';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Keys serverless-esbuild strips before handing its options to esbuild (bundle.js). */
const PLUGIN_ONLY_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  // not in the plugin's list, but never esbuild options either
  'config',
  'plugins',
];

export interface ServiceBuild {
  /** esbuild options as the plugin passes them (without entryPoints/outdir). */
  options: BuildOptions;
  /** '.mjs', '.cjs' or '.js', as the plugin names the bundle. */
  outputFileExtension: string;
  /** The custom.esbuild block as written, for the report. */
  raw: Record<string, unknown>;
  /** function name -> handler (e.g. handlers/login.handler), its entry (handlers/login.ts) and export name. */
  functions: Record<string, { handler: string; entry: string; exportName: string }>;
}

interface ServerlessYml {
  provider?: { runtime?: string };
  custom?: { esbuild?: Record<string, unknown> };
}

export function readServiceBuild(overrides: BuildOptions = {}): ServiceBuild {
  const yml = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'), { logLevel: 'silent' }) as ServerlessYml;
  const raw = { ...(yml.custom?.esbuild ?? {}) };
  if (typeof raw.config === 'string') {
    throw new Error('serverless.yml custom.esbuild.config (a JS config file) is not supported by bench/esbuild-options.ts');
  }
  const runtimeMajor = /^nodejs(\d+)/.exec(yml.provider?.runtime ?? '')?.[1];
  const merged: Record<string, unknown> = {
    bundle: true,
    platform: 'node',
    ...(runtimeMajor ? { target: `node${runtimeMajor}` } : { target: 'node18' }),
    external: [],
    exclude: ['aws-sdk'],
    outputFileExtension: '.js',
    ...raw,
  };
  const exclude = asStrings(merged.exclude);
  const external = [...asStrings(merged.external), ...(exclude.includes('*') ? [] : exclude)];
  const outputFileExtension = String(merged.outputFileExtension);
  const options: Record<string, unknown> = { ...merged };
  for (const key of PLUGIN_ONLY_KEYS) delete options[key];
  options.external = external;
  if (outputFileExtension !== '.js') options.outExtension = { '.js': outputFileExtension };

  const functions: ServiceBuild['functions'] = {};
  // serverless.yml's functions are generated from the route table (resources/functions.cjs).
  for (const name of FUNCTION_NAMES) {
    const handler = handlerOf(name);
    const dot = handler.lastIndexOf('.');
    functions[name] = { handler, entry: `${handler.slice(0, dot)}.ts`, exportName: handler.slice(dot + 1) };
  }
  return { options: { ...(options as BuildOptions), ...overrides }, outputFileExtension, raw, functions };
}

const asStrings = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === 'string');

/**
 * The package that serverless.yml's custom.esbuild `alias` resolves to the
 * environment-only credential provider (lib/aws/env-credentials.ts).
 */
export const DEFAULT_CREDENTIAL_CHAIN = '@aws-sdk/credential-provider-node';

/**
 * The service's build with the SDK's full default credential chain: its options
 * without the alias of DEFAULT_CREDENTIAL_CHAIN (any other alias stays). The
 * floor is built this way: the least a DynamoDB-backed function is with the SDK
 * as it comes.
 */
export function withFullCredentialChain(service: ServiceBuild): ServiceBuild {
  const { alias, ...options } = service.options;
  const { [DEFAULT_CREDENTIAL_CHAIN]: _replaced, ...otherAliases } = alias ?? {};
  return { ...service, options: Object.keys(otherAliases).length > 0 ? { ...options, alias: otherAliases } : options };
}
