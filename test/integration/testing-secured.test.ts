/**
 * `pairguard/testing` on a secured cluster (a private broker with a SASL_SSL listener and an SSL
 * listener that requires a client certificate): its `tls` and `sasl` options reach every client it
 * builds (admin, the output tail, replay, the monitor), and a refused secret fails creation with
 * one line naming the setting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPairguardTestEnv } from '../../src/testing/index.js';
import type { PairguardTestEnvOptions } from '../../src/testing/index.js';
import { PrivateBroker, SASL_USERS } from '../support/private-broker.js';

let broker: PrivateBroker;

beforeAll(async () => {
  broker = await PrivateBroker.create({ secured: true });
}, 240_000);

afterAll(async () => {
  await broker?.destroy();
});

async function expectFlawFrozen(opts: PairguardTestEnvOptions): Promise<void> {
  await using env = await createPairguardTestEnv({ ...opts, partitions: 1 });
  await env.startMonitor();
  await env.replay('test/fixtures/flaw-2019.jsonl');
  const [alert] = await env.waitForAlerts({ count: 1 });
  expect(alert).toMatchObject({ chatId: 'group-1', pair: ['bob', 'carol'], action: 'frozen' });
  expect(await env.waitForFreezes({ count: 1 })).toMatchObject([{ chatId: 'group-1', alertId: alert!.alertId }]);
}

describe('pairguard/testing on a secured cluster', () => {
  it('SASL SCRAM-SHA-512 over TLS with a private CA: the 2019 flaw alerted on and frozen', async () => {
    const { saslSsl, certificates } = broker.secured!;
    await expectFlawFrozen({
      brokers: [saslSsl],
      tls: { caFile: certificates.caFile },
      sasl: { mechanism: 'scram-sha-512', username: 'pairguard', password: SASL_USERS.pairguard },
    });
  });

  it('mTLS with a client certificate and key: the 2019 flaw alerted on and frozen', async () => {
    const { mtls, certificates: c } = broker.secured!;
    await expectFlawFrozen({
      brokers: [mtls],
      tls: { caFile: c.caFile, certFile: c.clientCertFile, keyFile: c.clientKeyFile },
    });
  });

  it('a wrong password fails creation within seconds, naming the setting', async () => {
    const { saslSsl, certificates } = broker.secured!;
    const t0 = performance.now();
    await expect(
      createPairguardTestEnv({
        brokers: [saslSsl],
        tls: { caFile: certificates.caFile },
        sasl: { mechanism: 'scram-sha-256', username: 'pairguard', password: 'not-the-password' },
      }),
    ).rejects.toThrow(
      'invalid KAFKA_SASL_PASSWORD: the broker rejected SCRAM-SHA-256 authentication for user "pairguard"',
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('an untrusted broker certificate or a missing client certificate fails creation within the connect timeout, saying why', async () => {
    const { saslSsl, mtls, certificates: c } = broker.secured!;
    const sasl = { mechanism: 'plain', username: 'pairguard', password: SASL_USERS.pairguard } as const;
    let t0 = performance.now();
    await expect(
      createPairguardTestEnv({ brokers: [saslSsl], tls: { caFile: c.otherCaFile }, sasl, connectTimeoutMs: 2_000 }),
    ).rejects.toThrow(
      `pairguard/testing: no Kafka connection to ${saslSsl} within 2000 ms: self-signed certificate in certificate chain`,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
    t0 = performance.now();
    await expect(
      createPairguardTestEnv({ brokers: [mtls], tls: { caFile: c.caFile }, connectTimeoutMs: 2_000 }),
    ).rejects.toThrow(
      /^invalid KAFKA_TLS_CERT_FILE: the broker requires a client certificate and none is set \(TLS alert: bad certificate\)$/,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
