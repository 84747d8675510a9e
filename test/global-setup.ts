/** Brings up the local Kafka and Redis (reusing running ones) before the integration tests. */
import { startServices, stopServices } from '../scripts/services.js';

export default async function setup(): Promise<() => Promise<void>> {
  const started = await startServices();
  return async () => {
    if (started.startedKafka || started.startedRedis) await stopServices();
  };
}
