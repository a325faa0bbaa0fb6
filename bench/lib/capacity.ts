/**
 * DynamoDB consumed capacity per operation: every command sent through this
 * client asks for ReturnConsumedCapacity=TOTAL (DynamoDB Local reports it)
 * and the units are summed per operation until `take()`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface Consumed {
  read: number;
  write: number;
  /** Of those, units spent on the table itself (the rest maintains the GSIs). */
  tableRead: number;
  tableWrite: number;
  /** DynamoDB operations sent, e.g. GetItem, TransactWriteItems. */
  calls: string[];
  /** Per operation, where its units went: `TransactWriteItems: table 4, byDomain 2`. */
  detail: string[];
}

type Units = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };
type Capacity = Units & { Table?: Units; GlobalSecondaryIndexes?: Record<string, Units> };
const empty = (): Consumed => ({ read: 0, write: 0, tableRead: 0, tableWrite: 0, calls: [], detail: [] });

export const meteredClient = (endpoint: string) => {
  const base = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let current: Consumed = empty();
  base.middlewareStack.add(
    (next, context) => async (args) => {
      // INDEXES: the TOTAL, plus how much of it was the table's own.
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      const out = await next(args);
      const op = String(context.commandName ?? '').replace(/Command$/, '');
      const raw = (out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      current.calls.push(op);
      const units = (u: Units | undefined) => u?.CapacityUnits ?? (u?.ReadCapacityUnits ?? 0) + (u?.WriteCapacityUnits ?? 0);
      for (const c of list) {
        // DynamoDB Local reports CapacityUnits; split by the kind of operation.
        const isRead = /^(Get|BatchGet|Query|Scan|TransactGet)/.test(op);
        const table = c.Table ? units(c.Table) : units(c);
        const parts = [`table ${table}`, ...Object.entries(c.GlobalSecondaryIndexes ?? {}).map(([name, u]) => `${name} ${units(u)}`)];
        current.detail.push(`${op}: ${parts.join(', ')}`);
        if (isRead) {
          current.read += units(c);
          current.tableRead += table;
        } else {
          current.write += units(c);
          current.tableWrite += table;
        }
      }
      return out;
    },
    { step: 'initialize', name: 'consumedCapacity', priority: 'low' }
  );
  const doc = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
  return {
    doc,
    /** What was consumed since the last take(). */
    take: (): Consumed => {
      const out = current;
      current = empty();
      return out;
    },
  };
};
