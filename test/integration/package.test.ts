/**
 * pairguard as another project gets it: `npm pack` of this tree, installed into an empty project
 * with nothing but registry packages beside it, then used there: the command, a vitest suite
 * using `pairguard/testing` on the real broker and Redis, the README's jest example, and a type
 * check against the shipped declarations (test/package/consumer/ holds that project's files).
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, topicsWithPrefix } from '../support/harness.js';

const run = promisify(execFile);
const root = process.cwd();
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

// Every command finds this Node first, as a CI job set up with Node 24 would.
const PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
const env = { ...process.env, PATH, npm_config_update_notifier: 'false' };
const sh = (cmd: string, args: string[], cwd: string) => run(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });

/** A Node older than 24 on the machine's PATH (outside any node_modules), if there is one. */
function olderNode(): string | null {
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules'));
  const found = spawnSync('node', ['--version'], { env: { PATH: path.join(delimiter) }, encoding: 'utf8' });
  const major = Number(/^v(\d+)\./.exec(found.stdout ?? '')?.[1]);
  return major && major < 24 ? found.stdout.trim() : null;
}

const revision =
  spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';

let work: string;
let project: string;
let tarball: string;
/** The paths `npm pack` put in the tarball. */
let packed: string[] = [];

/**
 * Packs a copy of this tree, as a fresh clone would be packed: no dist/, so `prepack` builds it
 * from scratch, and this tree's own dist/ (which other tests run) is left alone.
 */
async function pack(): Promise<string> {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  const skip = new Set(['node_modules', '.git', '.services', 'dist', '.scratch', 'coverage']);
  for (const entry of readdirSync(root))
    if (!skip.has(entry)) cpSync(join(root, entry), join(tree, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: tree,
    env: { ...env, PAIRGUARD_REVISION: revision },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info!.files.map((f) => f.path);
  return join(work, info!.filename);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pairguard-package-'));
  tarball = await pack();
  project = join(work, 'consumer');
  cpSync(resolve('test/package/consumer'), project, { recursive: true });
  mkdirSync(join(project, 'fixtures'));
  cpSync('test/fixtures/flaw-2019.jsonl', join(project, 'fixtures/flaw-2019.jsonl'));
  // The versions this project uses, so npm's cache serves them; the registry otherwise (and jest).
  const versionOf = (name: string) =>
    (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  await sh(
    'npm',
    [
      'install',
      tarball,
      `vitest@${versionOf('vitest')}`,
      `typescript@${versionOf('typescript')}`,
      `@types/node@${versionOf('@types/node')}`,
      'jest@30',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
    ],
    project,
  );
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package, installed from its tarball into an empty project', () => {
  it('holds the build, the on-call files and the schemas, and no sources, tests or install scripts', async () => {
    for (const file of [
      'bin/pairguard.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/cli/main.js',
      'dist/state/lua/membership.lua',
      'dist/build-info.json',
      'schemas/asyncapi.yaml',
      'schemas/pairing.unapproved.schema.json',
      'dashboards/pairguard-oncall.json',
      'prometheus/rules.yml',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'package.json',
    ]) {
      expect(packed).toContain(file);
    }
    expect(
      packed.filter(
        (f) =>
          /^(src|test|bench|scripts)\//.test(f) ||
          /\.(map|tsbuildinfo)$/.test(f) ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/pairguard/package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
      license: string;
    };
    expect(Object.keys(installed.scripts).filter((s) => /^(pre|post)?(install|prepare)$/.test(s))).toEqual([]);
    expect(installed.engines.node).toBe('>=24');
    expect(installed.license).toBe('Apache-2.0');
    // Nor do its dependencies: npm would ask to approve them, and a CI job may not run them.
    const selector = ['install', 'preinstall', 'postinstall']
      .map((s) => `#pairguard :attr(scripts, [${s}])`)
      .join(', ');
    const withScripts = await sh('npm', ['query', selector], project);
    expect((JSON.parse(withScripts.stdout) as Array<{ name: string }>).map((p) => p.name)).toEqual([]);
    // The on-call files and schemas are exported, so a deployment pipeline can locate them.
    const files = [
      'pairguard/prometheus/rules.yml',
      'pairguard/dashboards/pairguard-oncall.json',
      'pairguard/schemas/asyncapi.yaml',
    ];
    const script = `for (const f of ${JSON.stringify(files)}) console.log(fs.readFileSync(new URL(import.meta.resolve(f))).length > 0)`;
    const resolved = await sh('node', ['--input-type=module', '-e', `import fs from 'node:fs'; ${script}`], project);
    expect(resolved.stdout).toBe('true\ntrue\ntrue\n');
  });

  it('runs `npx pairguard --version` and `--help`', async () => {
    const version = await sh('npx', ['--no-install', 'pairguard', '--version'], project);
    expect(version.stdout.trim()).toBe(`pairguard ${manifest.version} (revision ${revision}, node ${process.version})`);
    const help = await sh('npx', ['--no-install', 'pairguard', '--help'], project);
    expect(help.stdout).toMatch(/^Usage: pairguard /);
    for (const command of ['run', 'replay', 'audit', 'export', 'generate'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.skipIf(!olderNode())(`refuses an older Node with one line (${olderNode() ?? 'none on PATH'})`, () => {
    const path = (process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules'));
    const old = spawnSync('node', ['node_modules/pairguard/bin/pairguard.js', '--version'], {
      cwd: project,
      env: { PATH: path.join(delimiter) },
      encoding: 'utf8',
    });
    expect([old.status, old.stdout, old.stderr]).toEqual([
      1,
      '',
      `pairguard needs Node.js 24 or later (this is ${olderNode()})\n`,
    ]);
  });

  it('runs a vitest suite using pairguard/testing on the real broker and Redis: the 2019 flaw alerted on and frozen, then cleaned up', async () => {
    await sh('npx', ['--no-install', 'vitest', 'run', '--reporter=json', '--outputFile=results.json'], project);
    const results = JSON.parse(readFileSync(join(project, 'results.json'), 'utf8')) as {
      numPassedTests: number;
      numTotalTests: number;
      testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }>;
    };
    expect([results.numPassedTests, results.numTotalTests]).toEqual([1, 1]);
    expect(results.testResults[0]!.assertionResults[0]).toMatchObject({
      title: expect.stringMatching(/^alerts on and freezes the 2019 group-chat flaw/),
      status: 'passed',
    });

    const id = readFileSync(join(project, 'env-id.txt'), 'utf8');
    expect(id).toMatch(/^pgt[0-9a-z]+$/);
    expect(await topicsWithPrefix(id)).toEqual([]);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.keys(`pgtest:${id}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('runs the README jest example, in the native ESM mode of jest', async () => {
    await sh('npm', ['run', '--silent', 'test:jest', '--', '--json', '--outputFile=jest-results.json'], project);
    const results = JSON.parse(readFileSync(join(project, 'jest-results.json'), 'utf8')) as {
      numPassedTests: number;
      numTotalTests: number;
    };
    expect([results.numPassedTests, results.numTotalTests]).toEqual([1, 1]);
    expect(await topicsWithPrefix(readFileSync(join(project, 'jest-env-id.txt'), 'utf8'))).toEqual([]);
  });

  it('type-checks a TypeScript file against the shipped declarations', async () => {
    // A second file with one wrong line shows the check has teeth: its error is the only one.
    // No skipLibCheck: the package's own .d.ts files are checked too, with its dependencies' types.
    const api = readFileSync(join(project, 'api.ts'), 'utf8');
    writeFileSync(join(project, 'wrong.ts'), `${api}\nexport const groupId: number = loadConfig({}).groupId;\n`);
    const result = await sh('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], project).then(
      () => ({ stdout: '' }),
      (err: { stdout: string }) => err,
    );
    expect(result.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^wrong\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'\.$/),
    ]);
  });
});
