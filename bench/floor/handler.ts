/**
 * The floor: the least a DynamoDB-backed Lambda can be. One DocumentClient at
 * module scope, one GetCommand per request. bench/run.ts bundles it exactly like
 * our functions (the custom.esbuild options of serverless.yml) and benches it
 * beside them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { queryStringParameters?: Record<string, string | undefined> }) => {
  const { Item } = await db.send(
    new GetCommand({
      TableName: process.env.SESSIONS_TABLE,
      Key: { uid: event.queryStringParameters?.id ?? '', tokenHash: event.queryStringParameters?.id ?? '' },
    }),
  );
  return { statusCode: 200, body: JSON.stringify({ found: Item !== undefined }) };
};
