import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { closeServer, closeServerAfterRequests, listenOnLoopback } from '../ports';
import type { TableModel } from '../template/service-model';

export interface DynamoDbServerOptions {
  /** 0 picks a free port. */
  port: number;
  portOption?: string;
  /** LevelDB folder; data stays between runs. */
  directory: string;
  region: string;
  tables: TableModel[];
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface LocalDynamoDbServer {
  endpoint: string;
  port: number;
  /** Tables created by this start (the others already existed). */
  createdTables: string[];
  close(): Promise<void>;
}

function keySchemaText(keySchema: unknown): string {
  return JSON.stringify(
    (Array.isArray(keySchema) ? keySchema : []).map(
      (element: { AttributeName?: string; KeyType?: string }) => [element.AttributeName, element.KeyType],
    ),
  );
}

/** Creates each table that does not exist yet; an existing table must have the template's key schema. */
async function ensureTables(
  client: DynamoDBClient,
  tables: TableModel[],
  directory: string,
): Promise<string[]> {
  const created: string[] = [];
  for (const table of tables) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table.name }));
      const expected = keySchemaText(table.definition.KeySchema);
      const actual = keySchemaText(Table?.KeySchema);
      if (expected !== actual) {
        throw new Error(
          `table ${table.name} in ${directory} has key schema ${actual}, but the template defines ${expected}: ` +
            `stop the stack and delete ${directory} to recreate it`,
        );
      }
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await client.send(
        new CreateTableCommand({ ...table.definition, TableName: table.name } as CreateTableCommandInput),
      );
      created.push(table.name);
    }
  }
  return created;
}

/** Starts dynalite on 127.0.0.1 with the template's tables, stored under `directory`. */
export async function startDynamoDbServer(options: DynamoDbServerOptions): Promise<LocalDynamoDbServer> {
  // Zero delays: tables are ACTIVE as soon as CreateTable returns.
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let port: number;
  try {
    port = await listenOnLoopback(server, options.port, 'DynamoDB', options.portOption);
  } catch (error) {
    // dynalite opens its LevelDB store when it is created but closes it only in close() of a listening server, so
    // it listens on a free port just long enough to close the store, which would otherwise keep writing files.
    await listenOnLoopback(server, 0, 'DynamoDB')
      .then(() => closeServer(server))
      .catch(() => {});
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: options.credentials });
  try {
    const createdTables = await ensureTables(client, options.tables, options.directory);
    // dynalite closes its database in close(); a request still being answered would then fail and throw.
    return { endpoint, port, createdTables, close: () => closeServerAfterRequests(server) };
  } catch (error) {
    await closeServer(server);
    throw error;
  } finally {
    client.destroy();
  }
}
