/**
 * The published schemas (schemas/): committed as the code generates them, true to the records the
 * code builds and the events it decodes, and an AsyncAPI document a real AsyncAPI parser accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/actions/records.js';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../../src/actions/records.js';
import { parseLine } from '../../src/cli/replay.js';
import { DEFAULT_TOPICS, loadConfig, type TopicRole } from '../../src/config.js';
import { decodeControl, decodeInput } from '../../src/events/decode.js';
import type { InputEvent, Stream } from '../../src/events/schema.js';
import { judgeEvent, judgeUnfreeze } from '../../src/judge/judge.js';
import type { JudgeDeps, Mode, Output } from '../../src/judge/judge.js';
import { TOPIC_SETTINGS } from '../../src/config.js';
import { RECORD_SCHEMAS, schemaFileOf, schemaIdOf } from '../../src/schemas/json-schemas.js';
import { deadLetterOf } from '../../src/stream/dead-letter.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { SCHEMAS_DIR, generatedFiles } from '../../scripts/schemas.js';

const FIXTURES = 'test/fixtures';
const limits = { maxValueBytes: 262_144, maxMembers: 1000 };

const ajv = new Ajv2020({ strict: true, allErrors: true });
// The same files read as draft-07 (what AsyncAPI's schema format and most generators speak).
const ajv07 = new Ajv({ strict: true, allErrors: true });
for (const a of [ajv, ajv07]) {
  // A CommonJS module: under NodeNext its default export is the `default` property.
  ajvFormats.default(a);
}
for (const r of RECORD_SCHEMAS) {
  const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, schemaFileOf(r)), 'utf8'));
  ajv.addSchema(schema);
  const { $schema: _dialect, ...as07 } = schema;
  ajv07.addSchema(as07);
}

/** The committed schema of a record, compiled as 2020-12; every verdict is checked to be draft-07's too. */
function validator(name: string) {
  const id = schemaIdOf(RECORD_SCHEMAS.find((s) => s.name === name)!);
  const validate = ajv.getSchema(id)!;
  const validate07 = ajv07.getSchema(id)!;
  const check = (record: unknown): boolean => {
    const verdict = validate(record) as boolean;
    expect(validate07(record), `draft-07 disagrees on ${name}: ${JSON.stringify(record)}`).toBe(verdict);
    return verdict;
  };
  return Object.assign(check, { errors: () => validate.errors });
}

/** Valid as written to Kafka: the record goes through JSON, as the publisher sends it. */
function expectValid(name: string, record: unknown) {
  const validate = validator(name);
  const sent = JSON.parse(JSON.stringify(record));
  expect(validate(sent), `${name}: ${JSON.stringify(validate.errors())}\n${JSON.stringify(record)}`).toBe(true);
}

/** Every line of every fixture, as the raw record `pairguard replay` would write. */
function fixtureRecords() {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(FIXTURES, f), 'utf8')
        .split('\n')
        .flatMap((line, i) => {
          const parsed = parseLine(line, i + 1);
          if (!parsed) return [];
          const { key, value } = parsed.message;
          return [
            {
              where: `${f}:${i + 1}`,
              role: parsed.role,
              value: value === null || value === undefined ? null : Buffer.from(value),
              key: key === null || key === undefined ? null : String(key),
            },
          ];
        }),
    );
}

const asObject = (value: Buffer | null): unknown => {
  try {
    return JSON.parse(value!.toString('utf8'));
  } catch {
    return undefined;
  }
};

describe('the committed schema files', () => {
  it('are exactly what `npm run schemas` generates from the code', () => {
    const generated = generatedFiles();
    expect(readdirSync(SCHEMAS_DIR).sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated)
      expect(readFileSync(join(SCHEMAS_DIR, name), 'utf8'), `schemas/${name} is stale: run npm run schemas`).toBe(text);
  });

  it('name every record once, with a draft 2020-12 $schema, an $id and a title', () => {
    expect(RECORD_SCHEMAS.map((r) => r.name)).toEqual([
      'user.registered',
      'contact.approved',
      'contact.revoked',
      'chat.created',
      'member.added',
      'member.removed',
      'message.sent',
      'chat.unfrozen',
      'freeze-breaker.reset',
      'pairing.unapproved',
      'chat.freeze',
      'dead-letter',
    ]);
    for (const r of RECORD_SCHEMAS) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, schemaFileOf(r)), 'utf8'));
      expect(schema).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: schemaIdOf(r),
        title: expect.stringMatching(/^[A-Z][A-Za-z]+$/),
        type: 'object',
      });
      // Unknown fields are allowed, in inputs (ignored) and outputs (added later): never closed.
      expect(JSON.stringify(schema)).not.toContain('"additionalProperties":false');
      if (r.action === 'send')
        expect(schema.properties.schemaVersion).toEqual(
          expect.objectContaining({ type: 'integer', const: SCHEMA_VERSION }),
        );
      if (r.action === 'send') expect(schema.required).toContain('schemaVersion');
    }
  });
});

describe('input events against their JSON Schemas', () => {
  it('accept every fixture line that pairguard decodes, and reject every fixture object whose fields it refuses', () => {
    let decoded = 0;
    let refused = 0;
    for (const rec of fixtureRecords()) {
      const obj = asObject(rec.value);
      const d =
        rec.role === 'control' ? decodeControl(rec.value, limits) : decodeInput(rec.role as Stream, rec.value, limits);
      if (d && d.ok) {
        decoded++;
        expectValid(d.event.type, obj);
      } else if (d && d.reason === 'invalid-fields') {
        refused++;
        const type = (obj as { type: string }).type;
        expect(validator(type)(obj), `${rec.where} decodes as invalid but its schema accepts it`).toBe(false);
      }
    }
    expect(decoded).toBeGreaterThan(40);
    expect(refused).toBeGreaterThanOrEqual(2);
  });

  const at = '2026-11-21T09:00:00.000Z';
  const good: Record<string, Record<string, unknown>> = {
    'user.registered': { type: 'user.registered', eventId: 'e1', occurredAt: at, userId: 'u', role: 'child' },
    'contact.approved': {
      type: 'contact.approved',
      eventId: 'e2',
      occurredAt: '2026-11-21T10:00:00+01:00',
      childId: 'c',
      contactId: 'k',
      approvedBy: 'g',
    },
    'contact.revoked': { type: 'contact.revoked', eventId: 'e3', occurredAt: at, childId: 'c', contactId: 'k' },
    'chat.created': {
      type: 'chat.created',
      eventId: 'e4',
      occurredAt: at,
      chatId: 'g',
      createdBy: 'a',
      members: ['a', 'b'],
    },
    'member.added': { type: 'member.added', eventId: 'e5', occurredAt: at, chatId: 'g', userId: 'c', addedBy: 'a' },
    'member.removed': { type: 'member.removed', eventId: 'e6', occurredAt: at, chatId: 'g', userId: 'c' },
    'message.sent': {
      type: 'message.sent',
      eventId: 'e7',
      occurredAt: at,
      chatId: 'g',
      messageId: 'm',
      senderId: 'a',
      text: 'hi',
    },
    'chat.unfrozen': { type: 'chat.unfrozen', chatId: 'g', by: 'reviewer', occurredAt: at },
  };
  const decodes = (name: string, obj: unknown) => {
    const value = Buffer.from(JSON.stringify(obj));
    if (name === 'chat.unfrozen') return decodeControl(value, limits)?.ok === true;
    const stream = RECORD_SCHEMAS.find((r) => r.name === name)!.topic as Stream;
    return decodeInput(stream, value, limits).ok;
  };

  it('agree with the decoder on valid events, unknown fields included', () => {
    for (const [name, obj] of Object.entries(good)) {
      for (const o of [obj, { ...obj, addedLater: { any: 'thing' } }]) {
        expect(decodes(name, o), name).toBe(true);
        expectValid(name, o);
      }
    }
  });

  it('agree with the decoder on invalid events: each is rejected by both', () => {
    const broken: Array<[string, Record<string, unknown>]> = [];
    for (const [name, obj] of Object.entries(good)) {
      for (const field of Object.keys(obj)) {
        if (!['approvedBy', 'addedBy', 'text', 'by'].includes(field))
          broken.push([`${name} without ${field}`, omit(obj, field)]);
      }
      broken.push(
        [`${name} with a number for an id`, { ...obj, chatId: 42, userId: 42, childId: 42 }],
        [`${name} with an empty eventId`, { ...obj, eventId: '', chatId: '' }],
        [`${name} with NUL in an id`, { ...obj, eventId: 'a\u0000b', chatId: 'a\u0000b' }],
        [`${name} with an id of 257 characters`, { ...obj, eventId: 'x'.repeat(257), chatId: 'x'.repeat(257) }],
        [`${name} with a date that is no ISO-8601 date-time`, { ...obj, occurredAt: '21/11/2026' }],
        [`${name} without a time zone`, { ...obj, occurredAt: '2026-11-21T09:00:00' }],
      );
    }
    broken.push(
      ['user.registered with role robot', { ...good['user.registered'], role: 'robot' }],
      ['chat.created with no members', { ...good['chat.created'], members: [] }],
      ['chat.created with a number for a member', { ...good['chat.created'], members: ['a', 7] }],
      ['message.sent with text that is no string', { ...good['message.sent'], text: { secret: true } }],
    );
    for (const [what, obj] of broken) {
      const name = what.split(' ')[0]!;
      expect(decodes(name, obj), `decoder accepts ${what}`).toBe(false);
      expect(validator(name)(obj), `schema accepts ${what}`).toBe(false);
    }
    expect(broken.length).toBeGreaterThan(80);
  });

  it('agree with the decoder on random mutations of valid events', () => {
    // ASCII only: JSON Schema counts a string's length in code points, JavaScript in UTF-16 units.
    const anyValue = fc.oneof(
      fc.constantFrom<unknown>(
        undefined,
        null,
        0,
        42,
        -1.5,
        true,
        '',
        'x'.repeat(256),
        'x'.repeat(257),
        'a\u0000b',
        [],
        ['a'],
        ['a', ''],
        {},
        'child',
        'adult',
      ),
      fc.constantFrom(
        '2026-11-21T09:00:00Z',
        '2026-11-21T09:00:00.123+05:30',
        '2026-02-30T09:00:00Z',
        '2026-11-21 09:00:00Z',
        '2026-11-21T24:00:00Z',
      ),
      fc.string({ maxLength: 20 }),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    );
    const mutated = fc.record({
      name: fc.constantFrom(...Object.keys(good)),
      changes: fc.array(
        fc.tuple(
          fc.constantFrom(
            'type',
            'eventId',
            'occurredAt',
            'chatId',
            'userId',
            'childId',
            'contactId',
            'role',
            'members',
            'senderId',
            'messageId',
            'text',
            'by',
            'addedBy',
            'extra',
          ),
          anyValue,
        ),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(mutated, ({ name, changes }) => {
        const obj: Record<string, unknown> = { ...good[name] };
        for (const [field, value] of changes) {
          if (value === undefined) delete obj[field];
          else obj[field] = value;
        }
        expect(validator(name)(obj), `${name}: ${JSON.stringify(obj)}`).toBe(decodes(name, obj));
      }),
      { numRuns: 3000 },
    );
  });
});

/** Judges the decodable events of a fixture in file order, as the monitor would, on an in-memory store. */
async function judgeFixture(file: string, mode: Mode): Promise<{ outputs: Output[]; deps: JudgeDeps }> {
  const deps: JudgeDeps = { store: new MemoryStore(), mode, now: () => Date.parse('2026-11-21T12:00:00.000Z') };
  const outputs: Output[] = [];
  let offset = 0;
  for (const rec of fixtureRecords().filter((r) => r.where.startsWith(`${file}:`))) {
    if (rec.role === 'control') continue;
    const d = decodeInput(rec.role as Stream, rec.value, limits);
    if (!d.ok) continue;
    const event: InputEvent = d.event;
    const j = await judgeEvent(deps, {
      event,
      at: d.at,
      ref: {
        eventId: event.eventId,
        type: event.type,
        topic: DEFAULT_TOPICS[rec.role],
        partition: 0,
        offset: offset++,
      },
    });
    for (const o of j.outputs) if (o.mark) await deps.store.markSent(o.mark);
    outputs.push(...j.outputs);
  }
  return { outputs, deps };
}

const alertsOf = (o: readonly Output[]): AlertRecord[] => o.flatMap((x) => (x.kind === 'alert' ? [x.record] : []));
const freezesOf = (o: readonly Output[]): FreezeCommand[] => o.flatMap((x) => (x.kind === 'freeze' ? [x.record] : []));

/** Every field of a record is one its schema names: the schema documents all that is written. */
function expectOnlyNamedFields(name: string, record: Record<string, unknown>) {
  const r = RECORD_SCHEMAS.find((s) => s.name === name)!;
  const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, schemaFileOf(r)), 'utf8'));
  expect(
    Object.keys(record).filter((k) => !(k in schema.properties)),
    name,
  ).toEqual([]);
}

describe('output records built by the code against their JSON Schemas', () => {
  let enforced: Output[];
  let alertOnly: Output[];
  beforeAll(async () => {
    enforced = [];
    alertOnly = [];
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.jsonl'))) {
      enforced.push(...(await judgeFixture(f, 'enforce')).outputs);
      alertOnly.push(...(await judgeFixture(f, 'alert-only')).outputs);
    }
  });

  it('alerts, frozen and alert-only, are valid and name only schema fields', () => {
    const alerts = [...alertsOf(enforced), ...alertsOf(alertOnly)];
    expect(alerts.length).toBeGreaterThanOrEqual(6);
    expect(new Set(alerts.map((a) => a.action))).toEqual(new Set(['frozen', 'alert-only']));
    for (const a of alerts) {
      expect(a.schemaVersion).toBe(SCHEMA_VERSION);
      expectValid('pairing.unapproved', a);
      expectOnlyNamedFields('pairing.unapproved', a);
    }
  });

  it('freezes, first ones and the one after a reviewer unfroze the chat, are valid', async () => {
    const { deps } = await judgeFixture('flaw-2019.jsonl', 'enforce');
    const unfrozen = await judgeUnfreeze(
      deps,
      { type: 'chat.unfrozen', chatId: 'group-1', occurredAt: '2026-11-21T09:00:05.000Z' },
      Date.parse('2026-11-21T09:00:05.000Z'),
    );
    expect(unfrozen.unfrozen).toBe(true);
    const again = await judgeEvent(deps, {
      event: {
        type: 'member.added',
        eventId: 'later',
        occurredAt: '2026-11-21T09:10:00.000Z',
        chatId: 'group-1',
        userId: 'stranger',
      },
      at: Date.parse('2026-11-21T09:10:00.000Z'),
      ref: { eventId: 'later', type: 'member.added', topic: DEFAULT_TOPICS.membership, partition: 0, offset: 99 },
    });
    const freezes = [...freezesOf(enforced), ...freezesOf(again.outputs)];
    expect(freezesOf(again.outputs)).toHaveLength(1);
    expect(freezesOf(alertOnly)).toEqual([]);
    for (const f of freezes) {
      expect(f.schemaVersion).toBe(SCHEMA_VERSION);
      expectValid('chat.freeze', f);
      expectOnlyNamedFields('chat.freeze', f);
    }
  });

  it('dead letters of every fixture line, of no value and of any bytes are valid', () => {
    const sources = [
      ...fixtureRecords().map((r) => ({ key: r.key === null ? null : Buffer.from(r.key), value: r.value })),
      { key: null, value: null },
      { key: Buffer.from([0xff, 0x00]), value: Buffer.from([0x00, 0xff, 0xfe]) },
      { key: null, value: Buffer.from('{}') },
    ];
    for (const [i, s] of sources.entries()) {
      const dl: DeadLetter = deadLetterOf(
        { topic: DEFAULT_TOPICS.membership, partition: 3, offset: String(i), ...s },
        'invalid-fields: x',
      );
      expect(dl.schemaVersion).toBe(SCHEMA_VERSION);
      expectValid('dead-letter', dl);
      expectOnlyNamedFields('dead-letter', dl);
    }
  });

  it('reject records that break the schema, and accept fields added later', async () => {
    const { outputs } = await judgeFixture('flaw-2019.jsonl', 'enforce');
    const alert = alertsOf(outputs)[0]!;
    const freeze = freezesOf(outputs)[0]!;
    const dead = deadLetterOf(
      { topic: 't', partition: 0, offset: '1', key: null, value: Buffer.from('{"type":"x"}') },
      'unknown-type: x',
    );
    const cases: Array<[string, string, unknown, boolean]> = [
      ['pairing.unapproved', 'a field added later', { ...alert, addedLater: [1, 2] }, true],
      ['pairing.unapproved', 'no schemaVersion', omit(alert, 'schemaVersion'), false],
      ['pairing.unapproved', 'schemaVersion 2', { ...alert, schemaVersion: 2 }, false],
      ['pairing.unapproved', 'a pair of three', { ...alert, pair: ['a', 'b', 'c'] }, false],
      ['pairing.unapproved', 'an alertId that is no hash', { ...alert, alertId: 'x' }, false],
      ['pairing.unapproved', 'an unknown action', { ...alert, action: 'ignored' }, false],
      ['pairing.unapproved', 'no missing approval', { ...alert, missing: [] }, false],
      ['pairing.unapproved', 'a negative offset', { ...alert, trigger: { ...alert.trigger, offset: -1 } }, false],
      ['pairing.unapproved', 'an offset as a string', { ...alert, trigger: { ...alert.trigger, offset: '12' } }, false],
      [
        'pairing.unapproved',
        'a trigger of an unknown type',
        { ...alert, trigger: { ...alert.trigger, type: 'chat.deleted' } },
        false,
      ],
      ['pairing.unapproved', 'a detectedAt that is no date-time', { ...alert, detectedAt: 'now' }, false],
      ['chat.freeze', 'a field added later', { ...freeze, addedLater: 'x' }, true],
      ['chat.freeze', 'another reason', { ...freeze, reason: 'spam' }, false],
      ['chat.freeze', 'no chatId', omit(freeze, 'chatId'), false],
      ['dead-letter', 'a field added later', { ...dead, addedLater: true }, true],
      ['dead-letter', 'a value that is no base64', { ...dead, value: 'not base64!' }, false],
      ['dead-letter', 'no valueSha256', omit(dead, 'valueSha256'), false],
      ['dead-letter', 'a fractional offset', { ...dead, offset: 1.5 }, false],
      ['dead-letter', 'a missing key instead of null', omit(dead, 'key'), false],
    ];
    for (const [name, what, record, valid] of cases)
      expect(validator(name)(record), `${name} with ${what}`).toBe(valid);
  });
});

describe('schemas/asyncapi.yaml', () => {
  const file = join(SCHEMAS_DIR, 'asyncapi.yaml');

  it('parses with the AsyncAPI parser with no error or warning, its payloads resolved to the schema files', async () => {
    const { document, diagnostics } = await fromFile(new Parser(), file).parse();
    const serious = diagnostics.filter(
      (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    );
    expect(serious.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
    expect(document!.info().version()).toBe(`${SCHEMA_VERSION}.0.0`);

    const channels = Object.fromEntries(
      document!
        .channels()
        .all()
        .map((c) => [c.id(), c]),
    );
    expect(Object.keys(channels).sort()).toEqual(Object.keys(DEFAULT_TOPICS).sort());
    for (const [role, topic] of Object.entries(DEFAULT_TOPICS) as Array<[TopicRole, string]>) {
      const c = channels[role]!;
      expect(c.address()).toBe(topic);
      expect(c.bindings().get('kafka')?.value()).toMatchObject({ topic });
      expect(c.extensions().get('x-pairguard-setting')?.value()).toBe(TOPIC_SETTINGS[role]);
      expect(c.description()).toContain(TOPIC_SETTINGS[role]);
      const names = c
        .messages()
        .all()
        .map((m) => m.name());
      expect(names.sort()).toEqual(
        RECORD_SCHEMAS.filter((r) => r.topic === role)
          .map((r) => r.name)
          .sort(),
      );
    }

    for (const m of document!.messages().all()) {
      const r = RECORD_SCHEMAS.find((s) => s.name === m.name())!;
      expect(m.payload()?.json()).toMatchObject({ $id: schemaIdOf(r), title: m.title() });
      expect(m.hasHeaders()).toBe(false);
      const key = m.bindings().get('kafka')?.value().key;
      expect(key.description).toContain(r.keyField === null ? "dead record's own key" : `\`${r.keyField}\``);
    }
  });

  it('has pairguard receive the inputs and unfreezes, and send alerts, freezes and dead letters', async () => {
    const { document } = await fromFile(new Parser(), file).parse();
    const ops = document!
      .operations()
      .all()
      .map(
        (o) =>
          `${o.action()} ${o.channels().all()[0]!.id()}: ${o
            .messages()
            .all()
            .map((m) => m.name())
            .join(',')}`,
      );
    expect(ops.sort()).toEqual([
      'receive approvals: user.registered,contact.approved,contact.revoked',
      'receive control: chat.unfrozen,freeze-breaker.reset',
      'receive membership: chat.created,member.added,member.removed',
      'receive messages: message.sent',
      'send alerts: pairing.unapproved',
      'send control: chat.freeze',
      'send deadLetter: dead-letter',
    ]);
  });

  it('names the settings that really rename each topic', () => {
    for (const [role, setting] of Object.entries(TOPIC_SETTINGS) as Array<[TopicRole, string]>) {
      expect(loadConfig({ [setting]: `renamed.${role}` }).topics[role], setting).toBe(`renamed.${role}`);
    }
  });

  it('is checked for real: a document that breaks AsyncAPI gets error diagnostics', async () => {
    const text = readFileSync(file, 'utf8')
      .replace('action: send', 'action: publish')
      .replace('./chat.freeze.schema.json', './no-such.schema.json');
    const { diagnostics } = await new Parser().parse(text, { source: file });
    expect(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length).toBeGreaterThanOrEqual(2);
  });
});

function omit(obj: object, field: string): Record<string, unknown> {
  const { [field]: _dropped, ...rest } = obj as Record<string, unknown>;
  return rest;
}
