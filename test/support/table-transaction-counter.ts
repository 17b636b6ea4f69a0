/**
 * A loopback HTTP proxy in front of Azurite's Table service that counts what Azure would bill: every
 * request is one transaction, except a batch (entity group transaction, `POST …/$batch`), which is
 * counted once per operation it carries, the higher reading of Azure's billing (docs/architecture.md
 * §6, "What the store costs"). Counts are kept by table and verb (`Actions GET`, `Open PUT`, …), so a
 * test or a bench can say which calls a change saved.
 */
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { azuriteConnectionString } from '../../simulator/azurite';

/** The operations of a batch body: one request line each (`PUT http://…/Table(…) HTTP/1.1`). */
const BATCH_OPERATION = /^(GET|POST|PUT|PATCH|MERGE|DELETE) https?:\/\/\S+ HTTP\/1\.1\r?$/gm;
/** `/<account>/<Table>(…)` or `/<account>/<Table>?…`; `Tables` is the table service's own list. */
const TABLE_IN_PATH = /^\/[^/]+\/([A-Za-z][A-Za-z0-9]*)/;

export interface TransactionCounter {
  /** The connection string that sends the Table SDK through the proxy. */
  connectionString: string;
  /** Transactions since the start or the last reset, by `<table suffix> <verb>`. */
  counts(): Map<string, number>;
  total(): number;
  /** Transactions on the table named `table` (its whole name) since the last reset, by verb. */
  onTable(table: string): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Counts by `<table> <verb>`; `prefix` (the store's table prefix) is dropped from table names so the
 * labels read `Actions GET`, whatever the prefix.
 */
export async function startTransactionCounter(azuritePort: number, prefix = ''): Promise<TransactionCounter> {
  const counts = new Map<string, number>();
  const add = (label: string, n: number) => counts.set(label, (counts.get(label) ?? 0) + n);
  const server: Server = createServer((incoming, outgoing) => {
    void readBody(incoming).then((body) => {
      add(...labelOf(incoming, body, prefix));
      const upstream = forward(
        {
          host: '127.0.0.1',
          port: azuritePort,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      upstream.on('error', () => outgoing.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: azuriteConnectionString(port),
    counts: () => new Map(counts),
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    onTable: (table) => {
      const counted: Record<string, number> = {};
      for (const [label, n] of counts) {
        const [name, verb] = label.split(' ');
        if (name === table) counted[verb] = n;
      }
      return counted;
    },
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}

function labelOf(incoming: IncomingMessage, body: Buffer, prefix: string): [string, number] {
  const path = incoming.url ?? '';
  if (path.includes('$batch')) {
    const operations = body.toString('utf8').match(BATCH_OPERATION) ?? [];
    const table = tableIn(operations[0]?.split(' ')[1] ?? '', prefix);
    return [`${table} BATCH`, Math.max(1, operations.length)];
  }
  return [`${tableIn(path, prefix)} ${incoming.method}`, 1];
}

function tableIn(pathOrUrl: string, prefix: string): string {
  const path = pathOrUrl.startsWith('http') ? new URL(pathOrUrl).pathname : pathOrUrl;
  const name = TABLE_IN_PATH.exec(path)?.[1] ?? '?';
  return prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
