import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HashConstructor, Provider } from '@smithy/types';
import { boundedMs } from '#lib/kernel/deadline';
import { type BackoffPolicy, retrying, type Timing } from '#lib/kernel/retry';

/** Reads one SSM SecureString, decrypted; undefined if it has no value. */
export type ReadParameter = (name: string) => Promise<string | undefined>;

/** What a signed AWS call needs; the DynamoDB client's resolved config has all of it. */
export interface AwsSigningConfig {
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  region: string | Provider<string>;
  sha256: HashConstructor;
}

/**
 * Bound on a whole GetParameter read, or a whole GetParametersByPath listing (every page), retries included (in-region SSM answers
 * in tens of ms). A login on a fresh instance may wait for it, so it counts in
 * the worst login that Lambda's timeout must cover (test/deploy).
 */
export const SSM_TIMEOUT_MS = 1000;
/** A burst of cold starts can meet SSM's rate limit: throttling and 5xx get two more tries (a timeout does not: the bound is spent). */
const SSM_BACKOFF: BackoffPolicy = { attempts: 3, baseMs: 50 };
const RETRYABLE = /^(ThrottlingException|TooManyRequestsException|InternalServerError|ServiceUnavailable|HTTP5\d\d)$/;

export interface SsmOptions {
  /** Bound on the call; SSM_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /** Tests: a local stand-in for ssm.<region>.amazonaws.com. */
  endpoint?: string;
  fetch?: typeof fetch;
  /** The pauses between tries (lib/kernel/retry.ts); the real ones by default. */
  timing?: Pick<Timing, 'sleep' | 'random'>;
}

/**
 * SSM GetParameter (decrypted) as one SigV4-signed JSON call, signed with the
 * signer, credentials and hash the DynamoDB client already bundles. The whole
 * @aws-sdk/client-ssm (~200 KiB of bundle) for this one call measured as the
 * difference between passing and failing the zip budget (BENCHMARKS.md).
 */
export function createSsmParameterReader(aws: AwsSigningConfig, options: SsmOptions = {}): ReadParameter {
  const call = ssmCall(aws, options);
  return async (name) => {
    const deadline = performance.now() + boundedMs(options.timeoutMs ?? SSM_TIMEOUT_MS);
    const answer = (await retried(deadline, options, (timeoutMs) => call('GetParameter', { Name: name, WithDecryption: true }, timeoutMs))) as {
      Parameter?: { Value?: string };
    };
    return answer.Parameter?.Value;
  };
}

/** Every parameter directly under a path (not below it), decrypted: name -> value. */
export type ListParameters = (path: string) => Promise<ReadonlyMap<string, string>>;

/** SSM answers GetParametersByPath 10 parameters a page at most. */
const PAGE_SIZE = 10;

/**
 * SSM GetParametersByPath (decrypted, one level), every page, signed as GetParameter is. The whole listing, every
 * page and retry included, is bounded by SSM_TIMEOUT_MS, as one GetParameter was: a login that waits for it waits no
 * longer than before. IAM authorizes it against the path asked for (ssm:GetParametersByPath on `…:parameter<path>`).
 */
export function createSsmParameterLister(aws: AwsSigningConfig, options: SsmOptions = {}): ListParameters {
  const call = ssmCall(aws, options);
  return async (path) => {
    const deadline = performance.now() + boundedMs(options.timeoutMs ?? SSM_TIMEOUT_MS);
    const found = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const body = { Path: path, Recursive: false, WithDecryption: true, MaxResults: PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) };
      const page = (await retried(deadline, options, (timeoutMs) => call('GetParametersByPath', body, timeoutMs))) as {
        Parameters?: Array<{ Name?: string; Value?: string }>;
        NextToken?: string;
      };
      for (const { Name, Value } of page.Parameters ?? []) if (Name && Value) found.set(Name, Value);
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return found;
  };
}

/** Throttling and 5xx are tried again with full jitter (instances throttled together do not come back together), within the deadline. */
function retried(deadline: number, options: SsmOptions, attempt: (timeoutMs: number) => Promise<unknown>): Promise<unknown> {
  const remainingMs = () => deadline - performance.now();
  return retrying(
    SSM_BACKOFF,
    { ...options.timing, remainingMs },
    () => attempt(remainingMs()),
    (err) => err instanceof Error && RETRYABLE.test(err.name),
  );
}

/** One signed SSM JSON call (`AmazonSSM.<target>`), bounded by `timeoutMs`; an SSM error is thrown as an Error named by its type. */
function ssmCall(aws: AwsSigningConfig, options: SsmOptions) {
  return async (target: string, request: unknown, timeoutMs: number): Promise<unknown> => {
    const region = typeof aws.region === 'function' ? await aws.region() : aws.region;
    const url = new URL(options.endpoint ?? `https://ssm.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}/`);
    const body = JSON.stringify(request);
    const signer = new SignatureV4({ credentials: aws.credentials, region, service: 'ssm', sha256: aws.sha256, uriEscapePath: true });
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AmazonSSM.${target}`,
      },
      body,
    });
    const response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(Math.max(0, Math.floor(timeoutMs))),
    });
    const answer = (await response.json().catch(() => ({}))) as { __type?: string; message?: string; Message?: string };
    if (!response.ok) {
      // AWS JSON errors name their type as "__type": "ParameterNotFound" or "com.amazonaws...#AccessDeniedException".
      const error = new Error(answer.message ?? answer.Message ?? `HTTP ${response.status}`);
      error.name = answer.__type?.split('#').pop() || `HTTP${response.status}`;
      throw error;
    }
    return answer;
  };
}
