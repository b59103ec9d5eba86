import type { TestProject } from 'vitest/node';
import { startLocalDynamo } from '../../local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

/** One DynamoDB Local for the whole integration run; each test file makes its own tables. */
export default async function setup(project: TestProject) {
  const dynamo = await startLocalDynamo();
  project.provide('dynamodbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
