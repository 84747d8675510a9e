/**
 * Admin endpoints for on-call investigation. They show user and chat ids, so they exist only when
 * PAIRGUARD_ADMIN_TOKEN is set, and every request must carry `Authorization: Bearer <token>`.
 *
 *   GET /admin/chats/:chatId   a chat's members now, its open violation episodes, its freeze
 */
import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { parsePairKey } from '../policy/pairing.js';
import { holdsAt } from '../policy/timeline.js';
import type { StateStore } from '../state/store.js';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function adminRouter(token: string, store: StateStore): Router {
  const router = Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!given || !sameSecret(given, token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'a valid bearer token is required' });
      return;
    }
    next();
  });
  router.get('/chats/:chatId', async (req: Request<{ chatId: string }>, res: Response, next: NextFunction) => {
    try {
      const chat = await store.readChat(req.params.chatId);
      res.json({
        chatId: req.params.chatId,
        members: [...chat.members]
          .filter(([, t]) => holdsAt(t, Infinity))
          .map(([u]) => u)
          .sort(),
        openEpisodes: [...chat.episodes].map(([key, e]) => ({
          pair: parsePairKey(key),
          alertId: e.record.alertId,
          openedAt: new Date(e.record.openedAt).toISOString(),
          alertWritten: e.record.sent,
        })),
        frozen: chat.frozen
          ? {
              alertId: chat.frozen.record.alertId,
              requestedAt: new Date(chat.frozen.record.requestedAt).toISOString(),
              commandWritten: chat.frozen.record.sent,
            }
          : null,
      });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
