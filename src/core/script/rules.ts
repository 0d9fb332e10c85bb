import { existsSync } from 'node:fs';
import path from 'node:path';
import { lintDeepSpeedConfig, type DeepSpeedFacts } from '../deepspeed/config';
import { capabilityAtLeast, type GpuFacts } from '../gpu/nvidiaSmi';
import type { Finding, Range } from '../lint/findings';
import type { FixableFinding, TextFix } from '../lint/fixes';
import { bitsandbytesBlocker, type PortInUse, type TargetPlatform } from '../lint/target';
import { closest } from '../text/similar';
import { readTextFromDisk } from '../text/readText';
import { compareVersions, minicpmvVideoEraFlags, programFlagCatalog, trainingArgumentChanges, trainingArgumentFlags, trainingArguments5, type ProgramKind } from './catalog';
import { readProgramArguments, type ProgramArguments } from './program';
import { flagKey, lastFlag, parseShellScript, type FlagOccurrence, type LaunchCommand, type ShellScript, type Word } from './shell';

export interface ScriptLintOptions {
  /** Folder the script is launched from; relative paths (finetune.py, configs, data) resolve here. */
  launchDir: string;
  /** GPUs of the launch target (probed) or of the `gpu.default` setting. */
  gpu?: GpuFacts;
  /** Where `gpu` came from, for messages. */
  gpuSource?: string;
  /** transformers version on the target, when known ("4.51.2", "5.17.0"). */
  transformersVersion?: string;
  /** OS / CUDA of the launch target, when known (Q-BNB-PLATFORM). */
  platform?: TargetPlatform;
  /** Ports a job started now cannot listen on: in use on the rank-0 node, or taken by other running/queued jobs (SCRIPT-PORT). */
  portsInUse?: readonly PortInUse[];
  /**
   * Lints a dataset the script names (--data_path, --eval_data_path), e.g. with the dataset linter of
   * src/core/lint/registry.ts; its errors are summarised on the flag's value. Not given: existence only.
   */
  lintDataset?(absolutePath: string): Promise<Finding[]>;
  /** Whether a file exists (datasets are not read). Defaults to the file system. */
  fileExists?(absolutePath: string): boolean;
  /** Reads a small file (DeepSpeed config, finetune.py); undefined when it does not exist. Defaults to the file system. */
  readText?(absolutePath: string): string | undefined;
}

export interface LaunchAnalysis {
  launch: LaunchCommand;
  kind: ProgramKind;
  model?: string;
  deepspeed?: { path: string; facts?: DeepSpeedFacts };
  program?: ProgramArguments;
}

export interface ScriptLintResult {
  script: ShellScript;
  findings: FixableFinding[];
  launches: LaunchAnalysis[];
}

const trueWords = new Set(['true', 't', 'yes', 'y', '1']);
const falseWords = new Set(['false', 'f', 'no', 'n', '0']);

/** HfArgumentParser's string_to_bool: a bare flag is True. undefined = not given or not known statically. */
export function flagBool(flag: FlagOccurrence | undefined): boolean | undefined {
  if (!flag) return undefined;
  if (!flag.value) return true;
  const text = flag.value.text?.toLowerCase();
  if (text === undefined) return undefined;
  if (trueWords.has(text)) return true;
  if (falseWords.has(text)) return false;
  return undefined;
}

/** Quantized checkpoints by name: MiniCPM `-int4` (bitsandbytes), Qwen `-Int4` (GPTQ), `-GPTQ-*`, `-AWQ`, `-BNB`. */
export function quantizationOfModel(model: string): 'bnb-int4' | 'gptq' | 'awq' | undefined {
  if (/-GPTQ/i.test(model)) return 'gptq';
  if (/-AWQ/i.test(model)) return 'awq';
  if (/minicpm.*-int4$/i.test(model) || /-BNB/i.test(model)) return 'bnb-int4';
  if (/(^|\/)Qwen-[\d.]+B(-Chat)?-Int[48]$/i.test(model)) return 'gptq';
  if (/-int4$/i.test(model)) return 'bnb-int4';
  return undefined;
}

/** LLM_TYPE for a MiniCPM-V model id (domain.md B.4): HEAD code, and the 2024-08..2025-01 code. */
export function expectedLlmType(model: string): { head: string; era2024?: string } | undefined {
  const m = model.toLowerCase();
  if (/minicpm-llama3-v-2_5/.test(m)) return { head: 'llama3', era2024: 'llama3' };
  if (/minicpm-v-2_6|minicpm-o-2_6|minicpm-v-4_5/.test(m)) return { head: 'qwen', era2024: 'qwen2' };
  if (/minicpm-v-4(?!_)/.test(m)) return { head: 'llama' };
  if (/minicpm-v-2(?![_\d])/.test(m)) return { head: 'minicpm', era2024: 'minicpm' };
  return undefined;
}

function detectKind(flags: readonly FlagOccurrence[], model: string | undefined): ProgramKind {
  const keys = new Set(flags.map((f) => flagKey(f.name)));
  if (['llm_type', 'tune_vision', 'tune_llm', 'max_slice_nums'].some((k) => keys.has(k)) || /minicpm/i.test(model ?? '')) return 'minicpmv';
  if (/(^|\/)Qwen-[\d_.]+B/i.test(model ?? '') || keys.has('lazy_preprocess')) return 'qwen1';
  if (/qwen(1\.5|2|2\.5|3)/i.test(model ?? '') && keys.has('use_lora')) return 'qwen-sft';
  if (keys.has('output_dir') && (keys.has('per_device_train_batch_size') || keys.has('learning_rate'))) return 'hf';
  return 'unknown';
}

class RuleContext {
  readonly findings: FixableFinding[] = [];
  constructor(readonly script: ShellScript) {}

  add(rule: string, severity: FixableFinding['severity'], message: string, range: Range, fixes?: TextFix[]): void {
    this.findings.push(fixes?.length ? { rule, severity, message, range, fixes } : { rule, severity, message, range });
  }

  textAt(range: Range): string {
    return this.script.text.slice(this.script.lines.offset(range.start), this.script.lines.offset(range.end));
  }

  /** A fix replacing a word's value, only where the source text is exactly the value (no escapes or splicing). */
  replaceValue(word: Word | undefined, newText: string, title: string): TextFix | undefined {
    if (!word?.text || this.textAt(word.range) !== word.text) return undefined;
    return { title, edits: [{ range: word.range, newText }] };
  }

  /** A fix appending ` --flag value` right after an existing flag occurrence, where it is used in the command. */
  insertAfter(flag: FlagOccurrence, text: string, title: string): TextFix {
    const anchor = flag.value && !flag.inline ? flag.value : flag.word;
    return { title, edits: [{ range: { start: anchor.useRange.end, end: anchor.useRange.end }, newText: ` ${text}` }] };
  }

  /** A fix inserting ` text` right after the launcher word(s) (`torchrun`, `accelerate launch`). */
  insertAfterLauncher(launch: LaunchCommand, text: string, title: string): TextFix {
    return { title, edits: [{ range: { start: launch.launcherRange.end, end: launch.launcherRange.end }, newText: ` ${text}` }] };
  }

  /** A fix deleting a flag (and its value) when they sit alone on a continuation line. */
  removeFlagLine(flag: FlagOccurrence, title: string): TextFix | undefined {
    const line = flag.word.useRange.start.line;
    const end = (flag.value ?? flag.word).useRange.end;
    if (end.line !== line) return undefined;
    const lineText = this.script.lines.lineText(line);
    const rest = lineText.slice(end.character).trim();
    const before = lineText.slice(0, flag.word.useRange.start.character).trim();
    if (before !== '' || (rest !== '\\' && rest !== '')) return undefined;
    if (rest === '') return undefined; // last line of the command: removing it would leave a dangling backslash above
    return { title, edits: [{ range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, newText: '' }] };
  }
}

function numberOf(word: Word | undefined): number | undefined {
  if (!word?.text || !/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(word.text)) return undefined;
  return Number(word.text);
}

/** Lints a finetune shell script: D.2/D.3/D.3c rules and cross-file checks of the DeepSpeed config and data files. */
export async function lintShellScript(text: string, options: ScriptLintOptions): Promise<ScriptLintResult> {
  const script = await parseShellScript(text);
  const ctx = new RuleContext(script);
  const readText = options.readText ?? readTextFromDisk;
  // Syntax errors only matter here for scripts that launch training; other shell scripts are not ours to judge.
  for (const range of script.launches.length ? script.syntaxErrors.slice(0, 5) : []) {
    ctx.add('SCRIPT-SYNTAX', 'error', 'bash cannot parse this part of the script (check quotes, parentheses and line continuations; regexes such as --lora_target_modules must be quoted).', range);
  }
  if (script.launches.length && script.bashOnly.length && script.shebang !== 'bash' && script.shebang !== 'zsh') {
    ctx.add(
      'QWEN1-BASH',
      script.shebang === 'sh' || script.shebang === 'dash' ? 'error' : 'warning',
      `This script uses bash-only syntax ([[ ]], function, <( )) ${script.shebang ? `but its first line runs ${script.shebang}` : 'and has no #!/bin/bash line'}: run with sh it fails ("[[: not found" / syntax error). Start it with #!/bin/bash and run it with bash.`,
      script.bashOnly[0],
    );
  }
  const analyses: LaunchAnalysis[] = [];
  // Launches started in the background (`cmd &`) still hold their port when the next one starts.
  const background: PortInUse[] = [];
  for (const launch of script.launches) {
    if (launch.launcher === 'python' && !/\.py$/.test(launch.program?.text ?? '') && !launch.programFlags.length) continue;
    analyses.push(await lintLaunch(ctx, launch, { ...options, portsInUse: [...(options.portsInUse ?? []), ...background] }, readText));
    const port = rendezvousPort(launch);
    const after = script.text.slice(script.lines.offset(launch.commandRange.end));
    if (port !== undefined && /^[ \t]*&(?!&)/.test(after)) background.push({ port, by: `the ${launch.launcher} started in the background on line ${launch.commandRange.start.line + 1}` });
  }
  return { script, findings: ctx.findings, launches: analyses };
}

async function lintLaunch(ctx: RuleContext, launch: LaunchCommand, options: ScriptLintOptions, readText: (p: string) => string | undefined): Promise<LaunchAnalysis> {
  const flags = launch.programFlags;
  const get = (key: string) => lastFlag(flags, key);
  const modelFlag = get('model_name_or_path');
  const model = modelFlag?.value?.text;
  const kind = detectKind(flags, model);
  const analysis: LaunchAnalysis = { launch, kind, model };
  const gpu = options.gpu;
  const gpuWhere = options.gpuSource ? ` (${options.gpuSource})` : '';

  // ----- the program file and its declared arguments -----
  const programPath = launch.program?.text && /\.py$/.test(launch.program.text) ? path.resolve(options.launchDir, launch.program.text) : undefined;
  if (programPath) {
    const programText = readText(programPath);
    if (programText === undefined) {
      ctx.add('SCRIPT-CWD', 'warning', `${launch.program!.text} is not in the launch folder ${options.launchDir}: the script uses a relative path, so it must be run from the folder that holds it${kind === 'minicpmv' ? ' (for MiniCPM-V, finetune/)' : ''}.`, launch.program!.useRange);
    } else {
      try {
        analysis.program = await readProgramArguments(programText);
      } catch {
        analysis.program = undefined;
      }
    }
  }

  // ----- unknown / removed flags -----
  const version = options.transformersVersion;
  const catalog = programFlagCatalog(kind, version);
  const declared = analysis.program && analysis.program.usesHfArgumentParser && analysis.program.fields.size ? analysis.program : undefined;
  const checkUnknown = !!declared || kind === 'minicpmv' || kind === 'qwen1';
  for (const flag of flags) {
    const key = flagKey(flag.name);
    const change = trainingArgumentChanges.find((c) => c.flag === key);
    const declaredHere = declared?.fields.has(key);
    if (change && !declaredHere && kind !== 'unknown') {
      if (version && compareVersions(version, change.removedIn) >= 0) {
        const fixes = change.replacement === 'eval_strategy' ? [renameFlagFix(ctx, flag, change.replacement)] : change.replacement ? [] : [ctx.removeFlagLine(flag, `Remove --${flag.name}`)];
        ctx.add(
          change.flag === 'evaluation_strategy' ? 'SCRIPT-EVALSTRAT' : 'SCRIPT-UNKNOWN-ARG',
          'error',
          `--${flag.name} is not accepted by transformers ${version} (removed in ${change.removedIn}): the job stops at startup; ${change.evidence}.${change.replacement ? ` Use --${change.replacement}.` : ' Remove it.'}`,
          flag.flagRange,
          fixes.filter((f): f is TextFix => !!f),
        );
        continue;
      }
      if (change.flag === 'evaluation_strategy') {
        ctx.add(
          'SCRIPT-EVALSTRAT',
          'warning',
          `--evaluation_strategy is deprecated since transformers 4.41 and rejected from 4.46 ("Some specified arguments are not used by the HfArgumentParser")${kind === 'minicpmv' ? "; MiniCPM-V's finetune/requirements.txt pins 4.51.2" : ''}. Rename it to --eval_strategy.`,
          flag.flagRange,
          [renameFlagFix(ctx, flag, 'eval_strategy')].filter((f): f is TextFix => !!f),
        );
        continue;
      }
    }
    if (!checkUnknown) continue;
    const known = declared ? declared.fields.has(key) || (declared.extendsTrainingArguments && (trainingArgumentFlags.has(key) || trainingArguments5.has(key))) : catalog.has(key);
    if (known) continue;
    if (kind === 'minicpmv' && minicpmvVideoEraFlags.has(key) && !declared) {
      ctx.add('SCRIPT-UNKNOWN-ARG', 'error', `--${flag.name} exists only in MiniCPM-V finetune.py of 2025-01-11..14 (video SFT, c5e82b1..4a087a8); other versions stop with "Some specified arguments are not used by the HfArgumentParser". Remove it unless your finetune.py declares it.`, flag.flagRange);
      continue;
    }
    const suggestion = closest(key, [...(declared?.fields ?? []), ...catalog.keys()]);
    const source = declared ? `${launch.program?.text} (its dataclasses)` : kind === 'minicpmv' ? 'MiniCPM-V finetune.py with TrainingArguments' : 'Qwen finetune.py with TrainingArguments';
    ctx.add(
      'SCRIPT-UNKNOWN-ARG',
      'error',
      `--${flag.name} is not an argument of ${source}: HfArgumentParser stops with "Some specified arguments are not used by the HfArgumentParser: ['--${flag.name}', ...]".${suggestion ? ` Did you mean --${suggestion}?` : ''}`,
      flag.flagRange,
      suggestion ? [renameFlagFix(ctx, flag, suggestion)].filter((f): f is TextFix => !!f) : undefined,
    );
  }

  // ----- flags left without a value (an empty unquoted variable vanishes from the command line) -----
  for (const flag of checkUnknown || kind === 'hf' || kind === 'qwen-sft' ? flags : []) {
    if (flag.value || flag.inline) continue;
    const info = catalog.get(flagKey(flag.name));
    if (!info || info.type === 'bool') continue;
    const after = ctx.script.text.slice(ctx.script.lines.offset(flag.word.useRange.end));
    const variable = /^[ \t]*(\\\r?\n[ \t]*)*("?)\$\{?([A-Za-z_]\w*)/.exec(after);
    const def = variable ? launch.env.get(variable[3]) : undefined;
    const empty = def?.value === '' ? `$${def.name} is empty (set on line ${def.nameRange.start.line + 1})${variable![2] ? '' : ' and unquoted, so it vanishes'}` : undefined;
    ctx.add(
      'SCRIPT-QUOTE',
      'error',
      `--${flag.name} takes a ${info.type} value but ${empty ?? 'none follows'}: argparse stops with "argument --${flag.name}: expected one argument" (or takes the next flag as the value). ${empty ? `Set ${def!.name}, or remove --${flag.name}.` : `Give it a value, or remove --${flag.name}.`}`,
      flag.flagRange,
    );
  }

  // ----- precision -----
  const fp16 = flagBool(get('fp16'));
  const bf16 = flagBool(get('bf16'));
  if (fp16 && bf16) {
    ctx.add('SCRIPT-PRECISION', 'error', 'Both --fp16 and --bf16 are true: TrainingArguments raises "ValueError: At most one of fp16 and bf16 can be True, but not both". Keep one (bf16 on Ampere or newer GPUs).', get('bf16')!.flagRange);
  }
  if (bf16 && gpu && !capabilityAtLeast(gpu, 8, 0)) {
    const bf = get('bf16')!;
    const fixes: TextFix[] = [];
    const fp = get('fp16');
    const a = ctx.replaceValue(bf.value, 'false', '');
    const b = fp ? ctx.replaceValue(fp.value, 'true', '') : undefined;
    if (a && b) fixes.push({ title: 'Use fp16 instead of bf16 (--bf16 false --fp16 true)', edits: [...a.edits, ...b.edits] });
    ctx.add('SCRIPT-PRECISION', 'error', `--bf16 needs an Ampere or newer GPU (compute capability 8.0); the target GPU ${gpu.name} has ${gpu.computeCapability}${gpuWhere}. The Trainer fails with "Your setup doesn't support bf16/gpu". Use --fp16 true with DeepSpeed (watch for nan losses).`, bf.flagRange, fixes);
  }
  const flashFlag = flags.find((f) => /flash_?attn|attn_implementation/.test(flagKey(f.name)) && (f.value?.text ?? 'true').toLowerCase() !== 'false' && (f.value?.text ?? '').toLowerCase() !== 'sdpa' && (f.value?.text ?? '').toLowerCase() !== 'eager');
  if (flashFlag && gpu && !capabilityAtLeast(gpu, 8, 0)) {
    ctx.add('SCRIPT-FLASHATTN', 'warning', `FlashAttention 2 needs an Ampere or newer GPU; ${gpu.name} has compute capability ${gpu.computeCapability}${gpuWhere} ("FlashAttention only supports Ampere GPUs or newer"). Use sdpa or eager attention.`, flashFlag.flagRange);
  }
  const useLora = flagBool(get('use_lora'));
  if (useLora && fp16 && gpu && capabilityAtLeast(gpu, 8, 0)) {
    const fp = get('fp16')!;
    const bfFlag = get('bf16');
    const a = ctx.replaceValue(fp.value, 'false', '');
    const b = bfFlag ? ctx.replaceValue(bfFlag.value, 'true', '') : undefined;
    ctx.add('SCRIPT-FP16-NAN', 'warning', `LoRA with --fp16 has given nan grad_norm / zero loss for MiniCPM-V users (#212, #346); the maintainers recommend bf16, which ${gpu.name}${gpuWhere} supports.`, fp.flagRange, a && b ? [{ title: 'Use bf16 instead of fp16 (--fp16 false --bf16 true)', edits: [...a.edits, ...b.edits] }] : undefined);
  }

  // ----- processes vs GPUs -----
  const nprocFlag = lastFlag(launch.launcherFlags, 'nproc_per_node') ?? lastFlag(launch.launcherFlags, 'nproc-per-node') ?? lastFlag(launch.launcherFlags, 'num_gpus') ?? lastFlag(launch.launcherFlags, 'num_processes');
  const nproc = numberOf(nprocFlag?.value);
  const visible = launch.env.get('CUDA_VISIBLE_DEVICES')?.value;
  const available = visible !== undefined && visible !== '' ? visible.split(',').filter(Boolean).length : gpu?.count;
  if (nprocFlag && nproc !== undefined && available !== undefined && nproc > available) {
    const via = nprocFlag.value!.vars.at(-1);
    ctx.add(
      'SCRIPT-GPUS',
      'error',
      `${via ?? `--${nprocFlag.name}`} = ${nproc} processes per node, but ${visible !== undefined ? `CUDA_VISIBLE_DEVICES lists ${available}` : `the target has ${available} GPU(s)${gpuWhere}`}: ranks past the last GPU fail with "RuntimeError: CUDA error: invalid device ordinal". Set it to ${available}.`,
      nprocFlag.value!.range,
      [ctx.replaceValue(nprocFlag.value, String(available), `Set ${via ?? `--${nprocFlag.name}`} to ${available}`)].filter((f): f is TextFix => !!f),
    );
  }

  lintPorts(ctx, launch, options.portsInUse ?? []);

  // ----- MiniCPM-V specific -----
  if (kind === 'minicpmv') {
    const tuneLlm = get('tune_llm');
    if (useLora && flagBool(tuneLlm) !== false && !(tuneLlm && flagBool(tuneLlm) === undefined)) {
      const fix = tuneLlm ? ctx.replaceValue(tuneLlm.value, 'false', 'Set --tune_llm false') : ctx.insertAfter(get('use_lora')!, '--tune_llm false', 'Add --tune_llm false');
      ctx.add(
        'SCRIPT-LORA-TUNELLM',
        'error',
        `--use_lora true needs --tune_llm false${tuneLlm ? '' : ' (its default is True)'}: finetune.py raises "ValueError: The model cannot simultaneously adjust LLM parameters and apply LoRA."`,
        tuneLlm ? (tuneLlm.value ?? tuneLlm.word).range : get('use_lora')!.flagRange,
        fix ? [fix] : undefined,
      );
    }
    const llmTypeFlag = get('llm_type');
    const llmType = llmTypeFlag?.value?.text;
    const expected = model ? expectedLlmType(model) : undefined;
    if (llmTypeFlag && llmType !== undefined) {
      const programText = programPath ? readText(path.join(path.dirname(programPath), 'dataset.py')) : undefined;
      const era2024Code = programText !== undefined ? /llm_type\s*==\s*["']qwen2["']/.test(programText) : false;
      const want = expected ? (era2024Code ? expected.era2024 ?? expected.head : expected.head) : undefined;
      const valid = ['minicpm', 'llama3', 'qwen', ...(era2024Code ? ['qwen2'] : [])];
      const via = llmTypeFlag.value!.vars.at(-1);
      const name = via ?? '--llm_type';
      if (want && llmType !== want) {
        const fix = ctx.replaceValue(llmTypeFlag.value, want, `Set ${name} to "${want}"`);
        const why =
          llmType === 'qwen2' && want === 'qwen'
            ? 'finetune code since 2025-01-14 (53c0174) calls it "qwen"; "qwen2" is not recognised and silently falls back to the MiniCPM-2B template'
            : valid.includes(llmType)
              ? `"${llmType}" selects the wrong chat template for this model (loss 0 or garbage, #204)`
              : `"${llmType}" is not a value finetune.py knows; it silently falls back to the MiniCPM-2B template`;
        ctx.add('SCRIPT-LLMTYPE', 'error', `${name}="${llmType}" does not match ${model}: expected "${want}" — ${why}.`, llmTypeFlag.value!.range, fix ? [fix] : undefined);
      } else if (!expected && !valid.includes(llmType) && llmType !== 'llama') {
        ctx.add('SCRIPT-LLMTYPE', 'error', `${name}="${llmType}" is not one of ${valid.join(', ')}: finetune.py silently falls back to the MiniCPM-2B template.`, llmTypeFlag.value!.range);
      }
      if (llmType === 'minicpm' || llmType === 'llama') {
        ctx.add('SCRIPT-MINICPM-BROKEN', 'warning', `With ${name}="${llmType}" the current MiniCPM-V dataset.py fails on every sample (input_ids is a list, #1018): a flood of "data fetch error" then RecursionError. Patch conversation_to_ids_minicpm per #1018, or use LLaMA-Factory / the cookbook.`, llmTypeFlag.value!.range);
      }
    }
    for (const flag of flags) {
      const key = flagKey(flag.name);
      if (['lora_weight_path', 'lora_modules_to_save', 'lora_layer_replication', 'lora_layers_pattern'].includes(key)) {
        ctx.add('SCRIPT-UNUSED-LORA', 'info', `--${flag.name} is parsed but never used by MiniCPM-V finetune.py${key === 'lora_modules_to_save' ? ' (it hard-codes embed_tokens and resampler, plus vpm with --tune_vision true)' : ''}; it has no effect.`, flag.flagRange);
      }
    }
    const trainerText = programPath ? readText(path.join(path.dirname(programPath), 'trainer.py')) : undefined;
    if (trainerText !== undefined) {
      const trainer = await readProgramArguments(trainerText).catch(() => undefined);
      const params = trainer?.trainingStepParams;
      const tooOld = !version || compareVersions(version, '4.46.0') >= 0;
      if (params && !params.includes('num_items_in_batch') && !params.some((p) => p.startsWith('*')) && tooOld) {
        ctx.add(
          'SCRIPT-TRAINER-VERSION',
          'warning',
          `trainer.py (line ${trainer!.trainingStepLine! + 1}) overrides training_step(${params.join(', ')}) without num_items_in_batch, but ${version ? `transformers ${version}` : 'transformers 4.46 and newer'} call${version ? 's' : ''} training_step(model, inputs, num_items_in_batch): a TypeError at the first step. Use the current MiniCPM-V trainer.py (num_items_in_batch=None) or transformers 4.44.2 as pinned by that code.`,
          launch.program!.useRange,
        );
      }
    }
    if (analysis.program && analysis.program.fromPretrainedKeywords.has('init_vision') && model && !/minicpm-o/i.test(model)) {
      ctx.add('SCRIPT-INITVISION', 'error', `${launch.program?.text} passes init_vision/init_audio/init_tts to from_pretrained, which only MiniCPM-o 2.6 accepts: ${model} fails with "TypeError: __init__() got an unexpected keyword argument 'init_vision'". Remove those keyword arguments in finetune.py.`, modelFlag!.value!.range);
    }
  }

  // ----- quantized checkpoints (D.3) -----
  const quant = model ? quantizationOfModel(model) : undefined;
  const qLora = flagBool(get('q_lora'));
  if (quant && modelFlag?.value) {
    if (!useLora) {
      const fix = get('use_lora') ? ctx.replaceValue(get('use_lora')!.value, 'true', 'Set --use_lora true') : undefined;
      ctx.add('Q-PURE', 'error', `${model} is a quantized checkpoint; full fine-tuning fails with "ValueError: You cannot perform fine-tuning on purely quantized models. Please attach trainable adapters …". Use --use_lora true${kind === 'minicpmv' ? ' (with --tune_llm false)' : ''}, or the bf16 model.`, get('use_lora')?.flagRange ?? modelFlag.value.range, fix ? [fix] : undefined);
    }
    if (kind === 'minicpmv') {
      const tv = get('tune_vision');
      if (flagBool(tv) !== false && !(tv && flagBool(tv) === undefined)) {
        const fix = tv ? ctx.replaceValue(tv.value, 'false', 'Set --tune_vision false') : undefined;
        ctx.add('Q-TUNEVISION', 'error', `--tune_vision${tv ? ' true' : ' (default True)'} on the int4 model ${model}: quantized vision weights cannot be trained ("RuntimeError: only Tensors of floating point dtype can require gradients"). Set --tune_vision false.`, tv ? (tv.value ?? tv.word).range : modelFlag.value.range, fix ? [fix] : undefined);
      }
    }
    if (qLora && (quant === 'gptq' || quant === 'awq') && kind !== 'qwen1') {
      ctx.add('QWEN-QLORA-BNB-ON-GPTQ', 'error', `--q_lora quantizes with bitsandbytes, but ${model} is already ${quant.toUpperCase()}-quantized: "ValueError: The model is already quantized with ${quant}. You can't quantize it again with bitsandbytes". Use the bf16 base/instruct model for QLoRA, or plain LoRA (--q_lora False) on this checkpoint.`, get('q_lora')!.flagRange);
    }
  }
  if (kind === 'qwen1' && qLora && model) {
    if (quant !== 'gptq') {
      ctx.add('QWEN1-QLORA-INT4', 'error', `Qwen (1st gen) --q_lora loads the model with GPTQConfig and needs a *-Chat-Int4 checkpoint; ${model} is not one ("ValueError: You need to pass \`dataset\` in order to quantize your model").`, modelFlag!.value!.range);
    } else if (bf16) {
      ctx.add('QWEN1-QLORA-INT4', 'error', 'Qwen Q-LoRA supports fp16 only (auto-gptq): use --fp16 True instead of --bf16.', get('bf16')!.flagRange);
    }
  }
  if (kind === 'qwen1' && qLora && quant === 'gptq' && !bf16) {
    ctx.add('QWEN-GPTQ-WARN', 'info', `Qwen Q-LoRA passes a GPTQConfig for ${model}, which already has one: transformers logs "You passed \`quantization_config\` to \`from_pretrained\` but the model you're loading already has a \`quantization_config\` attribute …". It is harmless (#499). Note that the adapter cannot be merged into this GPTQ model (QWEN-GPTQ-MERGE); keep it separate.`, get('q_lora')!.flagRange);
  }
  if (kind === 'qwen1' && !qLora && quant === 'gptq' && modelFlag?.value) {
    ctx.add('QWEN1-EXLLAMA', 'error', `${model} is a GPTQ Int4 checkpoint; without --q_lora, Qwen finetune.py loads it without a GPU device_map and fails with "ValueError: Found modules on cpu/disk. Using Exllama backend requires all the modules to be on GPU". Use the Q-LoRA script (--use_lora --q_lora --fp16 True).`, modelFlag.value.range);
  }
  if (kind === 'minicpmv' && qLora && model && !quant) {
    ctx.add('Q-QLORA-NOQUANT', 'info', `--q_lora true does not quantize ${model} (MiniCPM-V finetune.py has no BitsAndBytesConfig): it trains at full precision. Use an -int4 checkpoint for QLoRA.`, get('q_lora')!.flagRange);
  }
  lintLoraLearningRate(ctx, flags);

  // ----- files the script names, and the DeepSpeed config -----
  const dsFlag = get('deepspeed');
  const fileFlags = [get('data_path'), get('eval_data_path'), dsFlag].filter((f): f is FlagOccurrence => !!f?.value?.text);
  /** Image-tag placement findings of each dataset that was linted (for Q-INT4-TOKENS). */
  const imageTagFindings = new Map<string, Finding[]>();
  for (const flag of fileFlags) {
    const value = flag.value!.text!;
    const absolute = path.resolve(options.launchDir, value);
    // Datasets can be gigabytes: check existence only; the DeepSpeed config is read below anyway.
    const exists = options.fileExists ? options.fileExists(absolute) : existsSync(absolute);
    const via = flag.value!.vars.at(-1);
    if (!exists) {
      const what = flagKey(flag.name) === 'deepspeed' ? 'DeepSpeed config' : 'dataset';
      ctx.add('SCRIPT-FILE-MISSING', 'error', `${what} ${value}${via ? ` (from ${via})` : ''} not found relative to the launch folder ${options.launchDir}: the job fails when it opens it (FileNotFoundError). Fix the path or launch from the folder that holds it.`, flag.value!.range);
    } else if (flagKey(flag.name) !== 'deepspeed' && options.lintDataset) {
      try {
        const errors = (await options.lintDataset(absolute)).filter((f) => f.severity === 'error');
        imageTagFindings.set(value, errors.filter((f) => imageTagRules.has(f.rule)));
        if (errors.length) {
          ctx.add('SCRIPT-DATASET', 'error', `dataset ${value}${via ? ` (from ${via})` : ''} has ${errors.length} error(s), first at line ${errors[0].range.start.line + 1}: ${errors[0].rule} ${errors[0].message}`, flag.value!.range);
        }
      } catch (error) {
        ctx.add('SCRIPT-DATASET', 'warning', `dataset ${value} could not be linted: ${(error as Error).message}`, flag.value!.range);
      }
    }
  }
  if (dsFlag?.value?.text) {
    const dsPath = path.resolve(options.launchDir, dsFlag.value.text);
    const dsText = readText(dsPath);
    analysis.deepspeed = { path: dsPath };
    if (dsText !== undefined) {
      const parsed = lintDeepSpeedConfig(dsText);
      analysis.deepspeed.facts = parsed.facts;
      const errors = parsed.findings.filter((f) => f.severity === 'error');
      if (errors.length) {
        ctx.add('SCRIPT-DSCONFIG', 'error', `${dsFlag.value.text} has ${errors.length} error(s), first at line ${errors[0].range.start.line + 1}: ${errors[0].message}`, dsFlag.value.range);
      }
      if (parsed.facts) crossCheckDeepSpeed(ctx, launch, parsed.facts, dsFlag.value.text, kind, model, useLora, qLora);
    }
  }
  if (kind === 'minicpmv' && quant === 'bnb-int4' && modelFlag?.value && /minicpm/i.test(model ?? '')) {
    const datasets = [get('data_path'), get('eval_data_path')].map((f) => f?.value?.text).filter((v): v is string => !!v);
    const checked = datasets.length > 0 && datasets.every((d) => imageTagFindings.has(d));
    const bad = [...imageTagFindings.entries()].find(([, found]) => found.length);
    const runtime = '"image start token != image end tokens" (#587 on MiniCPM-Llama3-V-2_5-int4, #602 on MiniCPM-V-2_6-int4)';
    if (bad) {
      ctx.add('Q-INT4-TOKENS', 'warning', `Fine-tuning runs of int4 MiniCPM-V models such as ${model} have failed with ${runtime}, and ${bad[0]} has ${bad[1].length} sample(s) that cause it (first at line ${bad[1][0].range.start.line + 1}: ${bad[1][0].rule}). Put <image> only at the start of the first user turn (DS-IMG-TAG-LATER quick fix).`, modelFlag.value.range);
    } else {
      ctx.add(
        'Q-INT4-TOKENS',
        checked ? 'info' : 'warning',
        `Fine-tuning runs of int4 MiniCPM-V models such as ${model} have reported ${runtime}, caused by <image> tags outside the first user turn (DS-IMG-TAG-LATER). ${checked ? 'The datasets this script names were checked and have none.' : 'Lint the dataset (ftw lint <data.json>) and keep <image> at the start of the first user turn only.'}`,
        modelFlag.value.range,
      );
    }
  }
  const bnbReason = bnbNeeded(kind, model, quant, flags);
  const blocker = bnbReason ? bitsandbytesBlocker(options.platform) : undefined;
  if (bnbReason && blocker) {
    ctx.add(
      'Q-BNB-PLATFORM',
      blocker.severity,
      `${bnbReason.why} needs bitsandbytes, which runs on CUDA GPUs only, but ${blocker.reason}: loading fails ("ImportError: Using \`bitsandbytes\` 8-bit quantization requires Accelerate …"; MiniCPM-V maintainers: bitsandbytes supports CUDA devices only, #215). Run it on a Linux machine with an NVIDIA GPU, or use the bf16 model with ${kind === 'minicpmv' || kind === 'qwen-sft' ? '--use_lora true and --q_lora false' : 'LoRA'}.`,
      bnbReason.range,
    );
  }
  const evalStrategy = get('eval_strategy') ?? get('evaluation_strategy');
  const evalValue = evalStrategy?.value?.text;
  if (evalStrategy && evalValue && evalValue !== 'no' && (kind === 'minicpmv' || kind === 'qwen1') && !get('eval_data_path')) {
    ctx.add('SCRIPT-EVAL-NODATA', 'error', `--${evalStrategy.name} "${evalValue}" without --eval_data_path: the Trainer has no eval dataset ("You have set args.eval_strategy to ${evalValue} but you didn't pass an eval_dataset to Trainer"). Pass --eval_data_path or use --eval_strategy no.`, evalStrategy.flagRange);
  }
  return analysis;
}

/** The launcher flag that sets the rendezvous port, per launcher; all default to 29500 (torch's TCPStore default). */
const portFlags: Partial<Record<LaunchCommand['launcher'], string>> = {
  torchrun: 'master_port',
  'torch.distributed.run': 'master_port',
  deepspeed: 'master_port',
  accelerate: 'main_process_port',
};
const defaultMasterPort = 29500;

/** Whether a launch without a port flag listens on the default port: --standalone and an explicit rendezvous endpoint do not. */
function usesDefaultPort(launch: LaunchCommand): boolean {
  const keys = new Set(launch.launcherFlags.map((f) => flagKey(f.name)));
  return !keys.has('standalone') && !keys.has('rdzv_endpoint');
}

/** The port a launch's rendezvous listens on, when known statically (its flag, or the default 29500). */
function rendezvousPort(launch: LaunchCommand): number | undefined {
  const key = portFlags[launch.launcher];
  if (!key) return undefined;
  const flag = lastFlag(launch.launcherFlags, key);
  if (!flag) return usesDefaultPort(launch) ? defaultMasterPort : undefined;
  const text = flag.value?.text;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** SCRIPT-PORT: a port value torch cannot listen on, or one already taken on the target / by another job. */
function lintPorts(ctx: RuleContext, launch: LaunchCommand, portsInUse: readonly PortInUse[]): void {
  const key = portFlags[launch.launcher];
  if (!key) return;
  const flag = lastFlag(launch.launcherFlags, key);
  const inUse = (port: number) => portsInUse.find((p) => p.port === port);
  const freePortAfter = (port: number) => {
    for (let p = Math.max(port + 1, 1024); p <= 65535; p++) if (!inUse(p)) return p;
    return undefined;
  };
  const busyText = (taken: PortInUse) => `port ${taken.port} is already in use${taken.by ? ` by ${taken.by}` : ' on the target'}`;
  const listenError = '"The server socket has failed to listen on any local network address … (errno: 98 - Address already in use)"';
  if (!flag) {
    const taken = inUse(defaultMasterPort);
    if (taken && usesDefaultPort(launch)) {
      const free = freePortAfter(defaultMasterPort);
      ctx.add('SCRIPT-PORT', 'warning', `${launch.launcher} uses its default port ${defaultMasterPort}, but ${busyText(taken)}: rank 0 fails with ${listenError}. Pass --${key} ${free ?? '<a free port>'}.`, launch.launcherRange, free ? [ctx.insertAfterLauncher(launch, `--${key} ${free}`, `Add --${key} ${free}`)] : undefined);
    }
    return;
  }
  const value = flag.value;
  const text = value?.text;
  if (!value || text === undefined) return;
  const via = value.vars.at(-1);
  const name = via ?? `--${flag.name}`;
  if (!/^\d+$/.test(text) || Number(text) < 1024 || Number(text) > 65535) {
    const why = !/^\d+$/.test(text) ? 'is not a port number' : Number(text) > 65535 ? 'is above 65535, the largest TCP port' : 'is a privileged port (below 1024), which only root may listen on and system services use';
    const fix = ctx.replaceValue(value, String(defaultMasterPort), `Set ${name} to ${defaultMasterPort}`);
    ctx.add('SCRIPT-PORT', 'error', `${name}="${text}" ${why}: the launcher cannot start its rendezvous. Use a free port between 1024 and 65535 (torch's default is ${defaultMasterPort}).`, value.range, fix && !inUse(defaultMasterPort) ? [fix] : undefined);
    return;
  }
  const taken = inUse(Number(text));
  if (!taken) return;
  const free = freePortAfter(Number(text));
  const fix = free ? ctx.replaceValue(value, String(free), `Set ${name} to ${free}`) : undefined;
  ctx.add('SCRIPT-PORT', 'warning', `${name}=${text}, but ${busyText(taken)}: rank 0 fails with ${listenError}. Pick another port${free ? `, e.g. ${free}` : ''}.`, value.range, fix ? [fix] : undefined);
}

/** The flag that turns on LoRA training, if any: --use_lora (MiniCPM-V, Qwen), --lora_enable (Qwen-VL), --finetuning_type lora (LLaMA-Factory). */
export function loraSwitch(flags: readonly FlagOccurrence[]): { flag: FlagOccurrence; method: 'LoRA' | 'QLoRA' } | undefined {
  const quantized = flagBool(lastFlag(flags, 'q_lora')) === true || ['4', '8'].includes(lastFlag(flags, 'quantization_bit')?.value?.text ?? '');
  const method = quantized ? 'QLoRA' : 'LoRA';
  // --q_lora alone trains nothing extra: these finetune.py files apply LoRA only under use_lora.
  for (const key of ['use_lora', 'lora_enable']) {
    const flag = lastFlag(flags, key);
    if (flagBool(flag) === true) return { flag: flag!, method };
  }
  const type = lastFlag(flags, 'finetuning_type');
  if (type?.value?.text?.toLowerCase() === 'lora') return { flag: type, method };
  return undefined;
}

/** LoRA below this learning rate is flagged (SCRIPT-LR): Qwen's LoRA scripts use 3e-4, its full fine-tuning script 1e-5. */
export const loraLowLearningRate = 1e-5;

/** SCRIPT-LR: a LoRA run with a full-fine-tuning-sized learning rate (MiniCPM-V ships 1e-6 in both scripts). Advice only, so no fix. */
function lintLoraLearningRate(ctx: RuleContext, flags: readonly FlagOccurrence[]): void {
  const lora = loraSwitch(flags);
  const lrFlag = lastFlag(flags, 'learning_rate');
  const lr = numberOf(lrFlag?.value);
  if (!lora || !lrFlag?.value || lr === undefined || lr <= 0 || lr > loraLowLearningRate) return;
  const via = lrFlag.value.vars.at(-1);
  const where = via ? `${via}=${lrFlag.value.text} (--${lrFlag.name} $${via})` : `--${lrFlag.name} ${lrFlag.value.text}`;
  const switchText = lora.flag.value?.text !== undefined ? `--${lora.flag.name} ${lora.flag.value.text}` : `--${lora.flag.name}`;
  ctx.add(
    'SCRIPT-LR',
    'info',
    `${where} is a full-fine-tuning learning rate, but this run trains ${lora.method} adapters (${switchText}). LoRA usually trains at 1e-4..3e-4 (Qwen's LoRA scripts use 3e-4, its full fine-tuning script 1e-5); at ${lrFlag.value.text} the adapters, which start out changing nothing, may barely learn. If the loss hardly falls, try 1e-4..3e-4; keep ${lrFlag.value.text} if you chose it on purpose.`,
    lrFlag.value.range,
  );
}

/** Dataset rules about where `<image>` sits; int4 MiniCPM-V users met them as Q-INT4-TOKENS. */
const imageTagRules = new Set(['DS-IMG-TAG-LATER', 'DS-IMG-TAG-DUP']);

/** Whether this launch loads bitsandbytes, with the word that makes it do so (Q-BNB-PLATFORM). */
function bnbNeeded(kind: ProgramKind, model: string | undefined, quant: ReturnType<typeof quantizationOfModel>, flags: readonly FlagOccurrence[]): { why: string; range: Range } | undefined {
  const modelFlag = lastFlag(flags, 'model_name_or_path');
  if (quant === 'bnb-int4' && modelFlag?.value) return { why: `${model} is a bitsandbytes 4-bit checkpoint; loading it`, range: modelFlag.value.range };
  const qLora = lastFlag(flags, 'q_lora');
  // Qwen2/2.5 examples/sft builds BitsAndBytesConfig(load_in_4bit=True) for --q_lora; Qwen-1 uses GPTQ, and MiniCPM-V's q_lora does not quantize.
  if (kind === 'qwen-sft' && flagBool(qLora)) return { why: '--q_lora (BitsAndBytesConfig 4-bit)', range: qLora!.flagRange };
  for (const key of ['load_in_4bit', 'load_in_8bit']) {
    const flag = lastFlag(flags, key);
    if (flagBool(flag)) return { why: `--${flag!.name}`, range: flag!.flagRange };
  }
  const bits = lastFlag(flags, 'bits') ?? lastFlag(flags, 'quantization_bit');
  if (bits && (bits.value?.text === '4' || bits.value?.text === '8')) return { why: `--${bits.name} ${bits.value.text} (bitsandbytes quantization)`, range: bits.flagRange };
  return undefined;
}

function renameFlagFix(ctx: RuleContext, flag: FlagOccurrence, newName: string): TextFix | undefined {
  const dashes = ctx.textAt(flag.flagRange).startsWith('--') ? '--' : '-';
  if (ctx.textAt(flag.flagRange) !== `${dashes}${flag.name}`) return undefined;
  return { title: `Rename to ${dashes}${newName}`, edits: [{ range: flag.flagRange, newText: `${dashes}${newName}` }] };
}

/** TrainingArguments defaults that "auto" DeepSpeed values are filled from (transformers integrations/deepspeed.py). */
const hfDefaults: Record<string, number> = {
  per_device_train_batch_size: 8,
  gradient_accumulation_steps: 1,
  max_grad_norm: 1,
  learning_rate: 5e-5,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
};

function crossCheckDeepSpeed(
  ctx: RuleContext,
  launch: LaunchCommand,
  facts: DeepSpeedFacts,
  dsName: string,
  kind: ProgramKind,
  model: string | undefined,
  useLora: boolean | undefined,
  qLora: boolean | undefined,
): void {
  const flags = launch.programFlags;
  const get = (key: string) => lastFlag(flags, key);
  const hfValue = (key: string): number | undefined => {
    const flag = get(key);
    if (!flag) return hfDefaults[key];
    return numberOf(flag.value);
  };
  const pairs: Array<[string, string]> = [
    ['train_micro_batch_size_per_gpu', 'per_device_train_batch_size'],
    ['gradient_accumulation_steps', 'gradient_accumulation_steps'],
    ['gradient_clipping', 'max_grad_norm'],
    ['optimizer.params.lr', 'learning_rate'],
    ['optimizer.params.weight_decay', 'weight_decay'],
    ['optimizer.params.eps', 'adam_epsilon'],
    ['scheduler.params.warmup_max_lr', 'learning_rate'],
  ];
  const mismatches: string[] = [];
  let firstFlag: FlagOccurrence | undefined;
  for (const [dsKey, hfKey] of pairs) {
    const ds = facts.valueAt(dsKey);
    if (!ds || ds.value === 'auto' || typeof ds.value !== 'number') continue;
    const hf = hfValue(hfKey);
    if (hf === undefined || Math.abs(hf - ds.value) <= 1e-12 * Math.max(1, Math.abs(hf))) continue;
    mismatches.push(`ds ${dsKey}=${ds.value} vs hf ${hfKey}=${hf}`);
    firstFlag ??= get(hfKey);
  }
  for (const [dsKey, hfKeys] of [['fp16.enabled', ['fp16', 'fp16_full_eval']], ['bf16.enabled', ['bf16', 'bf16_full_eval']]] as const) {
    const ds = facts.valueAt(dsKey);
    if (!ds || typeof ds.value !== 'boolean') continue;
    const hf = hfKeys.some((k) => flagBool(get(k)) === true);
    if (hf !== ds.value) {
      mismatches.push(`ds ${dsKey}=${ds.value} vs hf ${hfKeys.join('|')}=${hf}`);
      firstFlag ??= get(hfKeys[0]);
    }
  }
  if (mismatches.length) {
    ctx.add(
      'DSCFG-AUTO-MISMATCH',
      'error',
      `${dsName} sets values that disagree with the script's flags; transformers stops with "Please correct the following DeepSpeed config values that mismatch TrainingArguments values: ${mismatches.join('; ')}". Set these keys to "auto" in ${dsName}, or align the flags.`,
      (firstFlag ?? get('deepspeed')!).flagRange,
    );
  }
  const sched = get('lr_scheduler_type');
  if (facts.schedulerType !== undefined && sched) {
    ctx.add(
      'SCRIPT-SCHED-IGNORED',
      'info',
      `--lr_scheduler_type ${sched.value?.text ?? ''} is ignored: ${dsName} defines a "${facts.schedulerType}" scheduler, which DeepSpeed builds instead${facts.schedulerType === 'WarmupLR' ? ' (WarmupLR keeps the LR flat after warmup, no cosine decay)' : ''}. Remove "scheduler" from ${dsName} to get the Trainer's schedule.`,
      sched.flagRange,
    );
  }
  const optim = get('optim');
  if (facts.optimizerType !== undefined && optim) {
    ctx.add('SCRIPT-SCHED-IGNORED', 'info', `--optim ${optim.value?.text ?? ''} is ignored: ${dsName} defines a "${facts.optimizerType}" optimizer, which DeepSpeed builds instead. Remove "optimizer" from ${dsName} to use --optim.`, optim.flagRange);
  }
  if (kind === 'qwen1' && useLora && !qLora && facts.stage === 3 && model && !/chat/i.test(model)) {
    ctx.add('QWEN1-ZERO3-LORA-BASE', 'error', `LoRA on the base model ${model} with ZeRO-3 (${dsName}): Qwen finetune.py raises "RuntimeError: ZeRO3 is incompatible with LoRA when finetuning on base model." Use a ZeRO-2 config or the -Chat model.`, get('deepspeed')!.value!.range);
  }
}
