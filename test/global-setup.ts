/** Builds dist/ and brings up the local Kafka and Redis (reusing running ones) before the integration tests. */
import { startServices, stopServices } from '../scripts/services.js';
import { buildDist } from './support/build.js';

export default async function setup(): Promise<() => Promise<void>> {
  await buildDist();
  const started = await startServices();
  return async () => {
    if (started.startedKafka || started.startedRedis) await stopServices();
  };
}
