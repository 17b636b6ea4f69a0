import { InMemoryStateStore } from '../../shared/state/memory';
import { describeStateStoreContract } from './contract';

// One instance stands for both: the embedded store is shared only within its process.
describeStateStoreContract(
  'InMemoryStateStore',
  async (options) => {
    const store = new InMemoryStateStore(options);
    return { store, sibling: store };
  },
  { separateInstances: false },
);
