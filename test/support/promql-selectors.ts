/** The series selectors of a PromQL expression and their label matchers, read with Prometheus's own grammar. */
import { parser } from '@prometheus-io/lezer-promql';

export interface LabelMatcher {
  label: string;
  op: string;
  value: string;
}

export interface VectorSelector {
  /** The selector as written, e.g. `up{job="pairguard"}`. */
  text: string;
  metric: string;
  matchers: LabelMatcher[];
}

/** Every vector selector in `expr`; throws on a syntax error. */
export function vectorSelectors(expr: string): VectorSelector[] {
  const found: VectorSelector[] = [];
  let error: number | null = null;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      const matchers: LabelMatcher[] = [];
      for (const m of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const part = (name: string) => {
          const c = m.getChild(name);
          return c ? expr.slice(c.from, c.to) : '';
        };
        matchers.push({
          label: part('LabelName'),
          op: part('MatchOp'),
          value: JSON.parse(part('StringLiteral')) as string,
        });
      }
      found.push({ text: expr.slice(node.from, node.to), metric: id ? expr.slice(id.from, id.to) : '', matchers });
    },
  });
  if (error !== null) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return found;
}
