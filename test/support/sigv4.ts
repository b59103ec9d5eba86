import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';

/** SHA-256 (HMAC-SHA256 with a secret) from node:crypto: not the SDK's own hash, which is what is being checked. */
class Sha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    throw new Error('not needed');
  }
}

const toBuffer = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

export interface ReceivedRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The SigV4 `Authorization` a request as received (method, path, the headers it
 * says it signed, the body that arrived) gets when signed again with
 * `credentials` at its own x-amz-date. Equal to the one it carries only if it
 * was signed with those credentials and nothing signed changed on the way.
 */
export async function resignedAuthorization(
  request: ReceivedRequest,
  { credentials, region, service }: { credentials: AwsCredentialIdentity; region: string; service: string },
): Promise<string> {
  const auth = String(request.headers.authorization);
  const signed = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  // Not the payload hash the client claims: the signer hashes the body that arrived.
  const headers = Object.fromEntries(signed.filter((name) => name !== 'x-amz-content-sha256').map((name) => [name, String(request.headers[name])]));
  const stamp = String(request.headers['x-amz-date']); // 20261124T115501Z
  const signingDate = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
  const url = new URL(request.path, 'http://placeholder');
  const signer = new SignatureV4({ credentials, region, service, sha256: Sha256, uriEscapePath: true });
  const again = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: String(request.headers.host).split(':')[0]!,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: request.body,
    },
    { signingDate },
  );
  return String(again.headers.authorization);
}
