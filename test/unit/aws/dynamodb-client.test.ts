import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';

afterEach(() => vi.unstubAllEnvs());

const credentialsOf = (endpoint?: string) => createDocumentClient({ region: 'us-east-1', endpoint }).config.credentials();

describe('createDocumentClient: which credentials sign', () => {
  it("with a DynamoDB Local endpoint and AWS keys in the environment, the environment's keys sign, session token included (as in Lambda)", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENVIRONMENT');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-from-environment');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token-from-environment');
    expect(await credentialsOf('http://127.0.0.1:8000')).toMatchObject({
      accessKeyId: 'AKIDFROMENVIRONMENT',
      secretAccessKey: 'secret-from-environment',
      sessionToken: 'token-from-environment',
    });
  });

  it('with a DynamoDB Local endpoint and no AWS keys in the environment, fixed local credentials (DynamoDB Local takes any)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    expect(await credentialsOf('http://127.0.0.1:8000')).toMatchObject({ accessKeyId: 'local', secretAccessKey: 'local' });
  });
});
