/** HTTP endpoints: /metrics (Prometheus text), /healthz (alive), /readyz (ready to judge). */
import type { Server } from 'node:http';
import express from 'express';
import type { StateStore } from '../state/store.js';
import { adminRouter } from './admin.js';
import type { Metrics } from './metrics.js';

export interface Readiness {
  /** Why the monitor is not ready, or null when it is. */
  notReadyReason(): string | null;
}

export async function startHttp(port: number, metrics: Metrics, readiness: Readiness, admin?: { token: string; store: StateStore }): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  if (admin) app.use('/admin', adminRouter(admin.token, admin.store));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = readiness.notReadyReason();
    if (reason) res.status(503).json({ status: 'not-ready', reason });
    else res.json({ status: 'ready' });
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(port, '0.0.0.0', () => resolve(server));
    server.once('error', reject);
  });
}
