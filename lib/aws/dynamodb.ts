import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { boundedSignal, remainingMs } from '#lib/kernel/deadline';

export interface DynamoClientOptions {
  region: string;
  /** DynamoDB Local; unset in AWS. */
  endpoint?: string | undefined;
  /**
   * Default DYNAMODB_REQUEST_TIMEOUT_MS. Only tests on the shared DynamoDB Local set more: it runs transactions one
   * at a time, so 50 at once queue for seconds on a busy machine where DynamoDB itself answers in milliseconds.
   */
  requestTimeoutMs?: number;
}

/**
 * Chosen so that a stalled DynamoDB ends a request with a 503 in a few seconds,
 * never by Lambda's own timeout (serverless.yml). DynamoDB answers in
 * milliseconds, so a second without a byte means it is not going to.
 */
export const DYNAMODB_MAX_ATTEMPTS = 3;
export const DYNAMODB_CONNECTION_TIMEOUT_MS = 500;
export const DYNAMODB_REQUEST_TIMEOUT_MS = 1000;
/**
 * Worst time one DynamoDB call can take: every attempt times out, plus the SDK's
 * backoff between attempts (up to 1 s, then 2 s, when DynamoDB throttles).
 */
export const DYNAMODB_BACKOFF_BOUND_MS = 3000;
export const dynamoCallBoundMs = (): number =>
  DYNAMODB_MAX_ATTEMPTS * (DYNAMODB_CONNECTION_TIMEOUT_MS + DYNAMODB_REQUEST_TIMEOUT_MS) + DYNAMODB_BACKOFF_BOUND_MS;

/**
 * Bound on a best-effort cleanup write (giving a login code's claim back, or
 * marking it spent) after a login has already failed: the claim expires by
 * itself, so the failed request must not wait out a whole dynamoCallBoundMs more.
 */
export const DYNAMODB_CLEANUP_BOUND_MS = 1000;

export function createDocumentClient({
  region,
  endpoint,
  requestTimeoutMs = DYNAMODB_REQUEST_TIMEOUT_MS,
}: DynamoClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region,
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: DYNAMODB_CONNECTION_TIMEOUT_MS,
      requestTimeout: requestTimeoutMs,
      // Without this, this SDK version only warns when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
    // DynamoDB Local takes any credentials: fixed ones, unless the environment has keys, which then sign as in Lambda.
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !(process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY)
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return withinRequestDeadline(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }));
}

type Send = (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

/**
 * Every call made while a request runs is also aborted at that request's
 * deadline (lib/kernel/deadline.ts), retries included: the client is made
 * once per instance, the deadline is per request, and the SDK takes an
 * abortSignal per send.
 */
function withinRequestDeadline(db: DynamoDBDocumentClient): DynamoDBDocumentClient {
  const send = db.send.bind(db) as Send;
  const bounded: Send = (command, options) => {
    if (remainingMs() === Number.POSITIVE_INFINITY) return send(command, options);
    const deadline = boundedSignal(dynamoCallBoundMs());
    return send(command, { ...options, abortSignal: options?.abortSignal ? AbortSignal.any([options.abortSignal, deadline]) : deadline });
  };
  db.send = bounded as DynamoDBDocumentClient['send'];
  return db;
}
