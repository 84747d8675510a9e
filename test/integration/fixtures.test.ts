/** End to end on the real broker and Redis: fixtures replayed into fresh topics, exact outputs asserted. */
import { describe } from 'vitest';
import { fixtureCases } from '../support/fixture-cases.js';

describe('pairguard on a real broker and Redis', () => {
  fixtureCases({ redis: (env) => env.redis });
});
