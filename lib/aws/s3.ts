import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsSigningConfig } from '#lib/aws/ssm';
import { boundedSignal } from '#lib/kernel/deadline';
import { AppError } from '#lib/kernel/errors';
import { type BackoffPolicy, retrying, type Timing } from '#lib/kernel/retry';

/**
 * The three S3 calls the avatars need (PutObject, DeleteObject, a presigned GetObject URL), each one
 * SigV4-signed request with the signer, credentials and hash the DynamoDB client already bundles, as
 * lib/aws/ssm.ts does for SSM. @aws-sdk/client-s3 and @aws-sdk/s3-request-presigner would add
 * about 300 KiB minified to each function that presigns (README, Decisions); this adds about 2 KiB.
 * Signed as the SDK signs for S3: service "s3", the path not escaped twice, the payload's SHA-256 in
 * x-amz-content-sha256. test/unit/aws/s3.test.ts holds it to AWS's published SigV4 examples for S3.
 */
export interface S3Options {
  bucket: string;
  /** A local S3 (s3rver): path-style URLs on it. Unset: the region's virtual-hosted endpoint. */
  endpoint?: string | undefined;
  fetch?: typeof fetch;
  /** Tests (AWS's examples): the virtual-hosted host. Default: `<bucket>.s3.<region>.amazonaws.com` (`.com.cn` in China). */
  virtualHost?: string;
  /** Tests (AWS's examples): a fixed signing time. Default: the real clock, which SigV4 must use. */
  signingDate?: () => Date;
  /** The pause before the second try (lib/kernel/retry.ts); the real one by default. */
  timing?: Timing;
}

export interface S3Bucket {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** Idempotent: deleting a key that is not there succeeds. */
  delete(key: string): Promise<void>;
  /** A URL that GETs the object without any header until `expiresInSeconds` from now. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

/** Bound on one PutObject attempt of up to 4 MiB, in-region; DeleteObject gets the cleanup bound. */
export const S3_PUT_TIMEOUT_MS = 3000;
export const S3_DELETE_TIMEOUT_MS = 1000;
/** A 5xx or a network fault gets one more try after up to 50 ms, if 100 ms of the request are left after the pause. */
const S3_RETRY: BackoffPolicy = { attempts: 2, baseMs: 25, reserveMs: 100 };
/** Our own setup is wrong: retrying does not help (500, the log names S3's code). */
const MISCONFIGURATION = new Set([
  'AccessDenied',
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'AllAccessDisabled',
]);

export function createS3Bucket(aws: AwsSigningConfig, options: S3Options): S3Bucket {
  const signerFor = async () => {
    const region = typeof aws.region === 'function' ? await aws.region() : aws.region;
    return {
      region,
      signer: new SignatureV4({ credentials: aws.credentials, region, service: 's3', sha256: aws.sha256, uriEscapePath: false, applyChecksum: true }),
    };
  };
  const locate = (region: string, key: string) => {
    if (options.endpoint) {
      const base = new URL(options.endpoint);
      return {
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        path: `${base.pathname.replace(/\/$/, '')}/${options.bucket}/${key}`,
      };
    }
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    return { protocol: 'https:', hostname: options.virtualHost ?? `${options.bucket}.s3.${region}.${suffix}`, port: '', path: `/${key}` };
  };
  const signingDate = () => (options.signingDate ? { signingDate: options.signingDate() } : {});

  /** One signed call, retried once on a 5xx or a network fault while time is left. */
  const send = async (method: 'PUT' | 'DELETE', key: string, timeoutMs: number, body?: Uint8Array, contentType?: string) => {
    const { region, signer } = await signerFor();
    const where = locate(region, key);
    const host = where.port ? `${where.hostname}:${where.port}` : where.hostname;
    const headers: Record<string, string> = { host, ...(contentType ? { 'content-type': contentType } : {}) };
    /** The failures another try may cure. */
    const worthAnother = new WeakSet<object>();
    const once = async (): Promise<void> => {
      const signed = await signer.sign(
        {
          method,
          protocol: where.protocol,
          hostname: where.hostname,
          ...(where.port ? { port: Number(where.port) } : {}),
          path: where.path,
          query: {},
          headers: { ...headers },
          ...(body ? { body } : {}),
        },
        signingDate(),
      );
      let status: number;
      let text: string;
      try {
        const response = await (options.fetch ?? fetch)(`${where.protocol}//${host}${where.path}`, {
          method,
          headers: signed.headers,
          ...(body ? { body } : {}),
          signal: boundedSignal(timeoutMs),
        });
        status = response.status;
        text = await response.text();
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        const failure = new AppError('STORAGE_UNAVAILABLE', 'Storage is unavailable right now: retry in a moment', {
          s3: method,
          s3Error: timedOut ? 'timeout' : 'network error',
        });
        // A timeout spent the bound: no second try.
        if (!timedOut) worthAnother.add(failure);
        throw failure;
      }
      if (status >= 200 && status < 300) return;
      // S3's errors are XML: <Error><Code>NoSuchBucket</Code>...; never quote the rest (it can name the key).
      const code = /<Code>([\w.-]{1,64})<\/Code>/.exec(text)?.[1] ?? `HTTP${status}`;
      const failure = MISCONFIGURATION.has(code)
        ? new AppError('INTERNAL', 'Something went wrong on our side', { s3: method, s3Error: code })
        : new AppError('STORAGE_UNAVAILABLE', 'Storage is unavailable right now: retry in a moment', { s3: method, s3Error: code });
      if (status >= 500) worthAnother.add(failure);
      throw failure;
    };
    return retrying(S3_RETRY, options.timing ?? {}, once, (err) => typeof err === 'object' && err !== null && worthAnother.has(err));
  };

  return {
    put: (key, body, contentType) => send('PUT', key, S3_PUT_TIMEOUT_MS, body, contentType),
    delete: (key) => send('DELETE', key, S3_DELETE_TIMEOUT_MS),
    async presignGet(key, expiresInSeconds) {
      const { region, signer } = await signerFor();
      const where = locate(region, key);
      const host = where.port ? `${where.hostname}:${where.port}` : where.hostname;
      const signed = await signer.presign(
        {
          method: 'GET',
          protocol: where.protocol,
          hostname: where.hostname,
          ...(where.port ? { port: Number(where.port) } : {}),
          path: where.path,
          query: {},
          // As S3 signs a URL anyone may GET: the payload is not part of it, and only host is signed.
          headers: { host, [PAYLOAD_HASH]: 'UNSIGNED-PAYLOAD' },
        },
        { expiresIn: expiresInSeconds, unhoistableHeaders: UNSIGNED, unsignableHeaders: UNSIGNED, ...signingDate() },
      );
      const query = Object.entries(signed.query ?? {})
        .map(([name, value]) => `${rfc3986(name)}=${rfc3986(String(value))}`)
        .join('&');
      return `${where.protocol}//${host}${where.path}?${query}`;
    },
  };
}

const PAYLOAD_HASH = 'x-amz-content-sha256';
const UNSIGNED = new Set([PAYLOAD_HASH]);

/** As SigV4 canonicalises a query: everything but unreserved characters percent-encoded. */
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
