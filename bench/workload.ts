/**
 * The benchmark's synthetic platform, shaped like a real one: children in friend clusters whose
 * guardians approved each other once, many chats formed inside each cluster, and most traffic
 * being messages. With the defaults the stream is about 80% messages, 15% membership and 5%
 * approvals; about 1% of chats get a newcomer from another cluster, whom nobody there approved.
 * Deterministic for a seed.
 */
export interface WorkloadOptions {
  /** Events to generate (whole clusters are generated, so slightly more). */
  events: number;
  /** Chat sizes are drawn from [minMembers, maxMembers]. */
  minMembers: number;
  maxMembers: number;
  /** Share of chats that get one unapproved newcomer. */
  violationRate: number;
  seed: number;
  /** Prefix of every id, so runs never collide. */
  tag: string;
  /** occurredAt of the first event (ms); later events are later. */
  start: number;
}

import { Random } from '../src/synthetic/random.js';

type Rec = { key: string; value: string };

export interface Workload {
  approvals: Rec[];
  membership: Rec[];
  messages: Rec[];
  /** Chats that must be frozen. */
  violatingChats: string[];
}

export function generateWorkload(o: WorkloadOptions): Workload {
  const rng = new Random(o.seed);
  const random = () => rng.next();
  const out: Workload = { approvals: [], membership: [], messages: [], violatingChats: [] };
  const clusterSize = Math.max(11, o.maxMembers + 1);
  const approvalsPerCluster = clusterSize * (clusterSize - 1);
  // Membership is three times the approvals, at two membership events per chat.
  const chatsPerCluster = Math.max(1, Math.round((approvalsPerCluster * 3) / 2));
  const messagesPerChat = Math.max(1, Math.round((approvalsPerCluster * 16) / chatsPerCluster));
  let clock = o.start;
  const at = () => new Date(clock++).toISOString();
  let seq = 0;
  const eventId = () => `${o.tag}-e${seq++}`;
  const total = () => out.approvals.length + out.membership.length + out.messages.length;

  for (let k = 0; total() < o.events; k++) {
    const kids = Array.from({ length: clusterSize }, (_, i) => `${o.tag}-k${k}-u${i}`);
    for (const a of kids) {
      for (const b of kids) {
        if (a !== b)
          out.approvals.push({
            key: a,
            value: JSON.stringify({
              type: 'contact.approved',
              eventId: eventId(),
              occurredAt: at(),
              childId: a,
              contactId: b,
              approvedBy: `${a}-parent`,
            }),
          });
      }
    }
    for (let c = 0; c < chatsPerCluster; c++) {
      const chatId = `${o.tag}-k${k}-chat${c}`;
      const size = o.minMembers + Math.floor(random() * (o.maxMembers - o.minMembers + 1));
      const first = Math.floor(random() * clusterSize);
      const members = Array.from({ length: size }, (_, i) => kids[(first + i) % clusterSize]!);
      const violating = random() < o.violationRate;
      const newcomer = violating ? `${o.tag}-k${k + 1}-u0` : members[size - 1]!;
      out.membership.push({
        key: chatId,
        value: JSON.stringify({
          type: 'chat.created',
          eventId: eventId(),
          occurredAt: at(),
          chatId,
          createdBy: members[0],
          members: members.slice(0, Math.max(1, size - 1)),
        }),
      });
      out.membership.push({
        key: chatId,
        value: JSON.stringify({
          type: 'member.added',
          eventId: eventId(),
          occurredAt: at(),
          chatId,
          userId: newcomer,
          addedBy: members[0],
        }),
      });
      if (violating) out.violatingChats.push(chatId);
      for (let m = 0; m < messagesPerChat; m++) {
        const sender = members[Math.floor(random() * (size - 1))]!;
        out.messages.push({
          key: chatId,
          value: JSON.stringify({
            type: 'message.sent',
            eventId: eventId(),
            occurredAt: at(),
            chatId,
            messageId: `${chatId}-m${m}`,
            senderId: sender,
            text: 'see you at the park',
          }),
        });
      }
    }
  }
  return out;
}
