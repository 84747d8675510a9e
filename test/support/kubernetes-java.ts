/**
 * Kubernetes objects checked against the official Java client's models, generated from the
 * Kubernetes OpenAPI spec (test/support/java/K8sValidate.java). The client jar and Gson come from
 * Maven Central with `mvn`, as the Kafka jars do, into .services/kubernetes/libs; the class is
 * compiled once per source version.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { compileJava } from './javac.js';

/** Kubernetes 1.32's API (client-java 24). */
const ARTIFACTS = ['io.kubernetes:client-java-api:24.0.0', 'com.google.code.gson:gson:2.11.0'];
const LIBS = path.resolve('.services/kubernetes/libs');
const SOURCE = path.resolve('test/support/java/K8sValidate.java');

function installJars(): void {
  mkdirSync(LIBS, { recursive: true });
  for (const artifact of ARTIFACTS) {
    const [, name, version] = artifact.split(':');
    if (existsSync(path.join(LIBS, `${name}-${version}.jar`))) continue;
    execFileSync('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${LIBS}`], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  }
}

function compiled(): string {
  installJars();
  return compileJava(SOURCE, LIBS, '.services/kubernetes');
}

/** `kind` → "ok" or the reason it is invalid, for every object. */
export async function validateKubernetes(
  objects: readonly unknown[],
): Promise<Array<{ kind: string; verdict: string }>> {
  const classes = compiled();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'java',
      ['-Xmx256m', '-cp', `${classes}:${LIBS}/*`, 'K8sValidate'],
      { timeout: 60_000 },
      (err, out, stderr) => {
        // Exit status 1 only says some object is invalid: the lines say which.
        if (err && (err as { code?: number }).code !== 1)
          reject(new Error(`K8sValidate failed: ${err.message}\n${stderr}`));
        else resolve(out);
      },
    );
    child.stdin!.end(JSON.stringify(objects));
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(ok|invalid) (\S+?)(?::\s(.*))?$/.exec(line);
      if (!m) throw new Error(`K8sValidate printed ${JSON.stringify(line)}`);
      return { kind: m[2]!, verdict: m[1] === 'ok' ? 'ok' : m[3]! };
    });
}
