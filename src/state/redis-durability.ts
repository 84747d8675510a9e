/**
 * What a Redis server must promise before pairguard keeps its state there. An evicting
 * `maxmemory-policy` forgets keys under memory pressure without a trace: a forgotten approval is a
 * false freeze, a forgotten episode a second alert. So any `allkeys-*` or `volatile-*` policy stops
 * start-up. Without the append-only file a restart empties the server, which pairguard detects and
 * survives by rebuilding from the topics, at the cost of being blind meanwhile: a warning.
 * Read with INFO, which the least-privilege ACL user may run (CONFIG it may not).
 */
import { ConfigError } from '../errors.js';
import type { RedisClient } from './redis-client.js';
import { masters } from './redis-client.js';

export interface RedisNodeDurability {
  /** host:port */
  node: string;
  evictionPolicy: string;
  aof: boolean;
}

/** INFO's `field:value` lines as a map. */
function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

export async function inspectRedis(client: RedisClient): Promise<RedisNodeDurability[]> {
  return Promise.all(
    masters(client).map(async (node) => {
      const [memory, persistence] = await Promise.all([node.info('memory'), node.info('persistence')]);
      const m = infoFields(memory);
      const p = infoFields(persistence);
      return {
        node: `${node.options.host}:${node.options.port}`,
        evictionPolicy: m.get('maxmemory_policy') ?? 'unknown',
        aof: p.get('aof_enabled') === '1',
      };
    }),
  );
}

/** Throws a ConfigError for a node that evicts keys; returns the nodes that keep no append-only file. */
export function checkDurability(nodes: readonly RedisNodeDurability[]): RedisNodeDurability[] {
  const evicting = nodes.find((n) => /^(allkeys|volatile)-/.test(n.evictionPolicy));
  if (evicting) {
    throw new ConfigError(
      `invalid REDIS_URL: Redis ${evicting.node} evicts keys under memory pressure (maxmemory-policy ${evicting.evictionPolicy}), which would silently forget approvals and decisions; set maxmemory-policy noeviction there`,
    );
  }
  return nodes.filter((n) => !n.aof);
}
