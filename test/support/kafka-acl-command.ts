/**
 * Kafka's own `kafka-acls.sh` (org.apache.kafka.tools.AclCommand from kafka-tools), for tests that
 * run the README's ACL commands against a private broker with an authorizer. The jar comes from
 * Maven Central with `mvn`, as the broker jars do, into .services/kafka-tools/libs; its
 * dependencies are among the broker jars `npm run services` installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installKafkaJars } from '../../scripts/services.js';

const VERSION = '4.1.1';
const TOOLS = path.resolve('.services/kafka-tools/libs');
const LIBS = path.resolve('.services/kafka/libs');

/**
 * A directory holding an executable `kafka-acls.sh` that runs AclCommand, to put first on PATH
 * so the README's commands run as written.
 */
export async function kafkaAclsBin(): Promise<string> {
  await installKafkaJars({ log: () => undefined });
  if (!existsSync(path.join(TOOLS, `kafka-tools-${VERSION}.jar`))) {
    mkdirSync(TOOLS, { recursive: true });
    execFileSync(
      'mvn',
      [
        '-B',
        '-q',
        'dependency:copy',
        `-Dartifact=org.apache.kafka:kafka-tools:${VERSION}`,
        `-DoutputDirectory=${TOOLS}`,
      ],
      { stdio: 'pipe', timeout: 300_000 },
    );
  }
  const bin = path.resolve('.services/kafka-tools/bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'kafka-acls.sh'),
    `#!/bin/sh\nexec java -Xmx128m -cp '${TOOLS}/*:${LIBS}/*' org.apache.kafka.tools.AclCommand "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}
