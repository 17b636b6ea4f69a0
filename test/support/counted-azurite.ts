/**
 * For a test file that counts Table transactions: one Azurite and the counting proxy in front of it
 * (table-transaction-counter.ts), started before the file's tests and stopped after, and table
 * prefixes no other test of the file (or another file's process) uses.
 */
import { TableStateStore, type TableStoreOptions } from '../../shared/state/table';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { startTransactionCounter, type TransactionCounter } from './table-transaction-counter';

export interface CountedAzurite {
  readonly azurite: RunningAzurite;
  readonly counter: TransactionCounter;
  /** A prefix of tables of their own: `<letter><pid>x<n>`. */
  freshPrefix(): string;
  /** A Table store on `prefix`'s tables, through the counter. */
  storeOn(prefix: string, options?: Omit<TableStoreOptions, 'tablePrefix'>): TableStateStore;
  /** Transactions counted on one table of `prefix` since the last reset, by verb. */
  on(prefix: string, table: string): Record<string, number>;
}

export function useCountedAzurite(letter: string): CountedAzurite {
  let azurite: RunningAzurite | undefined;
  let counter: TransactionCounter | undefined;
  let tests = 0;
  beforeAll(async () => {
    azurite = await startAzurite();
    counter = await startTransactionCounter(azurite.port);
  }, 30_000);
  afterAll(async () => {
    await counter?.close();
    await azurite?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('Azurite is used before the file started it');
    return value;
  };
  return {
    get azurite() {
      return started(azurite);
    },
    get counter() {
      return started(counter);
    },
    freshPrefix: () => {
      tests += 1;
      return `${letter}${process.pid}x${tests}`;
    },
    storeOn: (prefix, options = {}) =>
      new TableStateStore(
        { kind: 'connection-string', connectionString: started(counter).connectionString },
        { ...options, tablePrefix: prefix },
      ),
    on: (prefix, table) => started(counter).onTable(`${prefix}${table}`),
  };
}
