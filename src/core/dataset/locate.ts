import { findNodeAtLocation, parseTree, type Node, type ParseError } from 'jsonc-parser';
import type { Position, Range } from '../lint/findings';
import type { RawSample } from './splitter';

export type JsonPath = (string | number)[];

/**
 * Maps places inside one sample (a JSON path, a key, a span inside a string value) to file positions. The
 * syntax tree is built lazily with jsonc-parser, so clean samples never pay for it.
 */
export class SampleLocator {
  private tree: Node | undefined | null = null;
  private lineStarts: number[] | undefined;
  readonly parseErrors: ParseError[] = [];

  /** `text` may be a same-length repair of the sample's text (offsets then still match the file). */
  constructor(
    readonly sample: RawSample,
    readonly text: string = sample.text,
  ) {}

  root(): Node | undefined {
    if (this.tree === null) {
      try {
        this.tree = parseTree(this.text, this.parseErrors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
      } catch {
        // jsonc-parser recurses; absurdly deep nesting overflows the stack.
        this.tree = undefined;
      }
    }
    return this.tree;
  }

  /** File position of an offset into the sample text. */
  position(offset: number): Position {
    if (!this.lineStarts) {
      const starts = [0];
      let nl = this.sample.text.indexOf('\n');
      while (nl >= 0) {
        starts.push(nl + 1);
        nl = this.sample.text.indexOf('\n', nl + 1);
      }
      this.lineStarts = starts;
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const base = this.sample.start;
    return lo === 0 ? { line: base.line, character: base.character + offset } : { line: base.line + lo, character: offset - starts[lo]! };
  }

  range(offset: number, length: number): Range {
    return { start: this.position(offset), end: this.position(offset + length) };
  }

  node(path: JsonPath): Node | undefined {
    const root = this.root();
    return root ? findNodeAtLocation(root, path) : undefined;
  }

  /** The node for the path, or its nearest existing ancestor. */
  nearest(path: JsonPath): Node | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n));
      if (node) return node;
    }
    return undefined;
  }

  /** The key node (quoted name) of the property at `path`. */
  keyNode(path: JsonPath): Node | undefined {
    const value = this.node(path);
    const property = value?.parent;
    if (property?.type === 'property') return property.children?.[0];
    return undefined;
  }

  /** Offset in the sample text of the decoded string index `index` inside the string literal `node`. */
  stringOffset(node: Node, index: number): number {
    const raw = this.text;
    let r = node.offset + 1;
    const end = node.offset + node.length - 1;
    for (let d = 0; d < index && r < end; d++) {
      if (raw.charCodeAt(r) === 0x5c) r += raw.charCodeAt(r + 1) === 0x75 ? 6 : 2;
      else r++;
    }
    return r;
  }

  /** Range of the decoded span [from, to) inside the string literal at `path`. */
  stringSpanRange(path: JsonPath, from: number, to: number): Range | undefined {
    const node = this.node(path);
    if (!node || node.type !== 'string') return undefined;
    const a = this.stringOffset(node, from);
    const b = this.stringOffset(node, to);
    return this.range(a, b - a);
  }

  /** Raw offset span in the sample text of the decoded span [from, to) inside the string at `path`. */
  stringSpanOffsets(path: JsonPath, from: number, to: number): [number, number] | undefined {
    const node = this.node(path);
    if (!node || node.type !== 'string') return undefined;
    return [this.stringOffset(node, from), this.stringOffset(node, to)];
  }

  nodeRange(node: Node): Range {
    return this.range(node.offset, node.length);
  }

  sampleStartRange(): Range {
    return { start: this.sample.start, end: this.position(1) };
  }
}
