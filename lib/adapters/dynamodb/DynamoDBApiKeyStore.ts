import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { EXISTING_ITEM, NEW_ITEM } from './conditions.js';
import { GetCommand, paginateQuery, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApiKey, ApiKeyStore } from '../../ports/ApiKeyStore.js';
import { documentClient } from './client.js';
import { IndexPrefix, TableSchema, apiKeyKey as key } from './tableKeys.js';

const KEYS_PARTITION = IndexPrefix.apiKeys;

const fromItem = (item: Record<string, unknown>): ApiKey => ({
  id: item.id as string,
  name: item.name as string,
  // `kind` is the item's type, as on every item; keys made before key kinds existed are API keys.
  kind: item.keyKind === 'xmpp-server' ? 'xmpp-server' : 'api',
  domains: (item.domains as string[]) ?? [],
  createdAt: Number(item.createdAt),
  revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : undefined,
  maxLiveInvites: typeof item.maxLiveInvites === 'number' ? item.maxLiveInvites : undefined,
  allowReset: item.allowReset === true,
  inviters: item.inviters === 'any' ? 'any' : Array.isArray(item.inviters) ? (item.inviters as string[]) : undefined,
});

export class DynamoDBApiKeyStore implements ApiKeyStore {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async put(apiKey: ApiKey): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...key(apiKey.id),
          ...apiKey,
          kind: 'api-key',
          keyKind: apiKey.kind,
          gsi2pk: KEYS_PARTITION,
          gsi2sk: `${String(apiKey.createdAt).padStart(12, '0')}#${apiKey.id}`,
        },
        ConditionExpression: NEW_ITEM,
      })
    );
  }

  public async get(id: string): Promise<ApiKey | undefined> {
    const { Item } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: key(id) }));
    return Item ? fromItem(Item) : undefined;
  }

  public async list(): Promise<ApiKey[]> {
    const out: ApiKey[] = [];
    const pages = paginateQuery(
      { client: this.#db },
      {
        TableName: this.#table,
        IndexName: TableSchema.byDomain.name,
        KeyConditionExpression: 'gsi2pk = :p',
        ExpressionAttributeValues: { ':p': KEYS_PARTITION },
      }
    );
    for await (const page of pages) out.push(...(page.Items ?? []).map(fromItem));
    return out;
  }

  public async revoke(id: string, now: number): Promise<boolean> {
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: EXISTING_ITEM,
          ExpressionAttributeValues: { ':now': now },
        })
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }
}
