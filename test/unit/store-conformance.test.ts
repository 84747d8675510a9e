/** The state port conformance suite on the in-memory store, and on a prepared chunk over it. */
import { PreparedChunk } from '../../src/state/prepared-chunk.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { describeStoreConformance } from '../support/store-conformance.js';

describeStoreConformance('in-memory store', () => {
  const store = new MemoryStore();
  return {
    store,
    judging: async (chats) => {
      await store.applyMembershipChanges(chats);
      return store;
    },
    loseState: async () => {
      store.intact = false;
    },
  };
});

describeStoreConformance(
  'prepared chunk over the in-memory store',
  () => {
    const store = new MemoryStore();
    return {
      store,
      judging: (chats, needs) => PreparedChunk.load(store, chats, () => needs),
      loseState: async () => {
        store.intact = false;
      },
    };
  },
  ['judging'],
);
