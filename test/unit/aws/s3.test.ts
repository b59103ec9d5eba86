import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { createS3Bucket } from '#lib/aws/s3';

/** The hash the functions sign with: the DynamoDB client's (node:crypto's, in Node). */
const Sha256 = createDocumentClient({ region: 'us-east-1' }).config.sha256;

/** AWS's own example credentials and request (S3 API Reference, "Authenticating Requests: Using Query Parameters"). */
const EXAMPLE = {
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  region: 'us-east-1',
  sha256: Sha256,
};
const at = () => new Date('2013-05-24T00:00:00Z');

describe('S3 signing (lib/aws/s3.ts), held to AWS SigV4 examples', () => {
  it("presigns AWS's example GET (examplebucket/test.txt, 86400 s) to AWS's published signature", async () => {
    const bucket = createS3Bucket(EXAMPLE, { bucket: 'examplebucket', virtualHost: 'examplebucket.s3.amazonaws.com', signingDate: at });
    const url = new URL(await bucket.presignGet('test.txt', 86_400));
    expect(`${url.origin}${url.pathname}`).toBe('https://examplebucket.s3.amazonaws.com/test.txt');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
      'X-Amz-Date': '20130524T000000Z',
      'X-Amz-Expires': '86400',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    });
  });

  it('carries the session token of temporary credentials (a Lambda role) in the URL', async () => {
    const bucket = createS3Bucket(
      { ...EXAMPLE, credentials: { ...EXAMPLE.credentials, sessionToken: 'FwoG/token+with=chars' } },
      { bucket: 'avatars-bucket' },
    );
    const url = new URL(await bucket.presignGet('avatars/wx1234567890abcdef/uid/abc.png', 3600));
    expect(url.host).toBe('avatars-bucket.s3.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('FwoG/token+with=chars');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
  });

  it('uses path-style URLs on a local endpoint (s3rver)', async () => {
    const bucket = createS3Bucket(EXAMPLE, { bucket: 'local-avatars', endpoint: 'http://127.0.0.1:4568' });
    const url = new URL(await bucket.presignGet('avatars/a/b/c.jpg', 60));
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:4568/local-avatars/avatars/a/b/c.jpg');
  });

  it("signs a PUT with the body's SHA-256 and its content type; S3's error codes become the contract's", async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const answers = [new Response('', { status: 200 }), new Response('<Error><Code>NoSuchBucket</Code><Key>secret</Key></Error>', { status: 404 })];
    const bucket = createS3Bucket(EXAMPLE, {
      bucket: 'examplebucket',
      signingDate: at,
      fetch: async (url, init) => {
        sent.push({ url: String(url), init: init ?? {} });
        return answers.shift() ?? new Response('<Error><Code>SlowDown</Code></Error>', { status: 503 });
      },
    });
    const body = new TextEncoder().encode('Welcome to Amazon S3.');
    await bucket.put('avatars/x.png', body, 'image/png');
    const headers = sent[0]!.init.headers as Record<string, string>;
    expect(sent[0]!.url).toBe('https://examplebucket.s3.us-east-1.amazonaws.com/avatars/x.png');
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(headers['content-type']).toBe('image/png');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/us-east-1\/s3\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    await expect(bucket.delete('avatars/x.png')).rejects.toMatchObject({ code: 'INTERNAL', detail: { s3: 'DELETE', s3Error: 'NoSuchBucket' } });
    // A 5xx is tried once more, then is an outage.
    await expect(bucket.delete('avatars/x.png')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', detail: { s3Error: 'SlowDown' } });
    expect(sent).toHaveLength(4);
  });
});
