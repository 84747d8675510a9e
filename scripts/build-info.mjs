// Records the git revision beside the compiled code (dist/build-info.json), for
// pairguard_build_info and `pairguard --version`: an installed package or an image has no git
// checkout to ask. PAIRGUARD_REVISION wins (an image build passes it as a build argument, since
// .git is not in the build context); else `git rev-parse`; else "unknown".
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

const revision = process.env.PAIRGUARD_REVISION || gitRevision() || 'unknown';
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify({ revision })}\n`);
