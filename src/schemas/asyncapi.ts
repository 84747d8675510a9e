/**
 * The AsyncAPI 3.0 document of pairguard's topics, built from the same catalogue as the JSON
 * Schemas (json-schemas.ts) and the default topic names, so `npm run schemas` cannot write one
 * that disagrees with the code. Written from pairguard's side: it receives the inputs and the
 * reviewers' unfreezes, and sends alerts, freezes and dead letters.
 */
import { SCHEMA_VERSION } from '../actions/records.js';
import { DEFAULT_TOPICS, TOPIC_SETTINGS, type TopicRole } from '../config.js';
import { RECORD_SCHEMAS, jsonSchemaOf, schemaFileOf, type RecordSchema } from './json-schemas.js';


const CHANNEL_DESCRIPTIONS: Record<TopicRole, string> = {
  approvals: 'Roles and parent approvals, written by the platform.',
  membership: 'Chats and their members, written by the platform.',
  messages: 'Messages in chats, written by the platform; a message text never leaves pairguard.',
  alerts: 'One alert per unapproved pairing per violation episode, written by pairguard.',
  control: "Freeze requests written by pairguard, and the reviewers' unfreezes it reads. Other record types here are ignored.",
  deadLetter: 'Records pairguard could not judge, written by pairguard; each points at the original, which stays on its input topic.',
};

const KAFKA_BINDING = '0.5.0';

/** The AsyncAPI document as a plain object; the caller serializes it (scripts/schemas.ts writes YAML). */
export function asyncApiDocument(): Record<string, unknown> {
  const roles = Object.keys(DEFAULT_TOPICS) as TopicRole[];
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'pairguard',
      // The major is the records' schemaVersion.
      version: `${SCHEMA_VERSION}.0.0`,
      description: [
        'The Kafka topics pairguard reads and writes. Each address is the default topic name; the setting that changes it is in the channel description and in `x-pairguard-setting`.',
        'Values are UTF-8 JSON objects. pairguard reads no headers (records may carry any) and writes none.',
        `Every record pairguard writes carries \`schemaVersion\` (${SCHEMA_VERSION}): within a schemaVersion fields are only ever added, so a consumer must ignore fields it does not know.`,
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: '127.0.0.1:9092',
        protocol: 'kafka',
        description: 'The default; the brokers are set with `KAFKA_BROKERS` (comma list).',
      },
    },
    channels: Object.fromEntries(roles.map((role) => [role, channelOf(role)])),
    operations: Object.fromEntries(operationsOf()),
    components: { messages: Object.fromEntries(RECORD_SCHEMAS.map((r) => [r.name, messageOf(r)])) },
  };
}

function channelOf(role: TopicRole): Record<string, unknown> {
  const address = DEFAULT_TOPICS[role];
  return {
    address,
    description: `${CHANNEL_DESCRIPTIONS[role]} Topic name: \`${TOPIC_SETTINGS[role]}\` (default \`${address}\`).`,
    'x-pairguard-setting': TOPIC_SETTINGS[role],
    messages: Object.fromEntries(RECORD_SCHEMAS.filter((r) => r.topic === role).map((r) => [r.name, { $ref: `#/components/messages/${r.name}` }])),
    bindings: { kafka: { topic: address, bindingVersion: KAFKA_BINDING } },
  };
}

/** One operation per channel and direction: `receiveApprovals`, `sendAlerts`, … */
function operationsOf(): Array<[string, Record<string, unknown>]> {
  const ops = new Map<string, { role: TopicRole; action: RecordSchema['action']; names: string[] }>();
  for (const r of RECORD_SCHEMAS) {
    const opId = `${r.action}${r.topic[0]!.toUpperCase()}${r.topic.slice(1)}`;
    const op = ops.get(opId) ?? { role: r.topic, action: r.action, names: [] };
    op.names.push(r.name);
    ops.set(opId, op);
  }
  return [...ops].map(([opId, op]) => [
    opId,
    {
      action: op.action,
      channel: { $ref: `#/channels/${op.role}` },
      messages: op.names.map((name) => ({ $ref: `#/channels/${op.role}/messages/${name}` })),
    },
  ]);
}

function messageOf(r: RecordSchema): Record<string, unknown> {
  const schema = jsonSchemaOf(r);
  return {
    name: r.name,
    title: schema.title,
    summary: schema.description,
    contentType: 'application/json',
    payload: { $ref: `./${schemaFileOf(r)}` },
    bindings: { kafka: { key: keyOf(r), bindingVersion: KAFKA_BINDING } },
  };
}

function keyOf(r: RecordSchema): Record<string, unknown> {
  if (r.keyField === null) return { type: 'string', description: "The dead record's own key, as it was on its input topic (absent when it had none)." };
  const relied = r.action === 'receive' ? ' pairguard never relies on the key: it judges by the value.' : '';
  return { type: 'string', description: `The value's \`${r.keyField}\`.${relied}` };
}
