/**
 * A tenant configuration as a document (YAML, or JSON, which is YAML too): parsed and
 * validated, every problem with its path and line, e.g.
 * `rules.3.set.securityRole (line 42): "VOB worker" is not one of …`. Pure: callers read files.
 */
import { isNode, LineCounter, parseDocument } from 'yaml';
import { validateTenantConfig, type TenantConfig } from './tenant-config';

export interface DocumentResult {
  /** The parsed document, when it is well-formed YAML/JSON. */
  input?: unknown;
  /** The validated configuration, when there are no problems. */
  config?: TenantConfig;
  problems: string[];
  /** Of a valid configuration: rules that can never change anything (domain/policy-warnings.ts), with path and line. */
  warnings: string[];
}

export function parseTenantConfigDocument(text: string): DocumentResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      warnings: [],
      problems: doc.errors.map(
        (e) => `${e.linePos ? `line ${e.linePos[0].line}` : '(document)'}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      ),
    };
  }
  const input = doc.toJS() ?? {};
  const result = validateTenantConfig(input);
  const lineOf = (path: (string | number)[]): number | undefined => {
    // The node at the path, or the nearest ancestor present (a missing key is reported where its parent is).
    for (let n = path.length; n >= 0; n -= 1) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const format = (p: { path: (string | number)[]; message: string }) => {
    const line = lineOf(p.path);
    return `${p.path.join('.') || '(root)'}${line !== undefined ? ` (line ${line})` : ''}: ${p.message}`;
  };
  if (result.ok) return { input, config: result.config, problems: [], warnings: result.warnings.map(format) };
  return { input, problems: result.problems.map(format), warnings: [] };
}
