import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { createSsmParameterLister, createSsmParameterReader, SSM_TIMEOUT_MS } from '#lib/aws/ssm';
import { resignedAuthorization } from '../../support/sigv4.ts';

// The hash the DynamoDB client resolved, as production passes it (lib/wiring.ts).
const Sha256 = createDocumentClient({ region: 'ap-east-1' }).config.sha256;

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** A local stand-in for ssm.<region>.amazonaws.com answering with `status` and `json`. */
const fakeSsm = (status: number, json: unknown) => fakeSsmAnswering([[status, json]]);

/** Answers each request with the next [status, json] in turn (the last one for the rest); 'hang' never answers. */
async function fakeSsmAnswering(answers: Array<[number, unknown] | 'hang'>) {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: String(req.method), path: String(req.url), headers: req.headers, body });
    const answer = answers[Math.min(seen.length, answers.length) - 1]!;
    if (answer === 'hang') return;
    res.writeHead(answer[0], { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(answer[1]));
  });
  server.on('connection', (socket) => sockets.add(socket));
  const sockets = new Set<import('node:net').Socket>();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

const aws = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' },
  region: 'ap-east-1',
  sha256: Sha256,
};

describe("SSM GetParameter, signed with the DynamoDB client's signer", () => {
  it('sends a SigV4-signed AmazonSSM.GetParameter asking for decryption and returns the value', async () => {
    const ssm = await fakeSsm(200, { Parameter: { Name: '/app/secret', Type: 'SecureString', Value: 'the-app-secret' } });
    const value = await createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret');
    expect(value).toBe('the-app-secret');

    const [request] = ssm.seen;
    expect(JSON.parse(request!.body)).toEqual({ Name: '/app/secret', WithDecryption: true });
    expect(request!.headers['x-amz-target']).toBe('AmazonSSM.GetParameter');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(request!.headers['x-amz-security-token']).toBe('session-token');
    expect(request!.headers['x-amz-content-sha256'] ?? '').not.toBe('UNSIGNED-PAYLOAD');
    const authorization = String(request!.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-east-1\/ssm\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(authorization).toMatch(/SignedHeaders=[^,]*host/);
    // What was sent is what was signed: the request as received (method, path, signed headers, body) signs the same.
    expect(await resignedAuthorization(request!, { credentials: aws.credentials, region: aws.region, service: 'ssm' })).toBe(authorization);
  });

  it.each([
    ['ParameterNotFound', { __type: 'ParameterNotFound', message: 'Parameter /app/secret not found.' }],
    ['AccessDeniedException', { __type: 'com.amazonaws.ssm#AccessDeniedException', Message: 'not authorized to perform ssm:GetParameter' }],
  ])('an SSM error comes back as an Error named %s with its message', async (name, body) => {
    const ssm = await fakeSsm(400, body);
    const error = await createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret').catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe(name);
    expect((error as Error).message).toBe('message' in body ? body.message : body.Message);
  });

  it('reads credentials and region from providers, as a resolved SDK client config holds them', async () => {
    const ssm = await fakeSsm(200, { Parameter: { Value: 'v' } });
    const read = createSsmParameterReader(
      { credentials: async () => aws.credentials, region: async () => 'cn-north-1', sha256: Sha256 },
      { endpoint: ssm.endpoint },
    );
    expect(await read('/p')).toBe('v');
    expect(String(ssm.seen[0]!.headers.authorization)).toContain('/cn-north-1/ssm/aws4_request');
  });
});

describe('SSM GetParameter: throttling and faults are retried with jitter, within the bound', () => {
  const throttled: [number, unknown] = [400, { __type: 'ThrottlingException', message: 'Rate exceeded' }];
  const ok: [number, unknown] = [200, { Parameter: { Value: 'the-app-secret' } }];

  it('a ThrottlingException (a burst of cold starts) is retried, and the read succeeds', async () => {
    const ssm = await fakeSsmAnswering([throttled, ok]);
    expect(await createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret')).toBe('the-app-secret');
    expect(ssm.seen).toHaveLength(2);
  });

  it('SSM 5xx twice, then an answer: three attempts', async () => {
    const ssm = await fakeSsmAnswering([[500, { __type: 'InternalServerError', message: 'x' }], [503, {}], ok]);
    expect(await createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret')).toBe('the-app-secret');
    expect(ssm.seen).toHaveLength(3);
  });

  it('a refusal that a retry cannot change (no permission, no such parameter) is not retried', async () => {
    const ssm = await fakeSsm(400, { __type: 'AccessDeniedException', message: 'not authorized' });
    await expect(createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret')).rejects.toThrow('not authorized');
    expect(ssm.seen).toHaveLength(1);
  });

  it('throttled every time: gives up after three attempts, naming ThrottlingException, within SSM_TIMEOUT_MS', async () => {
    const ssm = await fakeSsmAnswering([throttled]);
    // The backoff pauses on an injected sleep: the test counts them instead of waiting them out.
    const pauses: number[] = [];
    const sleep = async (ms: number) => void pauses.push(ms);
    const started = performance.now();
    const error = await createSsmParameterReader(aws, { endpoint: ssm.endpoint, timing: { sleep } })('/app/secret').catch(
      (err: unknown) => err as Error,
    );
    expect((error as Error).name).toBe('ThrottlingException');
    expect(ssm.seen).toHaveLength(3);
    expect(pauses).toHaveLength(2);
    expect(performance.now() - started + pauses.reduce((a, b) => a + b, 0)).toBeLessThan(SSM_TIMEOUT_MS);
  });

  it('an SSM that never answers: the whole read, retries included, ends within SSM_TIMEOUT_MS', async () => {
    const ssm = await fakeSsmAnswering(['hang']);
    const started = performance.now();
    const error = await createSsmParameterReader(aws, { endpoint: ssm.endpoint })('/app/secret').catch((err: unknown) => err as Error);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect(elapsed).toBeGreaterThanOrEqual(SSM_TIMEOUT_MS - 50);
    // Real time against a real hung server: generous, so that a busy machine does not fail it.
    expect(elapsed).toBeLessThan(SSM_TIMEOUT_MS + 1000);
  });
});

describe('SSM GetParametersByPath: the apps path, listed page by page', () => {
  const page = (names: string[], next?: string): [number, unknown] => [
    200,
    { Parameters: names.map((name) => ({ Name: name, Type: 'SecureString', Value: `secret-of-${name}` })), ...(next ? { NextToken: next } : {}) },
  ];

  it('asks for one level, decrypted, 10 a page, follows NextToken to the end, and signs each page', async () => {
    const ssm = await fakeSsmAnswering([page(['/apps/wx1', '/apps/wx2'], 'token-2'), page(['/apps/wx3'], 'token-3'), page([])]);
    const listed = await createSsmParameterLister(aws, { endpoint: ssm.endpoint })('/apps');
    expect([...listed]).toEqual([
      ['/apps/wx1', 'secret-of-/apps/wx1'],
      ['/apps/wx2', 'secret-of-/apps/wx2'],
      ['/apps/wx3', 'secret-of-/apps/wx3'],
    ]);
    expect(ssm.seen.map((r) => JSON.parse(r.body))).toEqual([
      { Path: '/apps', Recursive: false, WithDecryption: true, MaxResults: 10 },
      { Path: '/apps', Recursive: false, WithDecryption: true, MaxResults: 10, NextToken: 'token-2' },
      { Path: '/apps', Recursive: false, WithDecryption: true, MaxResults: 10, NextToken: 'token-3' },
    ]);
    for (const request of ssm.seen) {
      expect(request.headers['x-amz-target']).toBe('AmazonSSM.GetParametersByPath');
      expect(await resignedAuthorization(request, { credentials: aws.credentials, region: aws.region, service: 'ssm' })).toBe(
        String(request.headers.authorization),
      );
    }
  });

  it('a throttled page is tried again; a refusal is thrown named by its type', async () => {
    const ssm = await fakeSsmAnswering([[400, { __type: 'ThrottlingException', message: 'Rate exceeded' }], page(['/apps/wx1'])]);
    expect((await createSsmParameterLister(aws, { endpoint: ssm.endpoint })('/apps')).size).toBe(1);
    const denied = await fakeSsm(400, { __type: 'AccessDeniedException', message: 'not authorized to perform ssm:GetParametersByPath' });
    const error = await createSsmParameterLister(aws, { endpoint: denied.endpoint })('/apps').catch((err: unknown) => err as Error);
    expect((error as Error).name).toBe('AccessDeniedException');
  });

  it('the whole listing, every page and retry, ends within SSM_TIMEOUT_MS', async () => {
    const ssm = await fakeSsmAnswering([page(['/apps/wx1'], 'more'), 'hang']);
    const started = performance.now();
    const error = await createSsmParameterLister(aws, { endpoint: ssm.endpoint })('/apps').catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(Error);
    expect(performance.now() - started).toBeLessThan(SSM_TIMEOUT_MS + 1000);
  });
});
