/**
 * pairguard on a secured cluster, for real: one private broker with a SASL_SSL listener (PLAIN,
 * SCRAM-SHA-256, SCRAM-SHA-512) and an SSL listener that requires a client certificate, and a
 * private redis-server with a password and a least-privilege ACL user. On each, the monitor
 * judges the 2019 flaw fixture and writes its alert and freeze; a wrong password or an untrusted
 * certificate stops start-up with one line naming the setting to fix.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import { replayFile } from '../../src/cli/replay.js';
import { loadConfig, prefixedTopicEnv } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { Monitor } from '../../src/monitor.js';
import { createLogger } from '../../src/observability/logger.js';
import { createKafka } from '../../src/stream/kafka-client.js';
import type { TestEnv } from '../support/harness.js';
import { REDIS_URL, createTestEnv, readTopic, waitUntilConsumed } from '../support/harness.js';
import { PrivateBroker, SASL_USERS } from '../support/private-broker.js';
import { PrivateRedis } from '../support/private-redis.js';
import { pairguardAclRules } from '../support/redis-acl.js';
import { freePort, runToEnd } from '../support/process.js';

const ACL_PASSWORD = 'acl-user-secret-5e1d';
const ADMIN_TOKEN = 'secured-cluster-admin-token-0123456789';

let broker: PrivateBroker;
let redis: PrivateRedis;
let secrets: string;
let env: TestEnv | null = null;

beforeAll(async () => {
  // The failure cases run the real bin, which runs the compiled CLI.
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  secrets = mkdtempSync(path.join(tmpdir(), 'pairguard-secrets-'));
  [broker, redis] = await Promise.all([
    PrivateBroker.create({ secured: true }),
    PrivateRedis.start({
      persist: false,
      password: 'default-user-secret-93b2',
      users: [{ name: 'pairguard', password: ACL_PASSWORD, rules: pairguardAclRules('pgtest:') }],
    }),
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([broker?.destroy(), redis?.destroy()]);
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** A secret file as a container platform mounts one: the value and a newline. */
function secretFile(name: string, value: string): string {
  const file = path.join(secrets, name);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}

const certs = () => broker.secured!.certificates;
const sasl = (mechanism: string, password: string = SASL_USERS.pairguard) => ({
  KAFKA_BROKERS: broker.secured!.saslSsl,
  KAFKA_TLS_CA_FILE: certs().caFile,
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: 'pairguard',
  KAFKA_SASL_PASSWORD: password,
});
const mtls = () => ({
  KAFKA_BROKERS: broker.secured!.mtls,
  KAFKA_TLS_CA_FILE: certs().caFile,
  KAFKA_TLS_CERT_FILE: certs().clientCertFile,
  KAFKA_TLS_KEY_FILE: certs().clientKeyFile,
});

/**
 * Replays the 2019 flaw with a client built from the monitor's own settings, runs the monitor,
 * and checks its one alert and one freeze (read back over the plaintext listener).
 */
async function expectFlawJudged(vars: Record<string, string>): Promise<TestEnv> {
  env = await createTestEnv({ env: vars, brokers: [broker.brokers] });
  const secured = createKafka(env.config, createLogger('silent'), '-replay');
  await replayFile({
    kafka: secured,
    topics: env.config.topics,
    file: 'test/fixtures/flaw-2019.jsonl',
    createPartitions: 0,
    progress: false,
  });
  await env.startMonitor();
  await waitUntilConsumed(env);
  const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts, env.kafka);
  const control = await readTopic<FreezeCommand>(env.admin, env.config.topics.control, env.kafka);
  expect(alerts.map((a) => [a.key, a.value.type, a.value.pair, a.value.action])).toEqual([
    ['group-1', 'pairing.unapproved', ['bob', 'carol'], 'frozen'],
  ]);
  expect(control.map((c) => [c.key, c.value.type, c.value.alertId])).toEqual([
    ['group-1', 'chat.freeze', alerts[0]!.value.alertId],
  ]);
  return env;
}

/** The message Monitor.start fails with for these settings (they must not let it start). */
async function startFailure(vars: Record<string, string>): Promise<string> {
  const config = loadConfig({
    ...prefixedTopicEnv('never-created'),
    HTTP_PORT: '0',
    REDIS_KEY_PREFIX: 'pgtest:never:',
    ...vars,
  });
  const outcome = await Monitor.start({ config, logger: createLogger('silent') }).then(
    async (m) => {
      await m.stop();
      return null;
    },
    (err: unknown) => err,
  );
  expect(outcome, 'the monitor started').toBeInstanceOf(ConfigError);
  return (outcome as Error).message;
}

/** `pairguard run` with these settings must exit 2 with exactly this one line on stderr. */
async function expectCliRefuses(vars: Record<string, string>, line: string): Promise<void> {
  const base = {
    REDIS_URL,
    REDIS_KEY_PREFIX: 'pgtest:never:',
    LOG_LEVEL: 'fatal',
    ...prefixedTopicEnv('never-created'),
  };
  const result = await runToEnd(['run'], { ...process.env, ...base, HTTP_PORT: String(await freePort()), ...vars });
  expect(result.stderr).toBe(`pairguard: ${line}\n`);
  expect(result.code).toBe(2);
}

describe('Kafka over SASL_SSL and mTLS', () => {
  it.each(['plain', 'scram-sha-256'])('SASL %s over TLS: the 2019 flaw is alerted and frozen', async (mechanism) => {
    await expectFlawJudged(sasl(mechanism));
  });

  it('SASL scram-sha-512 with the username and password from *_FILE secrets', async () => {
    const { KAFKA_SASL_USERNAME: _u, KAFKA_SASL_PASSWORD: _p, ...rest } = sasl('scram-sha-512');
    const e = await expectFlawJudged({
      ...rest,
      KAFKA_SASL_USERNAME_FILE: secretFile('kafka-user', 'pairguard'),
      KAFKA_SASL_PASSWORD_FILE: secretFile('kafka-password', SASL_USERS.pairguard),
    });
    expect(e.config.kafkaSasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'pairguard',
      password: SASL_USERS.pairguard,
    });
  });

  it('mTLS with a client certificate and key: the 2019 flaw is alerted and frozen', async () => {
    await expectFlawJudged(mtls());
  });
});

describe('a wrong secret or an untrusted certificate stops start-up with one line naming the setting', () => {
  it('a wrong SASL password (the real CLI)', async () => {
    await expectCliRefuses(
      sasl('scram-sha-256', 'not-the-password'),
      'invalid KAFKA_SASL_PASSWORD: the broker rejected SCRAM-SHA-256 authentication for user "pairguard"',
    );
  });

  it('a wrong PLAIN password, read from a *_FILE secret', async () => {
    const { KAFKA_SASL_PASSWORD: _p, ...rest } = sasl('plain');
    expect(
      await startFailure({ ...rest, KAFKA_SASL_PASSWORD_FILE: secretFile('wrong-password', SASL_USERS.other) }),
    ).toBe('invalid KAFKA_SASL_PASSWORD: the broker rejected PLAIN authentication for user "pairguard"');
  });

  it('no CA file: the system CAs do not trust the test CA (the real CLI)', async () => {
    const { KAFKA_TLS_CA_FILE: _ca, ...rest } = sasl('scram-sha-512');
    await expectCliRefuses(
      { ...rest, KAFKA_TLS: 'true' },
      "invalid KAFKA_TLS_CA_FILE: the broker's certificate is not trusted by the system CAs (KAFKA_TLS_CA_FILE is not set) (self-signed certificate in certificate chain)",
    );
  });

  it('a CA file of another CA', async () => {
    const other = certs().otherCaFile;
    expect(await startFailure({ ...sasl('scram-sha-512'), KAFKA_TLS_CA_FILE: other })).toBe(
      `invalid KAFKA_TLS_CA_FILE: the broker's certificate is not trusted by the CA in ${other} (self-signed certificate in certificate chain)`,
    );
  });

  it('no client certificate on the mTLS listener', async () => {
    const { KAFKA_TLS_CERT_FILE: _c, KAFKA_TLS_KEY_FILE: _k, ...rest } = mtls();
    expect(await startFailure(rest)).toBe(
      'invalid KAFKA_TLS_CERT_FILE: the broker requires a client certificate and none is set (TLS alert: bad certificate)',
    );
  });
});

describe('Redis with a password and a least-privilege ACL user', () => {
  it('the monitor judges as the ACL user, which can reach nothing outside its prefix and commands', async () => {
    const aclUrl = redis.urlFor('pairguard', ACL_PASSWORD);
    const e = await expectFlawJudged({
      KAFKA_BROKERS: broker.brokers,
      REDIS_URL: aclUrl,
      PAIRGUARD_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const monitor = e.monitors[0]!;
    const chat = await fetch(`http://127.0.0.1:${monitor.httpPort}/admin/chats/group-1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await chat.json()).toMatchObject({ chatId: 'group-1', frozen: { commandWritten: true } });

    const admin = new Redis(redis.url);
    const asUser = new Redis(aclUrl);
    try {
      expect((await admin.keys(`${e.config.redisKeyPrefix}*`)).length).toBeGreaterThan(0);
      await expect(asUser.get('elsewhere:key')).rejects.toThrow(/NOPERM/);
      await expect(asUser.flushall()).rejects.toThrow(/NOPERM/);
      await expect(asUser.keys('*')).rejects.toThrow(/NOPERM/);
      // The keys the monitor wrote, deleted by the default user (the ACL user may not DEL).
      for (const key of await admin.keys(`${e.config.redisKeyPrefix}*`)) await admin.del(key);
    } finally {
      admin.disconnect();
      asUser.disconnect();
    }
  });

  it('a wrong password in REDIS_URL_FILE (the real CLI)', async () => {
    await expectCliRefuses(
      { REDIS_URL: '', REDIS_URL_FILE: secretFile('redis-url', redis.urlFor('pairguard', 'wrong')) },
      'invalid REDIS_URL: Redis rejected its user and password (WRONGPASS)',
    );
  });

  it('no password for a server that requires one', async () => {
    expect(await startFailure({ REDIS_URL: `redis://127.0.0.1:${redis.port}` })).toBe(
      'invalid REDIS_URL: Redis requires a password and the URL has none (NOAUTH)',
    );
  });
});
