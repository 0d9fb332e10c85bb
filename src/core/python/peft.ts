import path from 'node:path';
import type { FixableFinding } from '../lint/fixes';
import type { LineIndex } from '../parsing/lineIndex';
import { walkTree, type SyntaxNode } from '../parsing/treeSitter';
import { nearestRequirement, rangeMeets, type Requirement } from './requirements';
import { keywordsOf, stringValue } from './syntax';

/** What a Python rule may read besides the file's text. */
export interface PythonFileContext {
  /** The file's absolute path; undefined: nothing next to it is read (an unsaved buffer, a test string). */
  filePath?: string;
  /** Folder relative paths in the file resolve against (the program's working directory); default: the file's folder. */
  baseDir?: string;
  /** Reads a small file; undefined when it does not exist. */
  readText(absolutePath: string): string | undefined;
}

/**
 * Qwen (1st gen) checkpoints by name: Qwen-7B, Qwen-14B-Chat-Int4, Qwen-1_8B, Qwen-VL-Chat, Qwen-Audio. They ship
 * their QWenTokenizer as remote code. Qwen1.5/2/2.5/3 (`Qwen1.5-7B`, `Qwen2-VL`) have no dash after "Qwen".
 */
export function isQwen1Model(name: string): boolean {
  return /(?<![A-Za-z0-9.])Qwen-(?:\d[\d_.]*B|VL|Audio)/i.test(name);
}

/** peft loads the tokenizer saved with an adapter from this release on (Qwen README, QwenLM/Qwen-VL#269). */
const peftLoadsTokenizerFrom = '0.8.0';
/** From this release peft passes the call's trust_remote_code on to that tokenizer load (huggingface/peft#1477). */
const peftPassesTrustRemoteCodeFrom = '0.9.0';
const tokenizerError = '"ValueError: Tokenizer class QWenTokenizer does not exist or is not currently imported."';

/** `AutoPeftModelForCausalLM.from_pretrained(...)` (any AutoPeftModel class, `peft.` prefix or not): the loader that also loads the adapter's tokenizer. */
function autoPeftLoad(call: SyntaxNode): { callee: SyntaxNode; className: string } | undefined {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'from_pretrained') return undefined;
  const className = fn.childForFieldName('object')?.text.replace(/^peft\./, '') ?? '';
  return /^AutoPeftModel\w*$/.test(className) ? { callee: fn, className } : undefined;
}

/** The adapter argument: pretrained_model_name_or_path= or the first positional argument. */
function adapterArgument(call: SyntaxNode, keywords: ReturnType<typeof keywordsOf>): SyntaxNode | undefined {
  const args = call.childForFieldName('arguments')?.namedChildren.filter((a): a is SyntaxNode => !!a) ?? [];
  return keywords.get('pretrained_model_name_or_path')?.node ?? args.find((a) => a.type !== 'keyword_argument' && a.type !== 'comment');
}

interface AdapterFolder {
  /** adapter_config.json's base_model_name_or_path, when a string. */
  base?: string;
  configFile: string;
  /** The folder holds tokenizer_config.json: peft ≥ 0.8 loads a tokenizer from it. */
  hasTokenizer: boolean;
}

function readAdapterFolder(dir: string, readText: PythonFileContext['readText']): AdapterFolder | undefined {
  const configFile = path.join(dir, 'adapter_config.json');
  const text = readText(configFile);
  if (text === undefined) return undefined;
  let base: string | undefined;
  try {
    const value = (JSON.parse(text) as { base_model_name_or_path?: unknown }).base_model_name_or_path;
    base = typeof value === 'string' ? value : undefined;
  } catch {
    base = undefined;
  }
  return { base, configFile, hasTokenizer: readText(path.join(dir, 'tokenizer_config.json')) !== undefined };
}

/**
 * QWEN-PEFT-TOKENIZER: `AutoPeftModelForCausalLM.from_pretrained(<Qwen-1 adapter>)` with peft ≥ 0.8.0. Since 0.8.0
 * peft also loads the tokenizer saved in the adapter folder (Qwen's finetune.py saves it there), and 0.8.x does so
 * without trust_remote_code, which Qwen-1's QWenTokenizer needs (Qwen README). From 0.9.0 peft passes the call's
 * trust_remote_code on, so with trust_remote_code=True only 0.8.x fails. peft's version comes from the nearest
 * requirements.txt; unknown, the finding is a warning without trust_remote_code=True and a note with it.
 */
export function qwenPeftTokenizerFindings(root: SyntaxNode, lines: LineIndex, file: PythonFileContext): FixableFinding[] {
  const loads: Array<{ call: SyntaxNode; callee: SyntaxNode; className: string }> = [];
  /** `name = "literal"` assignments, in source order, to resolve `from_pretrained(adapter_dir)`. */
  const assignments = new Map<string, Array<{ at: number; value: string }>>();
  const qwen1Mentions: string[] = [];
  walkTree(root, (node) => {
    if (node.type === 'string') {
      const value = stringValue(node);
      if (value !== undefined && isQwen1Model(value)) qwen1Mentions.push(value);
    } else if (node.type === 'assignment') {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      const value = right ? stringValue(right) : undefined;
      if (left?.type === 'identifier' && value !== undefined) {
        const list = assignments.get(left.text) ?? [];
        list.push({ at: node.startIndex, value });
        assignments.set(left.text, list);
      }
    } else if (node.type === 'call') {
      const load = autoPeftLoad(node);
      if (load) loads.push({ call: node, ...load });
    }
  });
  if (!loads.length) return [];
  const fileDir = file.filePath ? path.dirname(file.filePath) : undefined;
  const requirement = fileDir ? nearestRequirement(fileDir, 'peft', file.readText) : undefined;
  const findings: FixableFinding[] = [];
  for (const { call, callee, className } of loads) {
    const keywords = keywordsOf(call);
    const argument = adapterArgument(call, keywords);
    const adapter =
      argument?.type === 'string'
        ? stringValue(argument)
        : argument?.type === 'identifier'
          ? assignments.get(argument.text)?.filter((a) => a.at < call.startIndex).at(-1)?.value
          : undefined;
    const folder = adapter !== undefined && fileDir ? readAdapterFolder(path.resolve(file.baseDir ?? fileDir, adapter), file.readText) : undefined;
    // The adapter's own config decides; without one, its name, then a Qwen-1 model the file names elsewhere.
    if (folder && !folder.hasTokenizer) continue;
    if (folder?.base !== undefined && !isQwen1Model(folder.base)) continue;
    const adapterText = adapter !== undefined ? `"${adapter}"` : argument?.text ?? 'the adapter';
    const evidence =
      folder?.base !== undefined
        ? `${adapterText} is a Qwen (1st gen) adapter (base_model_name_or_path "${folder.base}" in its adapter_config.json)`
        : adapter !== undefined && isQwen1Model(adapter)
          ? `${adapterText} names a Qwen (1st gen) model`
          : qwen1Mentions.length
            ? `this file works with the Qwen (1st gen) model "${qwen1Mentions[0]}", so ${adapterText} is presumably its adapter`
            : undefined;
    if (!evidence) continue;
    const trusted = keywords.get('trust_remote_code')?.text === 'True';
    if (requirement?.range && !rangeMeets(requirement.range, peftLoadsTokenizerFrom, trusted ? peftPassesTrustRemoteCodeFrom : undefined)) continue;
    findings.push({
      rule: 'QWEN-PEFT-TOKENIZER',
      severity: requirement?.range || !trusted ? 'warning' : 'info',
      message: peftTokenizerMessage({ className, evidence, folder, trusted, requirement, fileDir }),
      range: lines.range(callee.startIndex, callee.endIndex),
    });
  }
  return findings;
}

function peftTokenizerMessage(facts: { className: string; evidence: string; folder?: AdapterFolder; trusted: boolean; requirement?: Requirement & { file: string }; fileDir?: string }): string {
  const { className, evidence, folder, trusted, requirement } = facts;
  const tokenizerFiles = folder ? 'the tokenizer saved in the adapter folder (it has tokenizer_config.json)' : "the tokenizer that Qwen's finetune.py saves with the adapter";
  const how = trusted
    ? `peft 0.8.x loads ${tokenizerFiles} without trust_remote_code (0.9.0 and newer pass this call's trust_remote_code=True on)`
    : `peft ${peftLoadsTokenizerFrom} and newer load ${tokenizerFiles}, and this call does not pass trust_remote_code=True`;
  const version =
    requirement && facts.fileDir !== undefined
      ? `${path.relative(facts.fileDir, requirement.file)} line ${requirement.line} asks for ${requirement.text}${requirement.range ? '' : ', which does not say the version'}`
      : facts.fileDir !== undefined
        ? 'no requirements.txt at or above this folder names peft, so its version is not known'
        : "peft's version is not known";
  const fixes = trusted
    ? 'Pin peft<0.8.0 (Qwen README) or peft>=0.9.0, or move the tokenizer files out of the adapter folder (Qwen README)'
    : 'Pass trust_remote_code=True with peft>=0.9.0 (the Qwen-1 base model needs it too), pin peft<0.8.0, or move the tokenizer files out of the adapter folder (Qwen README)';
  return `${className}.from_pretrained: ${evidence}. ${how}: it fails with ${tokenizerError} Here ${version}. ${fixes}. Loading the base with AutoModelForCausalLM.from_pretrained(<base>, trust_remote_code=True) and then PeftModel.from_pretrained(model, <adapter>) loads no tokenizer.`;
}
