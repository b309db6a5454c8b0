// Adds or removes one model entry of config.yaml's text, leaving every other byte as it was
// (comments, blank lines, quoting): the yaml Document API finds where the entry goes or is, and
// only that span of text changes. A file without a block `Local-Models:` mapping is rewritten
// through the Document itself (comments kept, layout normalised).
import { isMap, isScalar, parseDocument, stringify, type Pair, type YAMLMap } from 'yaml';

const MODELS = 'Local-Models';

/** `text` with `entry` added as Local-Models.<name> (after the last model). */
export function addModelEntry(text: string, name: string, entry: Record<string, unknown>): string {
  const doc = parseDocument(text);
  const models = doc.get(MODELS, true);
  if (isMap(models) && !models.flow && models.items.length > 0 && models.range) {
    const last = models.items.at(-1) as Pair;
    const end = nodeEnd(last);
    if (end !== null) {
      const keyStart = (last.key as { range?: [number, number, number] }).range?.[0];
      const indent = keyStart === undefined ? '  ' : text.slice(lineStart(text, keyStart), keyStart);
      const at = lineEnd(text, end);
      const before = text.slice(0, at);
      const block = entryText(name, entry, indent);
      return `${before}${before.endsWith('\n') ? '' : '\n'}${block}${text.slice(at)}`;
    }
  }
  // No block mapping to append to (none, empty, or written as {}): the Document rewrites it.
  if (!isMap(models)) doc.set(MODELS, doc.createNode({}));
  const map = doc.get(MODELS, true) as YAMLMap;
  map.flow = false;
  map.set(doc.createNode(name), doc.createNode(entry, { flow: false }));
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** `text` without Local-Models.<name> (and the comment lines right above it); null when there is no such entry. */
export function removeModelEntry(text: string, name: string): string | null {
  const doc = parseDocument(text);
  const models = doc.get(MODELS, true);
  if (!isMap(models)) return null;
  const pair = models.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === name) as Pair | undefined;
  if (!pair) return null;
  const keyRange = (pair.key as { range?: [number, number, number] }).range;
  const end = nodeEnd(pair);
  if (models.flow || !keyRange || end === null) {
    doc.deleteIn([MODELS, name]);
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
  let start = lineStart(text, keyRange[0]);
  // Comment lines directly above the key describe it: they go with it.
  const indent = text.slice(start, keyRange[0]);
  while (start > 0) {
    const prev = lineStart(text, start - 1);
    const line = text.slice(prev, start - 1);
    if (!line.startsWith(`${indent}#`)) break;
    start = prev;
  }
  return text.slice(0, start) + text.slice(lineEnd(text, end));
}

/** The entry as block YAML, indented like its siblings. */
export function entryText(name: string, entry: Record<string, unknown>, indent = '  '): string {
  const yaml = stringify({ [name]: entry }, { lineWidth: 0, flowCollectionPadding: false });
  return yaml
    .split('\n')
    .map((line) => (line === '' ? line : indent + line))
    .join('\n');
}

/** Where a pair's value ends in the text (its last content character). */
function nodeEnd(pair: Pair): number | null {
  const value = pair.value as { range?: [number, number, number] } | null;
  const key = pair.key as { range?: [number, number, number] } | null;
  return value?.range?.[1] ?? key?.range?.[1] ?? null;
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

/** Just past the newline ending the line `at` is on (or the end of the text). */
function lineEnd(text: string, at: number): number {
  // A value's range may end just past its newline already.
  if (at > 0 && text[at - 1] === '\n') return at;
  const nl = text.indexOf('\n', at);
  return nl === -1 ? text.length : nl + 1;
}
