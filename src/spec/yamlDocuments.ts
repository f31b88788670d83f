/**
 * YAML text -> plain JS documents, keeping the exact source text of every number so quantities
 * like `cpu: 0.5` or `memory: 1e3` are parsed exactly (never through a float) and integers can be
 * told apart from `3.0`. Syntax errors become SpecIssues with line and column.
 */
import { parseAllDocuments, isScalar, visit, type Document } from "yaml";
import type { SpecIssue } from "./specError";

/** A YAML number as written (`0.5`, `1e3`, `3`), with the value YAML gave it. */
export class NumericLiteral {
  constructor(
    readonly source: string,
    readonly value: number,
  ) {}
  toString(): string {
    return this.source;
  }
}

export interface YamlDocument {
  index: number;
  /** Plain data: objects, arrays, strings, booleans, null and NumericLiteral for numbers. */
  data: unknown;
}

// merge: Kubernetes (go-yaml) honours `<<` merge keys, so we do too
const PARSE_OPTIONS = { uniqueKeys: true, prettyErrors: true, strict: true, merge: true, maxAliasCount: 100 } as const;

/**
 * Parses one or many YAML documents. Empty documents (e.g. a trailing `---`) are skipped but keep
 * their index. Returns the documents and every syntax problem found.
 * @example parseYamlDocuments("a: 1\n---\nb: 0.5\n").documents[1].data // { b: NumericLiteral("0.5") }
 */
export function parseYamlDocuments(text: string, indexOffset = 0): { documents: YamlDocument[]; issues: SpecIssue[] } {
  const documents: YamlDocument[] = [];
  const issues: SpecIssue[] = [];
  const parsed = parseAllDocuments(text, PARSE_OPTIONS);
  const list: Document[] = [...parsed];
  list.forEach((doc, i) => {
    const index = i + indexOffset;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push({ document: index, path: "", message: `malformed YAML: ${oneLine(e.message)}` });
      return;
    }
    if (doc.contents === null) return;
    try {
      keepNumberSources(doc);
      documents.push({ index, data: doc.toJS({ maxAliasCount: 100 }) });
    } catch (e) {
      issues.push({ document: index, path: "", message: `malformed YAML: ${oneLine((e as Error).message)}` });
    }
  });
  return { documents, issues };
}

/** Replaces number scalars by NumericLiteral (values) or their source string (map keys). */
function keepNumberSources(doc: Document): void {
  visit(doc, {
    Scalar(key, node) {
      if (typeof node.value !== "number" && typeof node.value !== "bigint") return;
      const source = node.source ?? String(node.value);
      if (key === "key") node.value = source;
      else node.value = new NumericLiteral(source, Number(node.value));
    },
    Pair(_key, pair) {
      // keys must be plain scalars: a mapping or sequence as a key has no Kubernetes meaning
      if (pair.key !== null && !isScalar(pair.key)) throw new Error("complex (mapping or sequence) keys are not allowed");
    },
  });
}

function oneLine(message: string): string {
  // yaml's pretty errors add a code excerpt after the first line; keep the first line only
  return message.split("\n")[0].trim().replace(/:$/, "");
}
