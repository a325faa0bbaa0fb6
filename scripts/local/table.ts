import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';

const INFRA = fileURLToPath(new URL('../../infra/table.yml', import.meta.url));

/**
 * Creates the table from infra/table.yml itself, so local and test tables are
 * the deployed one (keys, indexes, TTL attribute).
 */
export const createTableFromInfra = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const doc = parse(readFileSync(INFRA, 'utf8'), {
    customTags: [
      { tag: '!Ref', resolve: (v: string) => v },
      { tag: '!GetAtt', resolve: (v: string) => v },
    ],
  }) as {
    Resources: {
      InvitesTable: {
        Properties: Pick<CreateTableCommandInput, 'BillingMode' | 'AttributeDefinitions' | 'KeySchema' | 'GlobalSecondaryIndexes'> & {
          StreamSpecification?: Record<string, unknown>;
          TimeToLiveSpecification: { AttributeName: string };
        };
      };
    };
  };
  const p = doc.Resources.InvitesTable.Properties;
  const input: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: p.BillingMode,
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
    StreamSpecification: p.StreamSpecification ? { StreamEnabled: true, ...p.StreamSpecification } : undefined,
  };
  await client.send(new CreateTableCommand(input));
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: p.TimeToLiveSpecification.AttributeName, Enabled: true },
    })
  );
};

export const localClient = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
