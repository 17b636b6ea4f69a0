/**
 * Where the state store lives, read from the Functions host's own storage settings rather than
 * settings of the app: the store shares the app's storage account, addressed the way the host
 * addresses it. These are not in `SETTINGS` (config.ts): the host owns them and the Bicep sets them
 * for the host.
 * - `AzureWebJobsStorage`: a connection string (`UseDevelopmentStorage=true`, or Azurite's explicit
 *   one) for local runs and tests;
 * - `AzureWebJobsStorage__tableServiceUri` (+ `__clientId` for a user-assigned identity): identity
 *   based, as deployed.
 * Neither set: the embedded in-process store, which survives nothing (one-off CLI runs).
 * https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
 */
import { TableClient } from '@azure/data-tables';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ConfigError, type SettingProblem } from '../config';
import { GUID } from '../kernel/ids';
import type { StateOptions } from './entity-store';
import { InMemoryStateStore } from './memory';
import type { StateStore } from './store';
import { TableStateStore, type TableStoreOptions } from './table';

export const STORAGE_SETTINGS = {
  connectionString: 'AzureWebJobsStorage',
  tableServiceUri: 'AzureWebJobsStorage__tableServiceUri',
  clientId: 'AzureWebJobsStorage__clientId',
} as const;

export type StateStorage =
  | { kind: 'embedded' }
  | { kind: 'connection-string'; connectionString: string }
  | { kind: 'identity'; tableServiceUri: string; clientId: string | null };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Like the host, a connection string wins over the identity-based settings. */
export function readStateStorage(
  env: Readonly<Record<string, string | undefined>> = process.env,
): StateStorage {
  const problems: SettingProblem[] = [];
  const get = (name: string) => env[name]?.trim() || undefined;
  const connectionString = get(STORAGE_SETTINGS.connectionString);
  const tableServiceUri = get(STORAGE_SETTINGS.tableServiceUri);
  let storage: StateStorage = { kind: 'embedded' };
  if (connectionString) {
    try {
      TableClient.fromConnectionString(connectionString, 'probe');
      storage = { kind: 'connection-string', connectionString };
    } catch {
      // The value is never echoed: it holds an account key.
      problems.push({
        setting: STORAGE_SETTINGS.connectionString,
        message: 'is not a storage connection string (e.g. UseDevelopmentStorage=true for Azurite)',
      });
    }
  } else if (tableServiceUri) {
    const url = URL.canParse(tableServiceUri) ? new URL(tableServiceUri) : null;
    const secure =
      url?.protocol === 'https:' || (url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
    if (!url || !secure)
      problems.push({
        setting: STORAGE_SETTINGS.tableServiceUri,
        message: `"${tableServiceUri}" is not an https URL such as https://<account>.table.core.windows.net`,
      });
    const clientId = get(STORAGE_SETTINGS.clientId) ?? null;
    if (clientId && !GUID.test(clientId))
      problems.push({ setting: STORAGE_SETTINGS.clientId, message: `"${clientId}" is not a GUID` });
    storage = { kind: 'identity', tableServiceUri, clientId };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return storage;
}

/**
 * The store `storage` names. Identity-based storage uses its own user-assigned identity when
 * `__clientId` is set, as the host does, and otherwise `credential`, the app's.
 */
export function openStateStore(
  storage: StateStorage,
  credential: TokenCredential,
  options: TableStoreOptions & Partial<StateOptions> = {},
): StateStore {
  switch (storage.kind) {
    case 'embedded':
      return new InMemoryStateStore(options);
    case 'connection-string':
      return new TableStateStore(storage, options);
    case 'identity':
      return new TableStateStore(
        {
          kind: 'identity',
          tableServiceUri: storage.tableServiceUri,
          credential: storage.clientId
            ? new ManagedIdentityCredential({ clientId: storage.clientId })
            : credential,
        },
        options,
      );
  }
}
