/**
 * Command-line tools some tests run (promtool, prometheus, amtool, a compose validator). CI must
 * have them — .ci/run installs them — so there a missing tool fails the test that needs it;
 * on a developer's machine the test is skipped, with one line saying what to install.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** The first executable `name` on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** A tool a test file needs. */
export interface Tool {
  /** True when the tests should be skipped: the tool is missing and this is not CI. */
  skip: boolean;
  /** The command (and leading arguments) to run; throws, failing the test, when the tool is missing. */
  command(): string[];
}

function tool(found: string[] | null, what: string, install: string): Tool {
  if (!found && !IN_CI) process.stderr.write(`skipping the tests that need ${what}: not installed (${install})\n`);
  return {
    skip: !found && !IN_CI,
    command() {
      if (!found)
        throw new Error(`${what} is not installed, and CI must run these tests: ${install} (.ci/run does this)`);
      return found;
    },
  };
}

/** A Debian package's binary, e.g. promtool from `prometheus`. */
export function debianTool(binary: string, pkg: string): Tool {
  const file = which(binary);
  return tool(file ? [file] : null, binary, `apt-get install ${pkg}`);
}

/** `docker compose` (v2 plugin) when it works, else Debian's `docker-compose` (v1). */
export function composeTool(): Tool {
  const docker = which('docker');
  if (docker) {
    try {
      execFileSync(docker, ['compose', 'version'], { stdio: 'ignore' });
      return tool([docker, 'compose'], 'docker compose', '');
    } catch {
      // no compose plugin: fall through
    }
  }
  const v1 = which('docker-compose');
  return tool(v1 ? [v1] : null, 'docker compose or docker-compose', 'apt-get install docker-compose');
}

/** Runs a tool, returning its output; a failure shows the tool's own output. */
export function runTool(command: string[], args: string[]): string {
  try {
    return execFileSync(command[0]!, [...command.slice(1), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${[...command, ...args].join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}
