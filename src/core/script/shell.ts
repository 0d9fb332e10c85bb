import path from 'node:path';
import type { Range } from '../lint/findings';
import { LineIndex } from '../parsing/lineIndex';
import { createParser, type SyntaxNode } from '../parsing/treeSitter';

/**
 * A shell word after expansion, one character at a time: `src[i]` is the offset in the script of the character
 * that produced `chars[i]` (a literal in the command, or the text of a variable's assignment), or -1 when the
 * value is not known statically (`$(pwd)`, `$1`, an unset variable without a default). `split[i]` marks
 * characters that came from an unquoted expansion, where the shell splits words on whitespace.
 */
interface Expanded {
  chars: string[];
  src: number[];
  split: boolean[];
  /** Per character: the variables it was expanded through, outermost first. */
  via: string[][];
}

/** One shell word as the launched program receives it. */
export interface Word {
  /** The value, or undefined when part of it is not known statically. */
  text: string | undefined;
  /** Where the characters were written: inside the command, or inside the assignment of the variable it came from. */
  range: Range;
  /** Where the word appears in the command (the `$VAR` for expanded values). */
  useRange: Range;
  /** Variables the value came through, outermost first. */
  vars: string[];
}

export interface VariableDefinition {
  name: string;
  /** Value after expansion; undefined when not known statically. */
  value: string | undefined;
  nameRange: Range;
  /** The value as written (inside the quotes when quoted); empty at the end of `X=`. */
  valueRange: Range;
  /** The whole assignment `X=...`. */
  range: Range;
  exported: boolean;
  /** Inside an if/case/loop/function body: may not run. */
  conditional: boolean;
}

export interface FlagOccurrence {
  /** Without dashes, as written (`tune_llm`, `nproc-per-node`). */
  name: string;
  /** `--tune_llm` (or `--tune_llm` within `--tune_llm=false`). */
  flagRange: Range;
  value?: Word;
  /** `--name=value` in one word. */
  inline: boolean;
  /** The flag word (whole `--a=b` when inline). */
  word: Word;
}

export type LauncherKind = 'torchrun' | 'torch.distributed.run' | 'deepspeed' | 'accelerate' | 'python';

export interface LaunchCommand {
  launcher: LauncherKind;
  /** The launcher word(s): `torchrun`, `python -m torch.distributed.run`, `accelerate launch`. */
  launcherRange: Range;
  /** The whole command, continuation lines included. */
  commandRange: Range;
  /** The training program (`finetune.py`), or the module for `-m` with a plain python launcher. */
  program?: Word;
  launcherFlags: FlagOccurrence[];
  programFlags: FlagOccurrence[];
  /** Variables in force when the command runs (last assignment before it, prefix assignments included). */
  env: ReadonlyMap<string, VariableDefinition>;
}

export interface ShellScript {
  text: string;
  lines: LineIndex;
  /** Every assignment in source order. */
  assignments: VariableDefinition[];
  launches: LaunchCommand[];
  /** Ranges tree-sitter could not parse (the rest of the script is still analysed). */
  syntaxErrors: Range[];
  /** Bash-only constructs (`[[ ]]`, `function name`, `<( )`) that POSIX sh rejects. */
  bashOnly: Range[];
  /** The interpreter the first line names (`bash`, `sh`), if any. */
  shebang?: string;
}

const launcherValueless: Record<LauncherKind, ReadonlySet<string>> = {
  torchrun: new Set(['standalone', 'no_python', 'no-python', 'module', 'm', 'run_path', 'run-path', 'use_env', 'use-env']),
  'torch.distributed.run': new Set(['standalone', 'no_python', 'no-python', 'module', 'm', 'run_path', 'run-path', 'use_env', 'use-env']),
  deepspeed: new Set(['no_python', 'module', 'no_local_rank', 'no_ssh_check', 'force_multi', 'save_pid', 'enable_each_rank_log', 'bind_cores_to_rank', 'elastic_training', 'no_ssh', 'autotuning_run']),
  accelerate: new Set(['cpu', 'multi_gpu', 'tpu', 'use_deepspeed', 'use_fsdp', 'use_megatron_lm', 'use_xpu', 'debug', 'quiet', 'q', 'no_python', 'module', 'm', 'same_network', 'rdzv_conf', 'dynamo_use_fullgraph', 'dynamo_use_dynamic', 'enable_cpu_affinity', 'monitor_interval', 'downcast_bf16', 'tpu_use_cluster', 'tpu_use_sudo', 'fsdp_use_orig_params', 'deepspeed_moe_layer_cls_names']),
  python: new Set(['u', 'O', 'OO', 'B', 'E', 's', 'S', 'I', 'q', 'v', 'b', 'd', 'i', 'P']),
};

const wrapperCommands = new Set(['nohup', 'exec', 'time', 'command', 'stdbuf', 'nice']);

class Analyzer {
  readonly lines: LineIndex;
  readonly assignments: VariableDefinition[] = [];
  readonly launches: LaunchCommand[] = [];
  readonly syntaxErrors: Range[] = [];
  readonly bashOnly: Range[] = [];
  /** Values keep their unknown parts, so `"--nnodes $NNODES --nproc $(nproc)"` still yields the known words. */
  private readonly env = new Map<string, { def: VariableDefinition; value: Expanded; elements?: Expanded[] }>();
  /** [start, end) offsets of assignment values, to map expanded words back into them. */
  private readonly valueSpans: Array<[number, number]> = [];

  constructor(readonly text: string) {
    this.lines = new LineIndex(text);
  }

  run(root: SyntaxNode): void {
    this.walk(root, false);
  }

  private walk(node: SyntaxNode, conditional: boolean): void {
    if (node.type === 'ERROR' || node.isMissing) {
      // A missing token at the very end (an unclosed `{`) is zero-length there: keep the widened range inside the text.
      const start = Math.min(node.startIndex, this.text.length);
      this.syntaxErrors.push(this.lines.range(start, Math.min(Math.max(node.endIndex, start + 1), this.text.length)));
    }
    const first = node.child(0);
    if ((node.type === 'test_command' && first?.type === '[[') || (node.type === 'function_definition' && first?.type === 'function') || node.type === 'process_substitution') {
      this.bashOnly.push(this.lines.range(node.startIndex, first && node.type !== 'process_substitution' ? first.endIndex : node.endIndex));
    }
    switch (node.type) {
      case 'variable_assignment':
        this.assign(node, false, conditional);
        return;
      case 'declaration_command':
        this.declaration(node, conditional);
        return;
      case 'command':
        this.command(node, conditional);
        return;
      case 'if_statement':
      case 'case_statement':
      case 'while_statement':
      case 'for_statement':
      case 'c_style_for_statement':
      case 'function_definition':
        for (const child of kids(node)) this.walk(child, true);
        return;
      default:
        for (const child of kids(node)) this.walk(child, conditional);
    }
  }

  private declaration(node: SyntaxNode, conditional: boolean): void {
    const keyword = node.child(0)?.type ?? '';
    const exported = keyword === 'export';
    for (const child of named(node)) {
      if (child.type === 'variable_assignment') this.assign(child, exported, conditional);
      else if (child.type === 'variable_name' && exported) {
        const known = this.env.get(child.text);
        if (known) known.def.exported = true;
      }
    }
  }

  private assign(node: SyntaxNode, exported: boolean, conditional: boolean): VariableDefinition | undefined {
    const nameNode = node.childForFieldName('name') ?? node.namedChild(0);
    if (!nameNode) return undefined;
    const valueNode = node.childForFieldName('value');
    const name = nameNode.text.replace(/\[.*$/, '');
    let value: Expanded;
    let valueStart = node.endIndex;
    let valueEnd = node.endIndex;
    let elements: Expanded[] | undefined;
    if (valueNode?.type === 'array') {
      // ARGS=(--a "b c") and ARGS+=(...): one entry per element; "${ARGS[@]}" expands to these words.
      const appended = kids(node).some((c) => c.type === '+=');
      elements = [...(appended ? (this.env.get(name)?.elements ?? []) : []), ...named(valueNode).map((element) => {
        const [s, e] = innerSpan(element);
        this.valueSpans.push([s, e]);
        return this.expand(element, true);
      })];
      [valueStart, valueEnd] = [valueNode.startIndex + 1, Math.max(valueNode.startIndex + 1, valueNode.endIndex - 1)];
      value = elements[0] ?? { chars: [], src: [], split: [], via: [] };
    } else if (valueNode) {
      value = this.expand(valueNode, true);
      [valueStart, valueEnd] = innerSpan(valueNode);
      this.valueSpans.push([valueStart, valueEnd]);
    } else {
      value = { chars: [], src: [], split: [], via: [] };
    }
    const def: VariableDefinition = {
      name,
      value: elements ? (elements.every(isKnown) ? elements.map((e) => e.chars.join('')).join(' ') : undefined) : isKnown(value) ? value.chars.join('') : undefined,
      nameRange: this.lines.range(nameNode.startIndex, nameNode.endIndex),
      valueRange: this.lines.range(valueStart, valueEnd),
      range: this.lines.range(node.startIndex, node.endIndex),
      exported: exported || (this.env.get(name)?.def.exported ?? false),
      conditional,
    };
    this.assignments.push(def);
    const previous = this.env.get(name);
    // An assignment that may not run (inside if/case/loop) and whose value is unknown, such as `MODEL=$1` in an
    // argument loop, keeps the known default rather than making it unknown.
    if (!(conditional && def.value === undefined && previous?.def.value !== undefined)) {
      this.env.set(name, { def, value, elements });
    }
    return def;
  }

  private command(node: SyntaxNode, conditional: boolean): void {
    const prefixEnv = new Map<string, VariableDefinition>();
    const saved = new Map(this.env);
    for (const child of named(node)) {
      if (child.type === 'variable_assignment') {
        const def = this.assign(child, true, conditional);
        if (def) prefixEnv.set(def.name, def);
      }
    }
    const nameNode = node.childForFieldName('name');
    if (nameNode) {
      const words: Array<{ word: Expanded; node: SyntaxNode }> = [];
      for (const child of named(node)) {
        if (child.type === 'variable_assignment' || child.type === 'file_redirect' || child.type === 'herestring_redirect' || child.type === 'comment') continue;
        for (const word of splitWords(this.expand(child, false))) words.push({ word, node: child });
      }
      this.detectLaunch(node, words);
    }
    // Prefix assignments (`CUDA_VISIBLE_DEVICES=0 torchrun ...`) only apply to that command.
    if (prefixEnv.size && nameNode) {
      this.env.clear();
      for (const [k, v] of saved) this.env.set(k, v);
    }
  }

  private toWord(expanded: Expanded, node: SyntaxNode): Word {
    const useRange = this.lines.range(node.startIndex, node.endIndex);
    const known = isKnown(expanded);
    let range = useRange;
    const sources = expanded.src.filter((x) => x >= 0);
    if (known && sources.length) {
      const min = Math.min(...sources);
      const max = Math.max(...sources);
      const inCommand = min >= node.startIndex && max < node.endIndex;
      const inOneAssignment = this.valueSpans.some(([s, e]) => min >= s && max < e);
      if (inCommand || inOneAssignment) range = this.lines.range(min, max + 1);
    }
    return { text: known ? expanded.chars.join('') : undefined, range, useRange, vars: varsOf(expanded) };
  }

  private detectLaunch(node: SyntaxNode, raw: Array<{ word: Expanded; node: SyntaxNode }>): void {
    let i = 0;
    const textOf = (k: number) => (raw[k] && isKnown(raw[k].word) ? raw[k].word.chars.join('') : undefined);
    while (i < raw.length) {
      const t = textOf(i);
      if (t === 'env') {
        i++;
        while (i < raw.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(textOf(i) ?? '')) i++;
        continue;
      }
      if (t !== undefined && wrapperCommands.has(path.basename(t))) {
        i++;
        continue;
      }
      break;
    }
    const first = textOf(i);
    if (first === undefined) return;
    const base = path.basename(first);
    let launcher: LauncherKind | undefined;
    let launcherEnd = i; // index of the last launcher word
    if (base === 'torchrun') launcher = 'torchrun';
    else if (base === 'deepspeed') launcher = 'deepspeed';
    else if (base === 'accelerate' && textOf(i + 1) === 'launch') {
      launcher = 'accelerate';
      launcherEnd = i + 1;
    } else if (/^python(\d+(\.\d+)?)?$/.test(base)) {
      launcher = 'python';
      // Interpreter options before the program or -m module.
      let k = i + 1;
      while (k < raw.length && /^-[A-Za-z]+$/.test(textOf(k) ?? '') && textOf(k) !== '-m' && textOf(k) !== '-c') k++;
      if (textOf(k) === '-m') {
        const mod = textOf(k + 1);
        if (mod === 'torch.distributed.run' || mod === 'torch.distributed.launch') {
          launcher = 'torch.distributed.run';
          launcherEnd = k + 1;
        } else if (mod === 'accelerate.commands.launch') {
          launcher = 'accelerate';
          launcherEnd = k + 1;
        } else if (mod === 'deepspeed.launcher.runner') {
          launcher = 'deepspeed';
          launcherEnd = k + 1;
        } else {
          // python -m package.train: the module is the program.
          const program = raw[k + 1] ? this.toWord(raw[k + 1].word, raw[k + 1].node) : undefined;
          this.pushLaunch(node, 'python', raw, i, k, [], program, k + 2);
          return;
        }
      } else if (textOf(k) === '-c') {
        return;
      } else {
        launcherEnd = k - 1;
      }
    }
    if (!launcher) return;
    // Launcher options up to the program.
    const launcherFlags: FlagOccurrence[] = [];
    let k = launcherEnd + 1;
    if (launcher !== 'python') {
      while (k < raw.length) {
        const t = textOf(k);
        if (t === undefined) {
          k++;
          continue;
        }
        if (!t.startsWith('-')) break;
        const name = t.replace(/^-+/, '').split('=')[0];
        const inline = t.includes('=');
        const takesValue = !inline && !launcherValueless[launcher].has(name.replace(/-/g, '_')) && !launcherValueless[launcher].has(name);
        const flag = this.flag(raw[k], takesValue && raw[k + 1] ? raw[k + 1] : undefined);
        launcherFlags.push(flag);
        k += takesValue && raw[k + 1] ? 2 : 1;
      }
    }
    const program = raw[k] ? this.toWord(raw[k].word, raw[k].node) : undefined;
    this.pushLaunch(node, launcher, raw, i, launcherEnd, launcherFlags, program, k + 1);
  }

  private pushLaunch(
    node: SyntaxNode,
    launcher: LauncherKind,
    raw: Array<{ word: Expanded; node: SyntaxNode }>,
    first: number,
    launcherEnd: number,
    launcherFlags: FlagOccurrence[],
    program: Word | undefined,
    argsFrom: number,
  ): void {
    const programFlags: FlagOccurrence[] = [];
    for (let k = argsFrom; k < raw.length; k++) {
      const w = raw[k].word;
      if (!isKnown(w)) continue;
      const t = w.chars.join('');
      if (!/^--?[A-Za-z]/.test(t)) continue;
      const next = raw[k + 1];
      const nextText = next && isKnown(next.word) ? next.word.chars.join('') : undefined;
      const nextIsValue = !!next && !t.includes('=') && (next === undefined || nextText === undefined || !/^--?[A-Za-z]/.test(nextText));
      programFlags.push(this.flag(raw[k], nextIsValue ? next : undefined));
      if (nextIsValue) k++;
    }
    const startNode = raw[first].node;
    const endNode = raw[launcherEnd].node;
    const env = new Map<string, VariableDefinition>();
    for (const [name, entry] of this.env) env.set(name, entry.def);
    this.launches.push({
      launcher,
      launcherRange: this.lines.range(startNode.startIndex, endNode.endIndex),
      commandRange: this.lines.range(node.startIndex, node.endIndex),
      program,
      launcherFlags,
      programFlags,
      env,
    });
  }

  private flag(flagWord: { word: Expanded; node: SyntaxNode }, valueWord: { word: Expanded; node: SyntaxNode } | undefined): FlagOccurrence {
    const w = flagWord.word;
    const t = w.chars.join('');
    const dashes = t.startsWith('--') ? 2 : 1;
    const eq = t.indexOf('=');
    const word = this.toWord(w, flagWord.node);
    if (eq > 0) {
      const nameSlice = slice(w, 0, eq);
      const valueSlice = slice(w, eq + 1, w.chars.length);
      return {
        name: t.slice(dashes, eq),
        flagRange: this.toWord(nameSlice, flagWord.node).range,
        value: this.toWord(valueSlice, flagWord.node),
        inline: true,
        word,
      };
    }
    return {
      name: t.slice(dashes),
      flagRange: word.range,
      value: valueWord ? this.toWord(valueWord.word, valueWord.node) : undefined,
      inline: false,
      word,
    };
  }

  // ----- expansion -----

  private expand(node: SyntaxNode, inAssignment: boolean): Expanded {
    const out: Expanded = { chars: [], src: [], split: [], via: [] };
    this.expandInto(node, out, false, inAssignment);
    return out;
  }

  private literal(out: Expanded, start: number, end: number, mode: 'unquoted' | 'double' | 'raw'): void {
    for (let i = start; i < end; i++) {
      const c = this.text[i];
      if (c === '\\' && mode !== 'raw' && i + 1 < end) {
        const next = this.text[i + 1];
        if (next === '\n') {
          i++;
          continue; // line continuation
        }
        if (mode === 'unquoted' || '"\\$`'.includes(next)) {
          i++;
          push(out, next, i, false);
          continue;
        }
      }
      push(out, c, i, false);
    }
  }

  private unknown(out: Expanded, node: SyntaxNode): void {
    push(out, '\uFFFD', -1, false);
    void node;
  }

  private expandInto(node: SyntaxNode, out: Expanded, quoted: boolean, inAssignment: boolean): void {
    switch (node.type) {
      case 'word':
      case 'number':
      case 'extglob_pattern':
        this.literal(out, node.startIndex, node.endIndex, quoted ? 'double' : 'unquoted');
        return;
      case 'raw_string':
        this.literal(out, node.startIndex + 1, node.endIndex - 1, 'raw');
        return;
      case 'ansi_c_string':
        this.literal(out, node.startIndex + 2, node.endIndex - 1, 'unquoted');
        return;
      case 'string_content':
        this.literal(out, node.startIndex, node.endIndex, 'double');
        return;
      case 'string': {
        let cursor = node.startIndex + 1;
        const end = node.endIndex - 1;
        for (const child of named(node)) {
          if (child.startIndex > cursor) this.literal(out, cursor, child.startIndex, 'double');
          this.expandInto(child, out, true, inAssignment);
          cursor = child.endIndex;
        }
        if (cursor < end) this.literal(out, cursor, end, 'double');
        return;
      }
      case 'concatenation':
      case 'command_name':
        for (const child of kids(node)) this.expandInto(child, out, quoted, inAssignment);
        return;
      case 'simple_expansion': {
        const nameNode = node.namedChild(0);
        this.variable(out, nameNode?.type === 'variable_name' ? nameNode.text : undefined, quoted || inAssignment);
        return;
      }
      case 'expansion':
        this.parameterExpansion(node, out, quoted || inAssignment);
        return;
      default:
        // $(...), $((...)), <(...), globs and anything else: not known statically.
        this.unknown(out, node);
    }
  }

  private variable(out: Expanded, name: string | undefined, quoted: boolean): boolean {
    const entry = name ? this.env.get(name) : undefined;
    if (!name || !entry) {
      push(out, '\uFFFD', -1, false, name ? [name] : []);
      return false;
    }
    const v = entry.value;
    for (let i = 0; i < v.chars.length; i++) push(out, v.chars[i], v.src[i], !quoted, [name, ...v.via[i]]);
    return true;
  }

  /** ${A[@]} / ${A[*]}: every element, each its own word for [@]; ${A[n]}: one element. */
  private arrayExpansion(subscript: SyntaxNode, out: Expanded, quoted: boolean): void {
    const name = named(subscript).find((c) => c.type === 'variable_name')?.text;
    const index = subscript.childForFieldName('index')?.text ?? named(subscript)[1]?.text;
    const entry = name ? this.env.get(name) : undefined;
    const elements = entry?.elements ?? (entry ? [entry.value] : undefined);
    if (!name || !elements || index === undefined) {
      push(out, '\uFFFD', -1, false, name ? [name] : []);
      return;
    }
    const pick = index === '@' || index === '*' ? elements : /^\d+$/.test(index) ? elements.slice(Number(index), Number(index) + 1) : undefined;
    if (!pick) {
      push(out, '\uFFFD', -1, false, [name]);
      return;
    }
    pick.forEach((element, i) => {
      // A word boundary between elements (for "${A[*]}" bash joins with a space into one word instead).
      if (i > 0) push(out, ' ', -1, index === '@' || !quoted, [name]);
      for (let k = 0; k < element.chars.length; k++) push(out, element.chars[k], element.src[k], !quoted, [name, ...element.via[k]]);
    });
  }

  private parameterExpansion(node: SyntaxNode, out: Expanded, quoted: boolean): void {
    const children = kids(node);
    const subscript = children.find((c) => c.type === 'subscript');
    if (subscript && children.length === 3) {
      this.arrayExpansion(subscript, out, quoted);
      return;
    }
    const nameNode = children.find((c) => c.type === 'variable_name');
    const opIndex = children.findIndex((c) => [':-', '-', ':=', '=', ':+', '+', ':?', '?'].includes(c.type));
    if (!nameNode) {
      this.unknown(out, node);
      return;
    }
    const name = nameNode.text;
    if (opIndex < 0) {
      // ${X}; anything fancier (${X#...}, ${#X}, ${X/a/b}) is unknown.
      const plain = children.every((c) => ['${', '}', 'variable_name'].includes(c.type));
      if (plain) this.variable(out, name, quoted);
      else this.unknown(out, node);
      return;
    }
    const op = children[opIndex].type;
    const entry = this.env.get(name);
    const set = !!entry && (op.startsWith(':') ? entry.def.value !== '' : true);
    const useDefault = op === ':-' || op === '-' || op === ':=' || op === '=';
    if ((useDefault && set) || (!useDefault && op.includes('+') && !set)) {
      if (useDefault) this.variable(out, name, quoted);
      return;
    }
    if (op.includes('?')) {
      if (!set) this.unknown(out, node);
      return;
    }
    const closing = children[children.length - 1];
    let cursor = children[opIndex].endIndex;
    const end = closing.type === '}' ? closing.startIndex : node.endIndex;
    const before = out.chars.length;
    for (const child of children.slice(opIndex + 1)) {
      if (child.type === '}') break;
      if (child.startIndex > cursor) this.literal(out, cursor, child.startIndex, quoted ? 'double' : 'unquoted');
      this.expandInto(child, out, quoted, false);
      cursor = child.endIndex;
    }
    if (cursor < end) this.literal(out, cursor, end, quoted ? 'double' : 'unquoted');
    if (!quoted) for (let i = before; i < out.chars.length; i++) out.split[i] = false;
  }
}

function kids(node: SyntaxNode): SyntaxNode[] {
  return node.children.filter((c): c is SyntaxNode => c !== null);
}

function named(node: SyntaxNode): SyntaxNode[] {
  return node.namedChildren.filter((c): c is SyntaxNode => c !== null);
}

function push(out: Expanded, c: string, src: number, split: boolean, via: string[] = []): void {
  out.chars.push(c);
  out.src.push(src);
  out.split.push(split);
  out.via.push(via);
}

function varsOf(e: Expanded): string[] {
  return [...new Set(e.via.flat())];
}

/** Unknown parts are marked with U+FFFD (source -1); a joining space of "${A[*]}" also has no source but is known. */
function isKnown(e: Expanded): boolean {
  return !e.chars.includes('\uFFFD');
}

function slice(e: Expanded, start: number, end: number): Expanded {
  return { chars: e.chars.slice(start, end), src: e.src.slice(start, end), split: e.split.slice(start, end), via: e.via.slice(start, end) };
}

/** Word splitting of unquoted expansions on blanks (default IFS). An empty unquoted expansion yields no word. */
function splitWords(e: Expanded): Expanded[] {
  const words: Expanded[] = [];
  let current: Expanded = { chars: [], src: [], split: [], via: [] };
  let sawQuotedOrLiteral = false;
  for (let i = 0; i < e.chars.length; i++) {
    if (e.split[i] && /\s/.test(e.chars[i])) {
      if (current.chars.length) words.push(current);
      current = { chars: [], src: [], split: [], via: [] };
      continue;
    }
    if (!e.split[i]) sawQuotedOrLiteral = true;
    push(current, e.chars[i], e.src[i], e.split[i], e.via[i]);
  }
  if (current.chars.length || (words.length === 0 && sawQuotedOrLiteral)) words.push(current);
  return words;
}

/** Offsets of a value node without its quotes. */
function innerSpan(node: SyntaxNode): [number, number] {
  if (node.type === 'string' || node.type === 'raw_string') return [node.startIndex + 1, Math.max(node.startIndex + 1, node.endIndex - 1)];
  return [node.startIndex, node.endIndex];
}

/** Parses a shell script with tree-sitter-bash and resolves its variables and launch commands. */
export async function parseShellScript(text: string): Promise<ShellScript> {
  const parser = await createParser('bash');
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree for the shell script');
  try {
    const analyzer = new Analyzer(text);
    analyzer.run(tree.rootNode);
    const shebang = /^#!\s*(?:\S*\/)?(?:env\s+)?(\w+)/.exec(text)?.[1];
    return { text, lines: analyzer.lines, assignments: analyzer.assignments, launches: analyzer.launches, syntaxErrors: analyzer.syntaxErrors, bashOnly: analyzer.bashOnly, shebang };
  } finally {
    tree.delete();
    parser.delete();
  }
}

/** The last assignment of a variable before a launch (or anywhere when no launch is given). */
export function variableAt(script: ShellScript, name: string, launch?: LaunchCommand): VariableDefinition | undefined {
  if (launch) return launch.env.get(name);
  return [...script.assignments].reverse().find((a) => a.name === name);
}

/** Normalised flag name: HfArgumentParser accepts `--tune-llm` for `tune_llm`. */
export function flagKey(name: string): string {
  return name.replace(/-/g, '_');
}

/** The last occurrence of a flag (argparse keeps the last one). */
export function lastFlag(flags: readonly FlagOccurrence[], key: string): FlagOccurrence | undefined {
  for (let i = flags.length - 1; i >= 0; i--) if (flagKey(flags[i].name) === key) return flags[i];
  return undefined;
}
