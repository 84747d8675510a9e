/**
 * The Redis client, for one server or a Redis Cluster, from the one REDIS_URL setting:
 *
 *   redis://[user:password@]host:port[/db]          one server (rediss:// for TLS)
 *   redis-cluster://[user:password@]h1:p1,h2:p2,…   a cluster, by any of its nodes (rediss-cluster:// for TLS)
 *
 * One variable rather than a second REDIS_CLUSTER_NODES: there is no precedence to explain, and
 * the password lives in one place that the configuration already redacts.
 *
 * The cluster client auto-pipelines: the state store issues a round trip's commands together and
 * ioredis sends the commands of one tick as one pipeline per node, which is how reads spanning
 * many users and chats stay one round trip per node (a cluster client rejects an explicit
 * pipeline whose keys live on different nodes). The single-server client does not: the store
 * uses explicit pipelines there, which cost less per command than auto-pipelining.
 */
import { Cluster, Redis } from 'ioredis';
import type { ClusterNode, RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: 'server'; url: string }
  | {
      kind: 'cluster';
      nodes: Array<{ host: string; port: number }>;
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER_URL = /^(rediss?)-cluster:\/\/(?:([^@/]*)@)?([^@/]+)\/?$/;
const NODE = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

/** Reads a REDIS_URL; throws an Error whose message says what is wrong, without the value. */
export function parseRedisUrl(value: string): RedisTarget {
  const cluster = CLUSTER_URL.exec(value);
  if (cluster) {
    const [, scheme, auth, hosts] = cluster;
    const nodes = hosts!
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean)
      .map((h) => {
        const m = NODE.exec(h);
        const port = m ? Number(m[2]) : 0;
        if (!m || port < 1 || port > 65535) throw new Error('each cluster node must be host:port');
        return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
      });
    if (nodes.length === 0) throw new Error('must name at least one cluster node');
    const target: RedisTarget = { kind: 'cluster', nodes, tls: scheme === 'rediss' };
    if (auth !== undefined) {
      const colon = auth.indexOf(':');
      const username = decodeURIComponent(colon < 0 ? '' : auth.slice(0, colon));
      const password = decodeURIComponent(colon < 0 ? auth : auth.slice(colon + 1));
      if (username) target.username = username;
      if (password) target.password = password;
    }
    return target;
  }
  if (/^rediss?-cluster:/.test(value))
    throw new Error(
      'a cluster URL is redis-cluster://[user:password@]host:port,host:port (no database: a cluster has only db 0)',
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(FORMS);
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !/^\/?\d*$/.test(url.pathname))
    throw new Error(FORMS);
  return { kind: 'server', url: value };
}

const FORMS =
  'must be redis://[user:password@]host:port[/db], rediss://…, or redis-cluster://[user:password@]host:port,host:port[,…]';

export interface ClientOptions {
  /** CLIENT SETNAME, shown by CLIENT LIST on each node. */
  connectionName?: string;
  /** Connect only on `connect()` (or the first command). */
  lazyConnect?: boolean;
  /**
   * Send the commands issued in one tick together (ioredis `enableAutoPipelining`). Always on for a
   * cluster, where it is how reads that span nodes become one pipeline per node.
   */
  autoPipelining?: boolean;
}

/** A client of the server or cluster a REDIS_URL names. */
export function createRedis(redisUrl: string, opts: ClientOptions = {}): RedisClient {
  const target = parseRedisUrl(redisUrl);
  const common: RedisOptions = {
    maxRetriesPerRequest: 3,
    lazyConnect: opts.lazyConnect ?? false,
    enableAutoPipelining: opts.autoPipelining ?? false,
  };
  if (opts.connectionName) common.connectionName = opts.connectionName;
  if (target.kind === 'server') return new Redis(redisUrl, common);
  const redisOptions: RedisOptions = { connectionName: common.connectionName, maxRetriesPerRequest: 3 };
  if (target.username) redisOptions.username = target.username;
  if (target.password) redisOptions.password = target.password;
  if (target.tls) redisOptions.tls = {};
  const nodes: ClusterNode[] = target.nodes.map(({ host, port }) => ({ host, port }));
  // ioredis follows a MOVED reply only for a pipeline whose commands all share one slot, and
  // auto-pipelines mix slots: after a master restarts or fails over, they keep failing. The state
  // markers' EXISTS go one by one, so the check that notices a lost master follows the redirect
  // (and refreshes the slot map the other commands then use).
  return new Cluster(nodes, {
    redisOptions,
    lazyConnect: common.lazyConnect,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: ['exists'],
    maxRedirections: 16,
  });
}

/** The servers holding keys: the masters of a cluster, or the one server. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Deletes every key starting with `prefix`, on every master; returns how many. */
export async function deleteByPrefix(client: RedisClient, prefix: string): Promise<number> {
  let n = 0;
  for (const node of masters(client)) {
    for await (const keys of node.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
      // One DEL per key: on a cluster the keys of one SCAN page can be in different slots.
      if (keys.length > 0) n += (await Promise.all(keys.map((k) => node.del(k)))).reduce((a, b) => a + b, 0);
    }
  }
  return n;
}
