import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_SECRETS, SETTINGS, loadConfig, prefixedTopicEnv } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { parseRedisUrl } from '../../src/state/redis-client.js';
import type { TestCertificates } from '../support/test-certificates.js';
import { makeTestCertificates } from '../support/test-certificates.js';

/** The error loadConfig throws for `env` (fails the test if it throws none). */
function configError(env: Record<string, string>): Error {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return err as Error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

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
        approvals: 'kids.approvals',
        membership: 'kids.membership',
        messages: 'kids.messages',
        alerts: 'pairguard.alerts',
        control: 'kids.chat-control',
        deadLetter: 'pairguard.dead-letter',
      },
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'a:1, b:2',
      REDIS_URL: 'redis://127.0.0.1:6379/3',
      PAIRGUARD_MODE: 'alert-only',
      PAIRGUARD_GROUP_ID: 'g',
      HTTP_PORT: '0',
      TOPIC_APPROVALS: 'ta',
      TOPIC_MEMBERSHIP: 'tm',
      TOPIC_MESSAGES: 'tx',
      TOPIC_ALERTS: 'tl',
      TOPIC_CONTROL: 'tc',
      TOPIC_DEAD_LETTER: 'td',
    });
    expect(c.kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(c.mode).toBe('alert-only');
    expect(c.httpPort).toBe(0);
    expect(c.topics).toEqual({
      approvals: 'ta',
      membership: 'tm',
      messages: 'tx',
      alerts: 'tl',
      control: 'tc',
      deadLetter: 'td',
    });
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
    const c = loadConfig({
      KAFKA_TLS: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'pg',
      KAFKA_SASL_PASSWORD: 'pw',
    });
    expect(c.kafkaTls).toEqual({ caFile: null, ca: null, certFile: null, cert: null, key: null });
    expect(c.kafkaSasl).toEqual({ mechanism: 'scram-sha-512', username: 'pg', password: 'pw' });
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'pg' })).toThrow(
      /^invalid KAFKA_SASL_PASSWORD: required/,
    );
    expect(() => loadConfig({ KAFKA_SASL_USERNAME: 'pg', KAFKA_SASL_PASSWORD: 'pw' })).toThrow(
      /^invalid KAFKA_SASL_MECHANISM: required when/,
    );
    expect(loadConfig({}).kafkaSasl).toBeNull();
    expect(loadConfig({}).kafkaTls).toBeNull();
  });

  it('wants a long admin token and never prints it', () => {
    expect(() => loadConfig({ PAIRGUARD_ADMIN_TOKEN: 'short-secret' })).toThrow(
      /^invalid PAIRGUARD_ADMIN_TOKEN: .*\(got "\*\*\*"\)$/,
    );
    expect(loadConfig({ PAIRGUARD_ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
  });

  it('does not print a Redis password', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@h:1/x' })).toThrow(/\*\*\*/);
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@h:1/x' })).not.toThrow(/hunter2/);
  });
});

describe('Redis Cluster URL', () => {
  it('names a cluster by its seed nodes, with optional credentials and TLS', () => {
    expect(loadConfig({ REDIS_URL: 'redis-cluster://10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }).redisUrl).toMatch(
      /^redis-cluster:/,
    );
    expect(parseRedisUrl('redis-cluster://10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002/')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss-cluster://pg:s%40cret@h1:7000')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'h1', port: 7000 }],
      username: 'pg',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisUrl('redis-cluster://:pw@h1:7000')).toMatchObject({ password: 'pw' });
    expect(parseRedisUrl('redis-cluster://:pw@h1:7000')).not.toHaveProperty('username');
    expect(parseRedisUrl('redis://h:1/3')).toEqual({ kind: 'server', url: 'redis://h:1/3' });
  });

  it('says what is wrong in one line, without the password', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis-cluster://pg:hunter2@h1:7000,h2' })).toThrow(
      /^invalid REDIS_URL: each cluster node must be host:port \(got "redis-cluster:\/\/\*\*\*@h1:7000,h2"\)$/,
    );
    expect(() => loadConfig({ REDIS_URL: 'redis-cluster://h1:7000/1' })).toThrow(
      /^invalid REDIS_URL: a cluster URL is redis-cluster:.*no database/,
    );
    expect(() => loadConfig({ REDIS_URL: 'h1:7000,h2:7001' })).toThrow(
      /^invalid REDIS_URL: must be redis:.*redis-cluster:/,
    );
  });
});

describe('prefixed topics', () => {
  it('names the six topics after the prefix, as the contract names the defaults', () => {
    expect(loadConfig(prefixedTopicEnv('t1')).topics).toEqual({
      approvals: 't1.approvals',
      membership: 't1.membership',
      messages: 't1.messages',
      alerts: 't1.alerts',
      control: 't1.control',
      deadLetter: 't1.dead-letter',
    });
  });
});

describe('secrets from files', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pairguard-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads each secret from <NAME>_FILE, trimmed, as a mounted secret holds it', () => {
    const c = loadConfig({
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME_FILE: file('user', 'pairguard\n'),
      KAFKA_SASL_PASSWORD_FILE: file('password', '  s3cret with spaces inside \r\n'),
      PAIRGUARD_ADMIN_TOKEN_FILE: file('token', `${'t'.repeat(32)}\n`),
      REDIS_URL_FILE: file('redis-url', 'redis://pg:p%40ss@redis.internal:6380/2\n'),
    });
    expect(c.kafkaSasl).toEqual({
      mechanism: 'scram-sha-256',
      username: 'pairguard',
      password: 's3cret with spaces inside',
    });
    expect(c.adminToken).toBe('t'.repeat(32));
    expect(c.redisUrl).toBe('redis://pg:p%40ss@redis.internal:6380/2');
    expect(FILE_SECRETS).toEqual(['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'PAIRGUARD_ADMIN_TOKEN', 'REDIS_URL']);
  });

  it.each(FILE_SECRETS)('refuses %s and %s_FILE together', (name) => {
    expect(
      configError({ [name]: 'x'.repeat(30), [`${name}_FILE`]: file(`both-${name}`, 'y'.repeat(30)) }).message,
    ).toBe(`invalid ${name}_FILE: ${name} is set too; set only one of them`);
  });

  it('names the variable of a file it cannot read, or that is empty', () => {
    const missing = path.join(dir, 'no-such-file');
    expect(configError({ KAFKA_SASL_PASSWORD_FILE: missing }).message).toBe(
      `invalid KAFKA_SASL_PASSWORD_FILE: cannot read ${missing} (ENOENT)`,
    );
    expect(configError({ REDIS_URL_FILE: dir }).message).toBe(`invalid REDIS_URL_FILE: cannot read ${dir} (EISDIR)`);
    const empty = file('empty', ' \n');
    expect(configError({ PAIRGUARD_ADMIN_TOKEN_FILE: empty }).message).toBe(
      `invalid PAIRGUARD_ADMIN_TOKEN_FILE: ${empty} is empty`,
    );
  });

  it('checks a value from a file like the variable, saying where it came from and never printing it', () => {
    const message = configError({ PAIRGUARD_ADMIN_TOKEN_FILE: file('short', 'hunter2-short\n') }).message;
    expect(message).toMatch(
      /^invalid PAIRGUARD_ADMIN_TOKEN \(from PAIRGUARD_ADMIN_TOKEN_FILE\): must be at least 24 characters \(got "\*\*\*"\)$/,
    );
    const redis = configError({ REDIS_URL_FILE: file('bad-url', 'http://pg:hunter2@h:1\n') }).message;
    expect(redis).toMatch(/^invalid REDIS_URL \(from REDIS_URL_FILE\): must be redis:/);
    expect(redis).not.toContain('hunter2');
  });
});

describe('Kafka TLS files', () => {
  let certs: TestCertificates;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pairguard-tls-'));
    certs = makeTestCertificates(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA, the client certificate and its key at load, and implies TLS', () => {
    const c = loadConfig({
      KAFKA_TLS_CA_FILE: certs.caFile,
      KAFKA_TLS_CERT_FILE: certs.clientCertFile,
      KAFKA_TLS_KEY_FILE: certs.clientKeyFile,
    });
    expect(c.kafkaTls).toEqual({
      caFile: certs.caFile,
      ca: readFileSync(certs.caFile, 'utf8'),
      certFile: certs.clientCertFile,
      cert: readFileSync(certs.clientCertFile, 'utf8'),
      key: readFileSync(certs.clientKeyFile, 'utf8'),
    });
    expect(loadConfig({ KAFKA_TLS_CA_FILE: certs.caFile }).kafkaTls).toMatchObject({
      ca: readFileSync(certs.caFile, 'utf8'),
      cert: null,
      key: null,
    });
  });

  it('wants a client certificate and its key together, and matching', () => {
    expect(configError({ KAFKA_TLS_CERT_FILE: certs.clientCertFile }).message).toBe(
      'invalid KAFKA_TLS_KEY_FILE: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE',
    );
    expect(configError({ KAFKA_TLS_KEY_FILE: certs.clientKeyFile }).message).toBe(
      'invalid KAFKA_TLS_CERT_FILE: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE',
    );
    const otherKey = certs.serverKeystoreFile.replace('broker-keystore.pem', 'broker.key');
    expect(configError({ KAFKA_TLS_CERT_FILE: certs.clientCertFile, KAFKA_TLS_KEY_FILE: otherKey }).message).toBe(
      `invalid KAFKA_TLS_KEY_FILE: ${otherKey} is not the key of the certificate in KAFKA_TLS_CERT_FILE`,
    );
  });

  it('names the file that cannot be read or holds no PEM', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(configError({ KAFKA_TLS_CA_FILE: missing }).message).toBe(
      `invalid KAFKA_TLS_CA_FILE: cannot read ${missing} (ENOENT)`,
    );
    expect(configError({ KAFKA_TLS_CA_FILE: certs.clientKeyFile }).message).toBe(
      `invalid KAFKA_TLS_CA_FILE: ${certs.clientKeyFile} holds no PEM certificate`,
    );
    expect(
      configError({ KAFKA_TLS_CERT_FILE: certs.clientKeyFile, KAFKA_TLS_KEY_FILE: certs.clientKeyFile }).message,
    ).toMatch(/^invalid KAFKA_TLS_CERT_FILE: .* holds no PEM certificate$/);
    expect(configError({ KAFKA_TLS_CERT_FILE: certs.clientCertFile, KAFKA_TLS_KEY_FILE: certs.caFile }).message).toBe(
      `invalid KAFKA_TLS_KEY_FILE: ${certs.caFile} holds no unencrypted PEM private key`,
    );
  });
});

describe('README', () => {
  it('lists every setting in its configuration table, and the *_FILE form of every secret', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(SETTINGS).toEqual(
      expect.arrayContaining([
        'KAFKA_BROKERS',
        'KAFKA_CLIENT_ID',
        'KAFKA_OUTPUT_COMPRESSION',
        'KAFKA_TLS_KEY_FILE',
        'PAIRGUARD_ADMIN_TOKEN',
      ]),
    );
    for (const name of SETTINGS) expect(readme, name).toContain(`| \`${name}\` |`);
    for (const name of FILE_SECRETS) expect(readme, `${name}_FILE`).toContain(`\`${name}_FILE\``);
  });
});
