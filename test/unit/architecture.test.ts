/**
 * The layout's promises, checked on the imports as written: the rule in src/policy depends on
 * nothing, adapters depend inwards, and no folder imports a folder that imports it back (ESLint's
 * import-x/no-cycle sees files; a cycle through two folders can exist with no file cycle).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve('src');

/** A module's room: its folder under src/, or the file itself for top-level files (config, monitor…). */
function roomOf(file: string): string {
  const rel = path.relative(SRC, file);
  const [first, ...rest] = rel.split(path.sep);
  return rest.length > 0 ? first! : first!.replace(/\.ts$/, '');
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Room → rooms it imports (relative imports only, type imports included). */
function roomGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sources(SRC)) {
    const from = roomOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      if (!target.startsWith(SRC + path.sep)) continue;
      const to = roomOf(target);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** Every cycle's rooms (strongly connected components of more than one room), Tarjan's algorithm. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  const graph = roomGraph();

  it('has no import cycle between rooms (folders of src/ and its top-level files)', () => {
    const explain = cycles(graph).map((c) =>
      c.map((room) => `${room} -> ${[...graph.get(room)!].filter((r) => c.includes(r)).join(', ')}`).join('; '),
    );
    expect(explain).toEqual([]);
  });

  it('keeps the rule pure: src/policy imports nothing else from src', () => {
    expect([...graph.get('policy')!]).toEqual([]);
  });

  it('keeps the core free of its composition: judge, state, stream, events and policy never import the monitor, the CLI or the testing module', () => {
    const outer = ['monitor', 'cli', 'testing', 'index'];
    const core = ['policy', 'events', 'judge', 'state', 'stream'];
    const offending = core.flatMap((room) =>
      [...(graph.get(room) ?? [])].filter((r) => outer.includes(r)).map((r) => `${room} -> ${r}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps the stream layer from reaching into observability: it reports through its events interface', () => {
    expect([...(graph.get('stream') ?? [])]).not.toContain('observability');
  });
});
