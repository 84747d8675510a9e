/**
 * How pairguard's state is written in Redis: the hash fields and the form of every value. The one
 * file that knows them (docs/state-layout.md has the layout); the Lua merges in lua/ read and write
 * the same forms.
 */
import type { Role, RoleHistory, Toggle } from '../policy/timeline.js';
import { NEVER, UNREGISTERED } from '../policy/timeline.js';
import type { WithheldFreeze } from './freeze-breaker.js';
import type { LearnedChat, LearnedFreeze, LearnedUnfreezes, LearningBound, OutputIdentity } from './learned.js';
import type { EpisodeRecord, FreezeRecord, Stored } from './records.js';
import type { ChatState } from './store.js';

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

/** A toggle as "on,off,lastOn" (lua/includes/toggle-merge.lua merges this form). */
export function encodeToggle(t: Toggle): string {
  return `${t.on},${t.off},${t.lastOn ? 1 : 0}`;
}

export function decodeToggle(s: string | null | undefined): Toggle {
  if (!s) return NEVER;
  const [on, off, last] = s.split(',');
  return { on: Number(on) || 0, off: Number(off) || 0, lastOn: last === '1' };
}

/** A role history as "role,at,prevRole,prevAt" with "" for none (lua/role.lua merges this form). */
export function encodeRole(r: RoleHistory): string {
  return `${r.role ?? ''},${r.at},${r.prevRole ?? ''},${r.prevAt}`;
}

export function decodeRole(s: string | null | undefined): RoleHistory {
  if (!s) return UNREGISTERED;
  const [role, at, prevRole, prevAt] = s.split(',');
  return { role: asRole(role), at: Number(at) || 0, prevRole: asRole(prevRole), prevAt: Number(prevAt) || 0 };
}

function asRole(s: string | undefined): Role | null {
  return s === 'child' || s === 'adult' ? s : null;
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
  forEachField(members, (u, v) => state.members.set(u, decodeToggle(v)));
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
