/**
 * HTTP endpoints: /metrics (Prometheus text), /healthz (alive: no consumer wedged, see
 * liveness.ts), /readyz (ready to judge, with each consumer's state).
 */
import type { Server } from 'node:http';
import express from 'express';
import type { StateStore } from '../state/store.js';
import { adminRouter } from './admin.js';
import type { Metrics } from './metrics.js';

export interface Health {
  /** Why the monitor is not ready, or null when it is. */
  notReadyReason(): string | null;
  /** Each consumer's state: `running`, `joining`, `stopped: …`, `held: …` or `stalled: …`. */
  consumerStates(): Record<string, string>;
  /** Why the process is wedged (a consumer stalled with records waiting), or null. */
  stalledReason(): string | null;
}

/** Where the server listens. */
export interface Listen {
  /** Bind address: 0.0.0.0 in a container, 127.0.0.1 on a shared host. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
}

export async function startHttp(
  listen: Listen,
  metrics: Metrics,
  health: Health,
  admin?: { token: string; store: StateStore },
): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  if (admin) app.use('/admin', adminRouter(admin.token, admin.store));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const reason = health.stalledReason();
    if (reason) res.status(503).json({ status: 'stalled', reason });
    else res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = health.notReadyReason();
    const consumers = health.consumerStates();
    if (reason) res.status(503).json({ status: 'not-ready', reason, consumers });
    else res.json({ status: 'ready', consumers });
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(listen.port, listen.host, () => resolve(server));
    server.once('error', reject);
  });
}
