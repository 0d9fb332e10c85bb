import type { FixableFinding } from '../lint/fixes';
import { capabilityAtLeast, type GpuFacts } from '../gpu/nvidiaSmi';
import { bitsandbytesBlocker, type TargetPlatform } from '../lint/target';
import { LineIndex } from '../parsing/lineIndex';
import { createParser, walkTree as walk, type SyntaxNode } from '../parsing/treeSitter';
import { readTextFromDisk } from '../text/readText';
import { qwenPeftTokenizerFindings, type PythonFileContext } from './peft';
import { keywordsOf } from './syntax';

/** MiniCPM-V's resampler uses out_proj/kv_proj weights directly; bnb-quantized copies crash the matmul (domain.md D.3). */
export const minicpmInt8SkipModules = ['out_proj', 'kv_proj', 'lm_head'] as const;

export interface QuantizationCall {
  /** `BitsAndBytesConfig` or `from_pretrained`. */
  callee: string;
  /** keyword → source text of its value. */
  keywords: Map<string, { text: string; node: SyntaxNode }>;
  node: SyntaxNode;
}

function calleeName(call: SyntaxNode): string {
  const fn = call.childForFieldName('function');
  if (!fn) return '';
  if (fn.type === 'attribute') return fn.childForFieldName('attribute')?.text ?? '';
  return fn.text;
}

/** The whole `name=value` of a keyword argument, from its value node. */
function rangeOfKeyword(lines: LineIndex, value: SyntaxNode) {
  const argument = value.parent?.type === 'keyword_argument' ? value.parent : value;
  return lines.range(argument.startIndex, argument.endIndex);
}

export interface PythonLintOptions extends Partial<PythonFileContext> {
  /** OS / CUDA of the target that runs the file, when known (Q-BNB-PLATFORM). */
  platform?: TargetPlatform;
  /** The target's GPU, when known (Q-8BIT-CC), and where that fact came from ("launch target gpu01", "setting …"). */
  gpu?: GpuFacts;
  gpuSource?: string;
}

/**
 * Finds BitsAndBytesConfig(...) and from_pretrained(..., quantization_config=/load_in_8bit=) calls with tree-sitter-python,
 * and runs the Python rules on the same tree (Q-*, QWEN-GPTQ-MERGE, QWEN-PEFT-TOKENIZER).
 */
export async function findQuantizationCalls(text: string, options: PythonLintOptions = {}): Promise<{ calls: QuantizationCall[]; findings: FixableFinding[] }> {
  const parser = await createParser('python');
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree for the Python file');
  const lines = new LineIndex(text);
  const calls: QuantizationCall[] = [];
  const findings: FixableFinding[] = [];
  try {
    let mentionsMiniCpm = false;
    /** Model ids of GPTQ checkpoints named in the file (Qwen `-Int4`, `-GPTQ-Int4`), or 'GPTQConfig' when one is built. */
    const gptqModelIds: string[] = [];
    const quantizedModels = new Set<string>();
    walk(tree.rootNode, (node) => {
      if (node.type === 'string' && /minicpm/i.test(node.text)) mentionsMiniCpm = true;
      if (node.type === 'string' && (/-Int[48]\b/.test(node.text) || /-GPTQ/i.test(node.text))) gptqModelIds.push(node.text.replace(/^[rbuf]*['"]+|['"]+$/gi, ''));
      if (node.type === 'identifier' && node.text === 'GPTQConfig') gptqModelIds.push('GPTQConfig');
      if (node.type !== 'call') return;
      const callee = calleeName(node);
      if (callee !== 'BitsAndBytesConfig' && callee !== 'from_pretrained') return;
      const call: QuantizationCall = { callee, keywords: keywordsOf(node), node };
      if (callee === 'from_pretrained' && !call.keywords.has('quantization_config') && !call.keywords.has('load_in_8bit') && !call.keywords.has('load_in_4bit')) return;
      calls.push(call);
      const parent = node.parent;
      if (parent?.type === 'assignment') {
        const target = parent.childForFieldName('left')?.text;
        if (target && callee === 'from_pretrained') quantizedModels.add(target);
      }
    });
    for (const call of calls) {
      const direct8bit = call.keywords.get('load_in_8bit')?.text === 'True';
      if (!mentionsMiniCpm || !direct8bit) continue;
      const skip = call.keywords.get('llm_int8_skip_modules')?.text ?? '';
      const missing = minicpmInt8SkipModules.slice(0, 2).filter((m) => !skip.includes(`'${m}'`) && !skip.includes(`"${m}"`));
      if (!missing.length) continue;
      const args = call.node.childForFieldName('arguments')!;
      const closeParen = args.endIndex - 1;
      const list = `[${minicpmInt8SkipModules.map((m) => `'${m}'`).join(', ')}]`;
      const existing = call.keywords.get('llm_int8_skip_modules');
      const edit = existing
        ? { range: lines.range(existing.node.startIndex, existing.node.endIndex), newText: list }
        : { range: lines.range(closeParen, closeParen), newText: `${args.namedChildren.length ? ', ' : ''}llm_int8_skip_modules=${list}` };
      findings.push({
        rule: 'Q-8BIT-HALFCHAR',
        severity: 'error',
        message: `8-bit loading of MiniCPM-V without skipping ${missing.join(', ')}: the resampler multiplies fp16 activations by the int8 out_proj/kv_proj weights and crashes with "RuntimeError: self and mat2 must have the same dtype, but got Half and Char". Add llm_int8_skip_modules=${list}.`,
        range: lines.range(call.node.startIndex, call.node.childForFieldName('arguments')?.startIndex ?? call.node.endIndex),
        fixes: [{ title: `Add llm_int8_skip_modules=${list}`, edits: [edit] }],
      });
    }
    const blocker = bitsandbytesBlocker(options.platform);
    for (const call of blocker ? calls : []) {
      const bits = ['load_in_4bit', 'load_in_8bit'].find((k) => call.keywords.get(k)?.text === 'True');
      if (call.callee !== 'BitsAndBytesConfig' && !bits) continue;
      const what = call.callee === 'BitsAndBytesConfig' ? 'BitsAndBytesConfig' : `from_pretrained(..., ${bits}=True)`;
      findings.push({
        rule: 'Q-BNB-PLATFORM',
        severity: blocker!.severity,
        message: `${what} needs bitsandbytes, which runs on CUDA GPUs only, but ${blocker!.reason}: loading fails ("ImportError: Using \`bitsandbytes\` 8-bit quantization requires Accelerate …"; MiniCPM-V maintainers: bitsandbytes supports CUDA devices only, #215). Run it on a Linux machine with an NVIDIA GPU, or load the model unquantized (torch_dtype=torch.float16).`,
        range: lines.range(call.node.startIndex, call.node.childForFieldName('arguments')?.startIndex ?? call.node.endIndex),
      });
    }
    // bitsandbytes' int8 matmul needs compute capability 7.5 (Turing) or newer; older GPUs fall back to a slow path
    // (domain.md D.3c; maintainer: "4-bit is supported by all GPUs, but 8-bit is not", bitsandbytes#529).
    const gpu = options.gpu;
    for (const call of gpu && !capabilityAtLeast(gpu, 7, 5) ? calls : []) {
      if (call.keywords.get('load_in_8bit')?.text !== 'True') continue;
      const gpuWhere = options.gpuSource ? ` (${options.gpuSource})` : '';
      findings.push({
        rule: 'Q-8BIT-CC',
        severity: 'warning',
        message: `8-bit bitsandbytes on ${gpu!.name}, compute capability ${gpu!.computeCapability}${gpuWhere}: int8 matmul needs 7.5 or newer, so bitsandbytes warns "Compute capability < 7.5 detected! Only slow 8-bit matmul is supported for your GPU!" and runs slowly. Use 4-bit (load_in_4bit=True, which every GPU supports) or a Turing-or-newer GPU.`,
        range: rangeOfKeyword(lines, call.keywords.get('load_in_8bit')!.node),
      });
    }
    // merge_and_unload() on an adapter whose base is a GPTQ checkpoint: peft refuses (QWEN-GPTQ-MERGE).
    // Qwen writes GPTQ checkpoints `-Int4`; MiniCPM's lowercase `-int4` are bitsandbytes, which peft can merge.
    const gptqId = gptqModelIds.find((id) => id !== 'GPTQConfig') ?? gptqModelIds[0];
    const gptqModel = gptqId === 'GPTQConfig' ? 'model (loaded with GPTQConfig)' : gptqId;
    walk(tree.rootNode, (node) => {
      if (!gptqModel || node.type !== 'call') return;
      const fn = node.childForFieldName('function');
      const method = fn?.type === 'attribute' ? fn.childForFieldName('attribute') : undefined;
      if (!method || !['merge_and_unload', 'merge_adapter'].includes(method.text)) return;
      findings.push({
        rule: 'QWEN-GPTQ-MERGE',
        severity: 'error',
        message: `${method.text}() on an adapter whose base is the GPTQ-quantized ${gptqModel}: peft raises "ValueError: Cannot merge LORA layers when the model is gptq quantized". Q-LoRA adapters cannot be merged into the Int4 model: load the adapter on top of it instead (AutoPeftModelForCausalLM), or merge into the bf16/fp16 base model.`,
        range: lines.range(method.startIndex, method.endIndex),
      });
    });
    // .to()/.half() on a bitsandbytes model: transformers refuses (Q-TO).
    walk(tree.rootNode, (node) => {
      if (node.type !== 'call') return;
      const fn = node.childForFieldName('function');
      if (fn?.type !== 'attribute') return;
      const object = fn.childForFieldName('object')?.text ?? '';
      const method = fn.childForFieldName('attribute')?.text ?? '';
      if (!quantizedModels.has(object) || !['to', 'half', 'float', 'bfloat16'].includes(method)) return;
      findings.push({
        rule: 'Q-TO',
        severity: 'warning',
        message: `${object}.${method}() on a bitsandbytes-quantized model: transformers raises "\`.to\` is not supported for \`4-bit\` or \`8-bit\` bitsandbytes models". Let device_map place it and do not cast.`,
        range: lines.range(fn.startIndex, fn.endIndex),
      });
    });
    findings.push(...qwenPeftTokenizerFindings(tree.rootNode, lines, { filePath: options.filePath, baseDir: options.baseDir, readText: options.readText ?? readTextFromDisk }));
    return { calls, findings };
  } finally {
    tree.delete();
    parser.delete();
  }
}
