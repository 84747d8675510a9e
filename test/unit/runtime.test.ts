/** The suite runs on the Node the package supports: npm scripts take Node 24 from the `node` dev dependency. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('is Node 24 LTS or later, as package.json engines and the Dockerfile say', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(24);
    expect(pkg.devDependencies.node).toMatch(/^\^?24\./);
    expect(readFileSync('Dockerfile', 'utf8').match(/^FROM node:(\d+)/gm)).toEqual(['FROM node:24', 'FROM node:24']);
  });
});
