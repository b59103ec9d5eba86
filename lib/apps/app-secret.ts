import type { ReadParameter } from '#lib/aws/ssm';
import type { Env } from '#lib/kernel/env';
import { ConfigError } from '#lib/kernel/errors';

export type { ReadParameter };

/**
 * Where the AppSecret comes from. Locally (and in tests) it is WECHAT_SECRET;
 * deployed, WECHAT_SECRET_PARAM names an SSM SecureString, so the secret is never
 * in serverless.yml, the template or the function's environment.
 */
export type AppSecretSource = { readonly value: string } | { readonly parameter: string };

/** Checked at cold start, without I/O: a missing or malformed setting fails naming it. */
export function appSecretSource(env: Env): AppSecretSource {
  const parameter = env.WECHAT_SECRET_PARAM?.trim() ? secretParameterName(env.WECHAT_SECRET_PARAM) : undefined;
  if (env.WECHAT_SECRET) return { value: checked(env.WECHAT_SECRET, 'WECHAT_SECRET') };
  if (!parameter) {
    throw new ConfigError('Neither WECHAT_SECRET nor WECHAT_SECRET_PARAM is set: the function needs the mini-program AppSecret');
  }
  return { parameter };
}

/** Hierarchical: serverless.yml builds the IAM resource as `…:parameter` + name, which needs the leading "/". */
const PARAMETER_NAME = /^(?:\/[A-Za-z0-9_.-]+)+$/;

/**
 * WECHAT_SECRET_PARAM, checked at cold start and at package time (resources/settings.cjs). The value is not
 * echoed: someone may have pasted the AppSecret itself here.
 */
export function secretParameterName(raw: string): string {
  const name = raw.trim();
  if (!PARAMETER_NAME.test(name) || name.length > 2048) {
    throw new ConfigError(
      'WECHAT_SECRET_PARAM is malformed: expected an SSM parameter name that starts with "/", such as /wechat-login/prod/wechat-app-secret (a name, not an ARN)',
    );
  }
  return name;
}

/** The AppSecret itself: the local value, or one read of the SSM parameter. */
export async function loadAppSecret(source: AppSecretSource, readParameter: ReadParameter): Promise<string> {
  if ('value' in source) return source.value;
  const name = source.parameter;
  let value: string | undefined;
  try {
    value = await readParameter(name);
  } catch (err) {
    // SSM's own message (e.g. which permission is missing) holds no secret value.
    const reason = err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}` : 'unknown error';
    const hint =
      err instanceof Error && err.name === 'ParameterNotFound'
        ? ` (create it: aws ssm put-parameter --type SecureString --name ${name} --value <AppSecret>)`
        : '';
    throw new ConfigError(`WECHAT_SECRET_PARAM: could not read SSM parameter ${name}: ${reason}${hint}`);
  }
  if (!value) throw new ConfigError(`WECHAT_SECRET_PARAM: SSM parameter ${name} is empty`);
  return checked(value, `SSM parameter ${name} (WECHAT_SECRET_PARAM)`);
}

/**
 * The AppSecret as a value read once per instance, on first use; a failed SSM
 * read is retried by the next caller instead of breaking the instance for good.
 */
export function appSecretProvider(source: AppSecretSource, readParameter: ReadParameter): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () =>
    (pending ??= loadAppSecret(source, readParameter).catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}

/** The shape of an AppSecret: 8-128 printable characters without spaces. */
export const APP_SECRET = /^[\x21-\x7e]{8,128}$/;

function checked(secret: string, source: string): string {
  if (!APP_SECRET.test(secret)) {
    throw new ConfigError(`${source} is malformed: expected 8-128 printable characters without spaces`);
  }
  return secret;
}
