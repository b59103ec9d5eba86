import { ConfigError, type Env } from '#lib/config';

/** Reads one SSM SecureString, decrypted; undefined if it has no value. */
export type ReadParameter = (name: string) => Promise<string | undefined>;

/**
 * The AppSecret, once per cold start. Locally (and in tests) it is WECHAT_SECRET;
 * deployed, WECHAT_SECRET_PARAM names an SSM SecureString, so the secret is never
 * in serverless.yml, the template or the function's environment.
 */
export async function loadAppSecret(env: Env, readParameter: ReadParameter): Promise<string> {
  const source = appSecretSource(env);
  if ('secret' in source) return source.secret;
  const { name } = source;
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
 * The AppSecret as a value read once per instance, on first use. Where it comes
 * from is checked now, without I/O, so a missing or malformed setting fails the
 * cold start naming it; a failed SSM read is retried by the next caller instead
 * of breaking the instance for good.
 */
export function appSecretProvider(env: Env, readParameter: ReadParameter): () => Promise<string> {
  appSecretSource(env);
  let pending: Promise<string> | undefined;
  return () =>
    (pending ??= loadAppSecret(env, readParameter).catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}

/** Where the AppSecret comes from: the local variable (checked here) or the SSM parameter it names. */
function appSecretSource(env: Env): { secret: string } | { name: string } {
  if (env.WECHAT_SECRET) return { secret: checked(env.WECHAT_SECRET, 'WECHAT_SECRET') };
  const name = env.WECHAT_SECRET_PARAM?.trim();
  if (!name) {
    throw new ConfigError(
      'Neither WECHAT_SECRET nor WECHAT_SECRET_PARAM is set: the function needs the mini-program AppSecret',
    );
  }
  return { name };
}

function checked(secret: string, source: string): string {
  if (!/^[\x21-\x7e]{8,128}$/.test(secret)) {
    throw new ConfigError(`${source} is malformed: expected 8-128 printable characters without spaces`);
  }
  return secret;
}
