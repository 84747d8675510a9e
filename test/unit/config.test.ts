import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, prefixedTopicEnv } from '../../src/config.js';
import { parseRedisUrl } from '../../src/state/redis-client.js';

describe('configuration', () => {
  it('has the contract defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      kafkaBrokers: ['127.0.0.1:9092'],
      redisUrl: 'redis://127.0.0.1:6379',
      mode: 'enforce',
      groupId: 'pairguard',
      httpPort: 9464,
      topics: {
        approvals: 'kids.approvals', membership: 'kids.membership', messages: 'kids.messages',
        alerts: 'pairguard.alerts', control: 'kids.chat-control', deadLetter: 'pairguard.dead-letter',
      },
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'a:1, b:2', REDIS_URL: 'redis://127.0.0.1:6379/3', PAIRGUARD_MODE: 'alert-only', PAIRGUARD_GROUP_ID: 'g', HTTP_PORT: '0',
      TOPIC_APPROVALS: 'ta', TOPIC_MEMBERSHIP: 'tm', TOPIC_MESSAGES: 'tx', TOPIC_ALERTS: 'tl', TOPIC_CONTROL: 'tc', TOPIC_DEAD_LETTER: 'td',
    });
    expect(c.kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(c.mode).toBe('alert-only');
    expect(c.httpPort).toBe(0);
    expect(c.topics).toEqual({ approvals: 'ta', membership: 'tm', messages: 'tx', alerts: 'tl', control: 'tc', deadLetter: 'td' });
  });

  it.each([
    ['KAFKA_BROKERS', 'nohostport'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_URL', 'redis://h:1/notadb'],
    ['REDIS_URL', 'redis-cluster://'],
    ['REDIS_URL', 'redis-cluster://h1:7000,h2'],
    ['REDIS_URL', 'redis-cluster://h1:7000,h2:99999'],
    ['REDIS_URL', 'redis-cluster://h1:7000/2'],
    ['REDIS_URL', 'redis-cluster://u:p@h1:7000;h2:7001'],
    ['REDIS_URL', 'redis-clusterx://h1:7000'],
    ['PAIRGUARD_MODE', 'freeze-everything'],
    ['HTTP_PORT', 'eighty'],
    ['HTTP_PORT', '70000'],
    ['TOPIC_ALERTS', 'bad topic!'],
    ['PAIRGUARD_GROUP_ID', 'two words'],
  ])('stops on a bad %s with one line naming it', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain(name);
    expect(message).not.toContain('\n');
  });

  it('passes Kafka TLS and SASL through, and wants both SASL credentials', () => {
    const c = loadConfig({ KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'pg', KAFKA_SASL_PASSWORD: 'pw' });
    expect(c.kafkaTls).toEqual({ caFile: null });
    expect(c.kafkaSasl).toEqual({ mechanism: 'scram-sha-512', username: 'pg', password: 'pw' });
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'pg' })).toThrow(/^invalid KAFKA_SASL_PASSWORD: required/);
    expect(loadConfig({}).kafkaSasl).toBeNull();
  });

  it('wants a long admin token and never prints it', () => {
    expect(() => loadConfig({ PAIRGUARD_ADMIN_TOKEN: 'short-secret' })).toThrow(/^invalid PAIRGUARD_ADMIN_TOKEN: .*\(got "\*\*\*"\)$/);
    expect(loadConfig({ PAIRGUARD_ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
  });

  it('does not print a Redis password', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@h:1/x' })).toThrow(/\*\*\*/);
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@h:1/x' })).not.toThrow(/hunter2/);
  });
});

describe('Redis Cluster URL', () => {
  it('names a cluster by its seed nodes, with optional credentials and TLS', () => {
    expect(loadConfig({ REDIS_URL: 'redis-cluster://10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }).redisUrl).toMatch(/^redis-cluster:/);
    expect(parseRedisUrl('redis-cluster://10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002/')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }],
      tls: false,
    });
    expect(parseRedisUrl('rediss-cluster://pg:s%40cret@h1:7000')).toEqual({ kind: 'cluster', nodes: [{ host: 'h1', port: 7000 }], username: 'pg', password: 's@cret', tls: true });
    expect(parseRedisUrl('redis-cluster://:pw@h1:7000')).toMatchObject({ password: 'pw' });
    expect(parseRedisUrl('redis-cluster://:pw@h1:7000')).not.toHaveProperty('username');
    expect(parseRedisUrl('redis://h:1/3')).toEqual({ kind: 'server', url: 'redis://h:1/3' });
  });

  it('says what is wrong in one line, without the password', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis-cluster://pg:hunter2@h1:7000,h2' })).toThrow(/^invalid REDIS_URL: each cluster node must be host:port \(got "redis-cluster:\/\/\*\*\*@h1:7000,h2"\)$/);
    expect(() => loadConfig({ REDIS_URL: 'redis-cluster://h1:7000/1' })).toThrow(/^invalid REDIS_URL: a cluster URL is redis-cluster:.*no database/);
    expect(() => loadConfig({ REDIS_URL: 'h1:7000,h2:7001' })).toThrow(/^invalid REDIS_URL: must be redis:.*redis-cluster:/);
  });
});

describe('prefixed topics', () => {
  it('names the six topics after the prefix, as the contract names the defaults', () => {
    expect(loadConfig(prefixedTopicEnv('t1')).topics).toEqual({
      approvals: 't1.approvals', membership: 't1.membership', messages: 't1.messages',
      alerts: 't1.alerts', control: 't1.control', deadLetter: 't1.dead-letter',
    });
  });
});
