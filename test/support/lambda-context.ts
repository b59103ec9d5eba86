import type { Context } from 'aws-lambda';

/** A Lambda context whose deadline is `remainingMs` from now, on the real clock, as Lambda's own is. */
export function lambdaContext(remainingMs: number): Context {
  const deadline = performance.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/test-function',
    logStreamName: '2026/12/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
