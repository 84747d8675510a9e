/**
 * Topics as platforms write them: every Kafka codec, records from Kafka's own Java client with
 * headers, and topics whose broker config forces a codec (the broker recompresses what it is
 * sent). Each case writes a background of approved friends' chats plus one 2019 flaw, with ids of
 * its own, into one monitor's topics; the flaw must be alerted and frozen, every record judged,
 * nothing dead-lettered. DumpLogSegments proves the batches on disk really are in that codec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLines } from '../../src/cli/replay.js';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import type { CodecName } from '../../src/stream/codecs.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { batchCodecs, fixtureRecords, produceWithJava, recordsOfLines, segmentFile } from '../support/kafka-java.js';

const CODECS: CodecName[] = ['gzip', 'snappy', 'lz4', 'zstd'];

/** `friends` pairs of mutually approved children chatting, then the 2019 flaw; ids unique to `tag`. */
function history(tag: string, friends: number): string[] {
  let n = 0;
  const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 9, 0, s)).toISOString();
  const ev = (type: string, s: number, body: Record<string, unknown>) =>
    JSON.stringify({ type, eventId: `${tag}-${++n}`, occurredAt: at(s), ...body });
  const lines: string[] = [];
  for (let i = 0; i < friends; i++) {
    const [a, b] = [`${tag}-a${i}`, `${tag}-b${i}`];
    lines.push(
      ev('user.registered', 0, { userId: a, role: 'child' }),
      ev('user.registered', 0, { userId: b, role: 'child' }),
    );
    lines.push(ev('contact.approved', 1, { childId: a, contactId: b, approvedBy: `${a}-parent` }));
    lines.push(ev('contact.approved', 1, { childId: b, contactId: a, approvedBy: `${b}-parent` }));
    lines.push(ev('chat.created', 2, { chatId: `${tag}-chat${i}`, createdBy: a, members: [a, b] }));
    lines.push(
      ev('message.sent', 3, {
        chatId: `${tag}-chat${i}`,
        messageId: `${tag}-m${i}`,
        senderId: b,
        text: 'see you at school',
      }),
    );
  }
  const [alice, bob, carol] = [`${tag}-alice`, `${tag}-bob`, `${tag}-carol`];
  for (const u of [alice, bob, carol]) lines.push(ev('user.registered', 0, { userId: u, role: 'child' }));
  for (const [c, k] of [
    [alice, bob],
    [bob, alice],
    [alice, carol],
    [carol, alice],
  ] as const)
    lines.push(ev('contact.approved', 1, { childId: c, contactId: k, approvedBy: `${c}-parent` }));
  lines.push(ev('chat.created', 2, { chatId: `${tag}-group`, createdBy: alice, members: [alice, bob, carol] }));
  lines.push(ev('message.sent', 3, { chatId: `${tag}-group`, messageId: `${tag}-mflaw`, senderId: carol, text: 'hi' }));
  return lines;
}

const FRIENDS = 150;
const RECORDS_PER_CASE = FRIENDS * 6 + 9;

describe('every Kafka codec', () => {
  let env: TestEnv;
  let producerCodec: (topic: string) => Promise<void>;
  let handled = 0;

  beforeAll(async () => {
    // Outputs are written in zstd too, so the monitor's own batches go through the codecs.
    env = await createTestEnv({ env: { KAFKA_OUTPUT_COMPRESSION: 'zstd' } });
    producerCodec = async (codec: string) => {
      await env.admin.alterConfigs({
        validateOnly: false,
        resources: [env.config.topics.approvals, env.config.topics.membership, env.config.topics.messages].map(
          (name) => ({
            type: 2, // ConfigResourceTypes.TOPIC
            name,
            configEntries: [{ name: 'compression.type', value: codec }],
          }),
        ),
      });
    };
    await env.startMonitor();
  });
  afterAll(async () => env?.cleanup());

  async function expectJudged(tag: string) {
    handled += RECORDS_PER_CASE;
    await waitUntilConsumed(env);
    const alerts = (await readTopic<AlertRecord>(env.admin, env.config.topics.alerts)).filter((a) =>
      a.key!.startsWith(`${tag}-`),
    );
    const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control)).filter(
      (f) => f.key === `${tag}-group` && f.value.type === 'chat.freeze',
    );
    expect(alerts.map((a) => [a.key, a.value.pair, a.value.action])).toEqual([
      [`${tag}-group`, [`${tag}-bob`, `${tag}-carol`], 'frozen'],
    ]);
    expect(freezes.map((f) => f.value.alertId)).toEqual([alerts[0]!.value.alertId]);
    const dead = await env.admin.fetchTopicOffsets(env.config.topics.deadLetter);
    expect(dead.reduce((s, p) => s + Number(p.high), 0)).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${env.monitors[0]!.httpPort}/metrics`)).text();
    const total = [
      ...metrics.matchAll(/^pairguard_events_total\{[^}]*outcome="(applied|violation)"[^}]*\} (\d+)$/gm),
    ].reduce((s, m) => s + Number(m[2]), 0);
    expect(total).toBe(handled);
  }

  it.each(CODECS)("judges %s batches written by Kafka's Java client with headers", async (codec) => {
    const tag = `java-${codec}`;
    await producerCodec('producer');
    await produceWithJava(
      env.config.kafkaBrokers.join(','),
      recordsOfLines(history(tag, FRIENDS), env.config.topics, tag),
      { 'compression.type': codec },
    );
    await expectJudged(tag);
    expect(new Set(await batchCodecs(env.config.topics.membership, env.admin))).toContain(codec);
  });

  it.each(CODECS)('judges a topic whose broker config forces %s on uncompressed kafkajs writes', async (codec) => {
    const tag = `forced-${codec}`;
    await producerCodec(codec);
    const before = new Set((await batchCodecs(env.config.topics.approvals, env.admin)).map((c, i) => `${i}:${c}`));
    await replayLines({ kafka: env.kafka, topics: env.config.topics, createPartitions: 0 }, history(tag, FRIENDS));
    await expectJudged(tag);
    const added = (await batchCodecs(env.config.topics.approvals, env.admin)).filter(
      (c, i) => !before.has(`${i}:${c}`),
    );
    expect(added).toContain(codec);
  });

  it('writes its own outputs in the KAFKA_OUTPUT_COMPRESSION codec', async () => {
    const codecs = await batchCodecs(env.config.topics.alerts, env.admin);
    expect(codecs.length).toBeGreaterThan(0);
    expect(new Set(codecs)).toEqual(new Set(['zstd']));
  });
});

/** The first record batch in `codec` of a partition's first segment on the local broker's disk: file, and where its records start. */
async function firstBatchIn(admin: Admin, topic: string, codec: number): Promise<{ file: string; at: number }> {
  const file = await segmentFile(admin, topic);
  const log = readFileSync(file);
  for (let at = 0; at + 61 <= log.length; at += 12 + log.readInt32BE(at + 8)) {
    if ((log.readInt16BE(at + 21) & 0x07) === codec) return { file, at: at + 61 };
  }
  throw new Error(`no batch with codec ${codec} in ${file}`);
}

describe('a record batch that cannot be decoded', () => {
  let env: TestEnv;
  afterAll(async () => env?.cleanup());

  it('holds its consumer, names the topic and reason in readiness and metrics, and judges it once it decodes', async () => {
    env = await createTestEnv({ partitions: 1 });
    await produceWithJava(
      env.config.kafkaBrokers.join(','),
      fixtureRecords('test/fixtures/flaw-2019.jsonl', env.config.topics),
      { 'compression.type': 'zstd' },
    );
    // The batch holding chat.created, damaged on the broker's disk after the broker checked it:
    // its zstd frame no longer starts with the zstd magic number.
    const { file, at } = await firstBatchIn(env.admin, env.config.topics.membership, 4);
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    // The records field is an int32 count, then the compressed bytes: overwrite the frame's magic.
    damaged.writeUInt32BE(0xdeadbeef, at);
    writeFileSync(file, damaged);

    const monitor = await env.startMonitor();
    const url = `http://127.0.0.1:${monitor.httpPort}`;
    const readiness = await waitFor('readiness to name the held batch', async () => {
      const r = await fetch(`${url}/readyz`);
      const body = (await r.json()) as { reason?: string };
      return r.status === 503 && body.reason?.includes('cannot decode') ? body.reason : null;
    });
    expect(readiness).toContain(
      `membership consumer holds at a record batch it cannot decode on ${env.config.topics.membership} (`,
    );
    expect(readiness).toContain('zstd');
    await waitFor('the held gauge', async () =>
      /^pairguard_consumer_held\{consumer="membership"\} 1$/m.test(await (await fetch(`${url}/metrics`)).text()),
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^pairguard_undecodable_batches_total\{consumer="membership",codec="zstd"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^pairguard_consumer_held\{consumer="approvals"\} 0$/m);
    // Held, not skipped: nothing after the batch was judged or committed, no alert written.
    const committed = await env.admin.fetchOffsets({
      groupId: env.config.groupId,
      topics: [env.config.topics.membership],
    });
    expect(committed[0]!.partitions[0]!.offset).toMatch(/^(-1|0)$/);
    expect(await readTopic(env.admin, env.config.topics.alerts)).toEqual([]);

    // The cause goes away (here: the bytes are put back); the next fetch judges the batch.
    writeFileSync(file, original);
    await waitUntilConsumed(env, 90_000);
    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => [a.key, a.value.pair])).toEqual([['group-1', ['bob', 'carol']]]);
    await waitFor('readiness back', async () => (await fetch(`${url}/readyz`)).status === 200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
      /^pairguard_consumer_held\{consumer="membership"\} 0$/m,
    );
  });
});
