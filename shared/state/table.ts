/**
 * The production store: Azure Table Storage in the app's own storage account, addressed the way the
 * Functions host addresses it (state/settings.ts): a connection string locally (Azurite), the
 * table service URI with the app's identity in Azure. Five tables, `<prefix>Register`, `<prefix>Open`,
 * `<prefix>Breaker`, `<prefix>Actions` and `<prefix>Quota`, created on first use.
 *
 * Every call has a deadline (retries included): an unreachable, slow or refusing store surfaces as
 * StoreUnavailableError within it, so callers defer instead of hanging.
 * https://learn.microsoft.com/azure/storage/tables/table-storage-overview
 */
import {
  odata,
  RestError,
  TableClient,
  type TableEntityResult,
  type TableServiceClientOptions,
} from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import {
  type Entity,
  type EntityQuery,
  type EntityTable,
  type StateTableName,
  type StoredEntity,
  stateTables,
  VersionConflictError,
} from './entities';
import { EntityStateStore, type StateOptions } from './entity-store';
import { StoreUnavailableError } from './store';

export type TableTarget =
  | { kind: 'connection-string'; connectionString: string }
  | { kind: 'identity'; tableServiceUri: string; credential: TokenCredential };

export interface TableStoreOptions extends Partial<StateOptions> {
  /** Table names start with this: letters and digits, starting with a letter. */
  tablePrefix?: string;
  /** Longest a call may take, the SDK's retries included. */
  requestDeadlineMs?: number;
}

export const DEFAULT_TABLE_PREFIX = 'mdeisolator';

/**
 * A listed tenant's tables (docs/decisions/0031-a-worker-per-tenant.md): its own register, ledgers,
 * claims and quota budget, apart from every other tenant's by name. The tenant id without its dashes
 * keeps the longest name (`...Approvals`) at 53 characters, within Table Storage's 63.
 */
export function tenantTablePrefix(tenantId: string): string {
  return `${DEFAULT_TABLE_PREFIX}t${tenantId.replaceAll('-', '').toLowerCase()}`;
}
const DEFAULT_DEADLINE_MS = 5_000;
/** Table names: 3 to 63 letters and digits, starting with a letter. */
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
/** A batch transaction holds at most 100 operations. */
const MAX_BATCH = 100;
/** Properties the service adds to every entity; not ours. */
const SYSTEM_PROPERTIES = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata']);

class StorageEntityTable implements EntityTable {
  private created: Promise<void> | null = null;

  constructor(
    private readonly client: TableClient,
    private readonly deadlineMs: number,
  ) {}

  async get(partitionKey: string, rowKey: string): Promise<StoredEntity | null> {
    try {
      const entity = await this.call('read', (abortSignal) =>
        this.client.getEntity<Entity>(partitionKey, rowKey, { abortSignal }),
      );
      return stored(entity);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return null;
      throw error;
    }
  }

  insert(partitionKey: string, rowKey: string, properties: Entity): Promise<string | null> {
    return this.write('insert', (abortSignal) =>
      this.client.createEntity({ partitionKey, rowKey, ...typed(properties) }, { abortSignal }),
    );
  }

  replace(partitionKey: string, rowKey: string, properties: Entity, etag: string): Promise<string | null> {
    return this.write('replace', (abortSignal) =>
      this.client.updateEntity({ partitionKey, rowKey, ...typed(properties) }, 'Replace', {
        etag,
        abortSignal,
      }),
    );
  }

  async delete(partitionKey: string, rowKey: string, etag: string): Promise<void> {
    try {
      await this.call('delete', (abortSignal) =>
        this.client.deleteEntity(partitionKey, rowKey, { etag, abortSignal }),
      );
    } catch (error) {
      // 404: deleted by someone else first, which is what this delete wanted; 412: changed since read.
      if (error instanceof RestError && error.statusCode === 404) return;
      if (error instanceof RestError && error.statusCode === 412) throw new VersionConflictError();
      throw error;
    }
  }

  async upsertBatch(partitionKey: string, rows: { rowKey: string; properties: Entity }[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length > MAX_BATCH) throw new Error(`a batch holds at most ${MAX_BATCH} rows`);
    await this.call('batch', (abortSignal) =>
      this.client.submitTransaction(
        rows.map((row) => [
          'upsert',
          { partitionKey, rowKey: row.rowKey, ...typed(row.properties) },
          'Replace',
        ]),
        { abortSignal },
      ),
    );
  }

  async query(query: EntityQuery): Promise<StoredEntity[]> {
    const clauses = Object.entries(query.equals ?? {}).map(([name, value]) => {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name))
        throw new Error(`property name "${name}" cannot be filtered on`);
      // OData string literals double their quotes; `odata` cannot template a property name.
      return `${name} eq ${typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value)}`;
    });
    if (query.after !== undefined) {
      const { partitionKey, rowKey } = query.after;
      clauses.unshift(
        odata`(PartitionKey gt ${partitionKey} or (PartitionKey eq ${partitionKey} and RowKey gt ${rowKey}))`,
      );
    }
    if (query.partitionKey !== undefined) clauses.unshift(odata`PartitionKey eq ${query.partitionKey}`);
    return this.call('query', async (abortSignal) => {
      const found: StoredEntity[] = [];
      const pages = this.client
        .listEntities<Entity>({
          queryOptions: clauses.length ? { filter: clauses.join(' and ') } : {},
          abortSignal,
        })
        .byPage({ maxPageSize: Math.min(query.limit, 1_000) });
      for await (const page of pages) {
        for (const entity of page) {
          if (found.length >= query.limit) return found;
          found.push(stored(entity));
        }
      }
      return found;
    });
  }

  private async write(
    operation: string,
    send: (abortSignal: AbortSignal) => Promise<{ etag?: string }>,
  ): Promise<string | null> {
    try {
      return (await this.call(operation, send)).etag ?? null;
    } catch (error) {
      // 409: inserted by someone else first; 412: changed since read; 404: deleted since read.
      if (error instanceof RestError && [404, 409, 412].includes(error.statusCode ?? 0))
        throw new VersionConflictError();
      throw error;
    }
  }

  /** Runs `send` within the deadline, after making sure the table exists; maps outages. */
  private async call<T>(operation: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      this.created ??= this.client.createTable({ abortSignal: AbortSignal.timeout(this.deadlineMs) });
      try {
        await this.created;
      } catch (error) {
        this.created = null;
        throw error;
      }
      return await send(AbortSignal.timeout(this.deadlineMs));
    } catch (error) {
      if (error instanceof RestError && serviceErrorCode(error) === 'TableNotFound') {
        // Deleted under us: what it held is gone. Never read that as "nothing recorded" (an empty
        // breaker admits); the next call creates the table again.
        this.created = null;
        throw new StoreUnavailableError(
          `state store table ${this.client.tableName} is missing (${operation})`,
        );
      }
      throw unavailable(error, `${operation} on ${this.client.tableName}`) ?? error;
    }
  }
}

/**
 * StoreUnavailableError for an outage (no answer, a deadline, throttling, a server error, or a refused
 * identity, which an operator must fix but which must not post unchecked either); null for anything
 * else, which is a bug to surface as it is. The message names the operation and status only.
 */
function unavailable(error: unknown, operation: string): StoreUnavailableError | null {
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return new StoreUnavailableError(`state store did not answer in time (${operation})`);
  if (!(error instanceof RestError)) return null;
  const status = error.statusCode;
  if (status === undefined)
    return new StoreUnavailableError(`state store unreachable (${operation}: ${error.code ?? 'no answer'})`);
  if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500)
    return new StoreUnavailableError(`state store refused the call (${operation}: HTTP ${status})`);
  return null;
}

/** The service's error code (`x-ms-error-code`, e.g. TableNotFound); the SDK leaves `code` unset for it. */
function serviceErrorCode(error: RestError): string | undefined {
  return error.response?.headers.get('x-ms-error-code') ?? error.code;
}

/** Numbers as Edm.Double, so epoch milliseconds never land in a 32-bit integer column. */
function typed(properties: Entity): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties))
    out[name] = typeof value === 'number' ? { value, type: 'Double' } : value;
  return out;
}

function stored(entity: TableEntityResult<Entity>): StoredEntity {
  const properties: Entity = {};
  for (const [name, value] of Object.entries(entity))
    if (!SYSTEM_PROPERTIES.has(name) && value !== undefined) properties[name] = value as Entity[string];
  return {
    partitionKey: entity.partitionKey as string,
    rowKey: entity.rowKey as string,
    properties,
    etag: entity.etag,
  };
}

/** Whether a connection string names the local emulator: the development shortcut or a loopback endpoint. */
function isLoopback(connectionString: string): boolean {
  return (
    /(^|;)\s*UseDevelopmentStorage\s*=\s*true\s*(;|$)/i.test(connectionString) ||
    /(^|;)\s*TableEndpoint\s*=\s*http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(connectionString)
  );
}

function tableName(prefix: string, name: StateTableName): string {
  const full = `${prefix}${name[0].toUpperCase()}${name.slice(1)}`;
  if (!TABLE_NAME.test(full)) throw new Error(`table prefix "${prefix}" does not make a valid table name`);
  return full;
}

export class TableStateStore extends EntityStateStore {
  constructor(target: TableTarget, options: TableStoreOptions = {}) {
    const {
      tablePrefix = DEFAULT_TABLE_PREFIX,
      requestDeadlineMs = DEFAULT_DEADLINE_MS,
      ...stateOptions
    } = options;
    const clientOptions: TableServiceClientOptions = {
      // Retries stay inside the deadline: a few quick ones for a blip, then the caller defers.
      retryOptions: { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 1_000 },
      // Azurite speaks plain HTTP on loopback; anything else must be https.
      allowInsecureConnection: target.kind === 'connection-string' && isLoopback(target.connectionString),
    };
    const client = (name: StateTableName) => {
      const table = tableName(tablePrefix, name);
      return target.kind === 'connection-string'
        ? TableClient.fromConnectionString(target.connectionString, table, clientOptions)
        : new TableClient(target.tableServiceUri, table, target.credential, clientOptions);
    };
    super(
      stateTables((name) => new StorageEntityTable(client(name), requestDeadlineMs)),
      stateOptions,
    );
  }
}
