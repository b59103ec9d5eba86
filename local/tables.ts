import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';
import type { TableNames } from '#lib/config';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface TableResource {
  Type: string;
  Properties: {
    TableName: string;
    AttributeDefinitions: CreateTableCommandInput['AttributeDefinitions'];
    KeySchema: CreateTableCommandInput['KeySchema'];
    TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
    GlobalSecondaryIndexes?: CreateTableCommandInput['GlobalSecondaryIndexes'];
    LocalSecondaryIndexes?: CreateTableCommandInput['LocalSecondaryIndexes'];
  };
}

export type { TableNames } from '#lib/config';

/**
 * The table names serverless.yml gives a stage, resolved the same way
 * (`${self:service}-${sls:stage}-...`) without running the CLI.
 */
export function tableNamesForStage(stage: string): TableNames {
  const config = parse(readFileSync(`${ROOT}/serverless.yml`, 'utf8'), { logLevel: 'silent' }) as {
    service: string;
    custom: { tableNames: Record<keyof TableNames, string> };
  };
  const resolve = (template: string) => template.replaceAll('${self:service}', config.service).replaceAll('${sls:stage}', stage);
  const { sessions, users, logins, appCache, ledger } = config.custom.tableNames;
  return {
    sessions: resolve(sessions),
    users: resolve(users),
    logins: resolve(logins),
    appCache: resolve(appCache),
    ledger: resolve(ledger),
  };
}

/**
 * Creates the tables of resources/dynamodb.yml (key schema and TTL as deployed)
 * under the given names; existing tables are left as they are.
 */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const { Resources } = parse(readFileSync(`${ROOT}/resources/dynamodb.yml`, 'utf8')) as {
    Resources: Record<string, TableResource>;
  };
  const nameFor: Record<string, string> = {
    '${self:custom.tableNames.sessions}': names.sessions,
    '${self:custom.tableNames.users}': names.users,
    '${self:custom.tableNames.logins}': names.logins,
    '${self:custom.tableNames.appCache}': names.appCache,
    '${self:custom.tableNames.ledger}': names.ledger,
  };
  for (const [logicalId, resource] of Object.entries(Resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const props = resource.Properties;
    const TableName = nameFor[props.TableName];
    if (!TableName) throw new Error(`resources/dynamodb.yml: ${logicalId} has a TableName local/tables.ts does not know`);
    try {
      await client.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: props.AttributeDefinitions,
          KeySchema: props.KeySchema,
          GlobalSecondaryIndexes: props.GlobalSecondaryIndexes,
          LocalSecondaryIndexes: props.LocalSecondaryIndexes,
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      if (err instanceof ResourceInUseException) continue;
      throw err;
    }
    if (props.TimeToLiveSpecification) {
      await client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: props.TimeToLiveSpecification }));
    }
  }
}
