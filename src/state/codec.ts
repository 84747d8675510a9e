/**
 * How pairguard's state is written in Redis: the hash fields and the form of every value. The one
 * file that knows them (docs/state-layout.md has the layout); the Lua merges in lua/ read and write
 * the same forms.
 */
import type { FactHistory, Registration, Role, RoleHistory, Switch } from '../policy/timeline.js';
import { NEVER, UNREGISTERED } from '../policy/timeline.js';
import type { WithheldFreeze } from './freeze-breaker.js';
import type { LearnedChat, LearnedFreeze, LearnedUnfreezes, LearningBound, OutputIdentity } from './learned.js';
import type { EpisodeRecord, FreezeRecord, Stored } from './records.js';
import type { AppliedPosition, ChatState } from './store.js';

/** A user's hash: the role history. */
export const ROLE_FIELD = 'r';
/** A chat's decisions hash: the freeze in force (every other field is a pair's open episode). */
export const FROZEN_FIELD = 'frozen';
/** A user's hash: approval fields are this prefix and the contact's id. */
export const APPROVAL_PREFIX = 'a:';

export function approvalField(contactId: string): string {
  return `${APPROVAL_PREFIX}${contactId}`;
}

/**
 * The contact an approval field names, as a string of its own: a slice of the field name would be
 * a V8 sliced string, and every lookup of it in a judgement would compare through the slice.
 */
export function contactOf(field: string): string {
  return Buffer.from(field).toString('utf8', APPROVAL_PREFIX.length);
}

/**
 * A fact history as its switches in stamp order, "at,rank,partition,offset,flag" joined by ";",
 * flag 1 (on) or 0 (off); lua/includes/history-merge.lua merges this form. A value of the form
 * before histories ("on,off,lastOn") still reads, as the switches it remembered.
 */
export function encodeHistory(h: FactHistory): string {
  return h.map((s) => `${s.stamp.join(',')},${s.on ? 1 : 0}`).join(';');
}

export function decodeHistory(s: string | null | undefined): FactHistory {
  if (!s) return NEVER;
  const entries = s.split(';');
  const first = entries[0]!.split(',');
  if (first.length === 3) return legacyToggle(first);
  return entries.map((e) => {
    const [at, rank, partition, offset, flag] = e.split(',');
    return { stamp: [Number(at), Number(rank), Number(partition), Number(offset)] as const, on: flag === '1' };
  });
}

/** "on,off,lastOn" (the latest switch each way, and which was applied last on a tie) as switches. */
function legacyToggle([on, off, last]: string[]): FactHistory {
  const onAt = Number(on) || 0;
  const offAt = Number(off) || 0;
  if (onAt > 0 && onAt === offAt) return [{ stamp: [onAt, 0, 0, 0], on: last === '1' }];
  const switches: Switch[] = [];
  if (onAt > 0) switches.push({ stamp: [onAt, 0, 0, 0], on: true });
  if (offAt > 0) switches.push({ stamp: [offAt, 0, 0, 0], on: false });
  return switches.sort((a, b) => a.stamp[0] - b.stamp[0]);
}

/** A role history as "at,rank,partition,offset,role" joined by ";", role c or a (lua/role.lua merges this form). */
export function encodeRole(r: RoleHistory): string {
  return r.map((x) => `${x.stamp.join(',')},${x.role === 'adult' ? 'a' : 'c'}`).join(';');
}

export function decodeRole(s: string | null | undefined): RoleHistory {
  if (!s) return UNREGISTERED;
  const entries = s.split(';');
  const first = entries[0]!.split(',');
  if (first.length === 4) return legacyRole(first);
  return entries.map((e) => {
    const [at, rank, partition, offset, role] = e.split(',');
    return {
      stamp: [Number(at), Number(rank), Number(partition), Number(offset)] as const,
      role: role === 'a' ? ('adult' as const) : ('child' as const),
    };
  });
}

/** "role,at,prevRole,prevAt" (the latest registration and the one before) as registrations. */
function legacyRole([role, at, prevRole, prevAt]: string[]): RoleHistory {
  const out: Registration[] = [];
  const prev = asRole(prevRole);
  const latest = asRole(role);
  if (prev && Number(prevAt) > 0) out.push({ stamp: [Number(prevAt), 0, 0, 0], role: prev });
  if (latest && Number(at) > 0) out.push({ stamp: [Number(at), 0, 0, 0], role: latest });
  return out;
}

function asRole(s: string | undefined): Role | null {
  return s === 'child' || s === 'adult' ? s : null;
}

/** The applied hash (Keys.applied): `<partition>` → next offset, `t:<partition>` → latest moment applied. */
export const MOMENT_PREFIX = 't:';

export function decodeAppliedPositions(raw: Readonly<Record<string, string>>): Map<number, AppliedPosition> {
  const out = new Map<number, AppliedPosition>();
  for (const [field, value] of Object.entries(raw)) {
    if (field.startsWith(MOMENT_PREFIX)) continue;
    const at = raw[`${MOMENT_PREFIX}${field}`];
    out.set(Number(field), { next: BigInt(value), at: at === undefined ? Number.NEGATIVE_INFINITY : Number(at) });
  }
  return out;
}

/** Episodes and freezes are JSON. */
export function encodeRecord(r: EpisodeRecord | FreezeRecord): string {
  return JSON.stringify(r);
}

export function decodeEpisode(raw: string): Stored<EpisodeRecord> {
  const o = JSON.parse(raw) as Partial<EpisodeRecord>;
  return {
    raw,
    record: {
      alertId: String(o.alertId ?? ''),
      openedAt: Number(o.openedAt ?? 0),
      triggerAt: Number(o.triggerAt ?? 0),
      sent: o.sent === true,
    },
  };
}

export function decodeFreeze(raw: string): Stored<FreezeRecord> {
  const o = JSON.parse(raw) as Partial<FreezeRecord>;
  return {
    raw,
    record: {
      alertId: String(o.alertId ?? ''),
      requestedAt: Number(o.requestedAt ?? 0),
      triggerAt: Number(o.triggerAt ?? 0),
      sent: o.sent === true,
    },
  };
}

type Hash = readonly string[] | Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/** A chat from its members and decisions hashes, as HGETALL gives them (a script's flat list, or an object). */
export function decodeChat(members: Hash, decisions: Hash): ChatState {
  const state: ChatState = { members: new Map(), episodes: new Map(), frozen: null };
  forEachField(members, (u, v) => state.members.set(u, decodeHistory(v)));
  return decodeDecisions(decisions, state);
}

/** A chat's decisions hash into `chat`: the freeze field, and an episode per other field. */
export function decodeDecisions(decisions: Hash, chat: ChatState): ChatState {
  forEachField(decisions, (field, raw) => {
    if (field === FROZEN_FIELD) chat.frozen = decodeFreeze(raw);
    else chat.episodes.set(field, decodeEpisode(raw));
  });
  return chat;
}

function forEachField(hash: Hash, fn: (field: string, value: string) => void): void {
  if (hash instanceof Map) {
    hash.forEach((value, field) => fn(field, value));
  } else if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2) fn(hash[i]!, hash[i + 1]!);
  } else {
    const object = hash as Readonly<Record<string, string>>;
    for (const field of Object.keys(object)) fn(field, object[field]!);
  }
}

/** A withheld freeze's value, as lua/breaker-take.lua writes it: "alertId|at". */
export function decodeWithheld(flat: readonly string[]): WithheldFreeze[] {
  const out: WithheldFreeze[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const sep = flat[i + 1]!.lastIndexOf('|');
    out.push({ chatId: flat[i]!, alertId: flat[i + 1]!.slice(0, sep), at: Number(flat[i + 1]!.slice(sep + 1)) });
  }
  return out.sort((a, b) => a.at - b.at || a.chatId.localeCompare(b.chatId));
}

/**
 * A chat's learned hash (Keys.learnedChat): `a:<alertId>` → "1" for an alert written; for a freeze
 * written, `f:<alertId>` → its control partition, `fo:<alertId>` and `fr:<alertId>` → its offset
 * and `requestedAt` (of its last copy); `uo:<partition>` and `ut:<partition>` → the offset of the
 * last reviewer's unfreeze on that control partition and the latest moment among them. Every
 * number is raised by lua/hash-max.lua, so the record is the same whatever order it is read in.
 */
export const LEARNED_ALERT = 'a:';
export const LEARNED_FREEZE = 'f:';
export const LEARNED_FREEZE_OFFSET = 'fo:';
export const LEARNED_FREEZE_REQUESTED = 'fr:';
export const LEARNED_UNFREEZE_OFFSET = 'uo:';
export const LEARNED_UNFREEZE_AT = 'ut:';
/** The learned record's hash (Keys.learning): the bound, once the record is complete. */
export const BOUND_FIELD = 'bound';

/** The field that says an output was written. */
export function learnedField(o: OutputIdentity): string {
  return `${o.kind === 'alert' ? LEARNED_ALERT : LEARNED_FREEZE}${o.alertId}`;
}

/** A chat's learned hash, as HGETALL gives it; a field of a form not known is skipped. */
export function decodeLearnedChat(hash: Readonly<Record<string, string>>): LearnedChat {
  const freezes = new Map<string, LearnedFreeze>();
  const unfreezes = new Map<number, LearnedUnfreezes>();
  const num = (field: string) => Number(hash[field] ?? Number.NEGATIVE_INFINITY);
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(LEARNED_FREEZE)) {
      const alertId = field.slice(LEARNED_FREEZE.length);
      const offset = hash[`${LEARNED_FREEZE_OFFSET}${alertId}`] ?? '';
      if (!/^\d+$/.test(value) || !/^\d+$/.test(offset)) continue;
      freezes.set(alertId, {
        partition: Number(value),
        offset: BigInt(offset),
        requestedAt: num(`${LEARNED_FREEZE_REQUESTED}${alertId}`),
      });
    } else if (field.startsWith(LEARNED_UNFREEZE_OFFSET) && /^\d+$/.test(value)) {
      const partition = field.slice(LEARNED_UNFREEZE_OFFSET.length);
      unfreezes.set(Number(partition), { offset: BigInt(value), at: num(`${LEARNED_UNFREEZE_AT}${partition}`) });
    }
  }
  return { freezes, unfreezes };
}

/** The bound is JSON. */
export function encodeBound(bound: LearningBound): string {
  return JSON.stringify(bound);
}

export function decodeBound(raw: string | null | undefined): LearningBound | null {
  if (!raw) return null;
  const o = JSON.parse(raw) as Partial<LearningBound>;
  return { learnedAt: Number(o.learnedAt ?? 0), groups: Array.isArray(o.groups) ? o.groups : [] };
}
