import { ConfigError } from '../../shared/config';
import { InMemoryStateStore } from '../../shared/state/memory';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import { TableStateStore } from '../../shared/state/table';
import { azuriteConnectionString } from '../../simulator/azurite';

const credential = { getToken: async () => null };

describe('readStateStorage', () => {
  it('uses the embedded store when no host storage is set', () => {
    expect(readStateStorage({})).toEqual({ kind: 'embedded' });
    expect(openStateStore(readStateStorage({}), credential)).toBeInstanceOf(InMemoryStateStore);
  });

  it('takes AzureWebJobsStorage as a connection string, the development shortcut included', () => {
    for (const connectionString of ['UseDevelopmentStorage=true', azuriteConnectionString(10002)]) {
      const storage = readStateStorage({ AzureWebJobsStorage: connectionString });
      expect(storage).toEqual({ kind: 'connection-string', connectionString });
      expect(openStateStore(storage, credential)).toBeInstanceOf(TableStateStore);
    }
  });

  it('prefers the connection string over identity-based settings, as the host does', () => {
    expect(
      readStateStorage({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net/',
      }).kind,
    ).toBe('connection-string');
  });

  it('takes the identity-based table service URI and the host storage identity', () => {
    const env = {
      AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net/',
      AzureWebJobsStorage__clientId: '6f1c2b1a-3a5e-4b7e-9c1d-2f3e4a5b6c7d',
    };
    const storage = readStateStorage(env);
    expect(storage).toEqual({
      kind: 'identity',
      tableServiceUri: 'https://acct.table.core.windows.net/',
      clientId: '6f1c2b1a-3a5e-4b7e-9c1d-2f3e4a5b6c7d',
    });
    expect(openStateStore(storage, credential)).toBeInstanceOf(TableStateStore);
  });

  it('reports every bad setting at once, never echoing a connection string', () => {
    const secret = 'AccountName=x;AccountKey=c2VjcmV0';
    const badConnection = (() => {
      try {
        readStateStorage({ AzureWebJobsStorage: `garbage ${secret}` });
      } catch (error) {
        return error as ConfigError;
      }
      return null;
    })();
    expect(badConnection).toBeInstanceOf(ConfigError);
    expect(badConnection?.message).toMatch(/AzureWebJobsStorage: is not a storage connection string/);
    expect(badConnection?.message).not.toContain('c2VjcmV0');
    expect(() =>
      readStateStorage({
        AzureWebJobsStorage__tableServiceUri: 'http://acct.table.core.windows.net/',
        AzureWebJobsStorage__clientId: 'me',
      }),
    ).toThrow(/tableServiceUri: .*not an https URL[\s\S]*clientId: "me" is not a GUID/);
  });
});
