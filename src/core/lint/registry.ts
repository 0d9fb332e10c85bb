import { datasetLinter } from '../dataset/linter';
import type { Finding } from './findings';
import type { PortInUse, TargetPlatform } from './target';
import { deepSpeedConfigLinter, pythonQuantizationLinter, shellScriptLinter } from '../script/linters';

export interface LintOptions {
  /** Forced format (e.g. a dataset format name); undefined means detect. */
  format?: string;
  /** Folder relative paths inside the file (images, configs) resolve against; undefined means the file's folder. */
  baseDir?: string;
  signal?: AbortSignal;
  /** GPUs of the launch target, for rules that depend on them (bf16, process count, memory). */
  gpu?: { name: string; memoryGiB: number; computeCapability: string; count: number };
  /** transformers version of the launch target, for flags that versions removed. */
  transformersVersion?: string;
  /** OS / CUDA of the launch target, for libraries that need CUDA (bitsandbytes). */
  platform?: TargetPlatform;
  /** Ports in use on the launch target or by other jobs, for MASTER_PORT checks. */
  portsInUse?: readonly PortInUse[];
  /** Datasets: warn about samples estimated longer than this many tokens (0 or undefined: off). */
  modelMaxLength?: number;
  /** Datasets: the model to be fine-tuned (Hugging Face id or path), for model-specific rules. */
  model?: string;
  /** Datasets: check that referenced images/videos exist and are images (default true). */
  checkMediaFiles?: boolean;
}

/**
 * A linter for one kind of file (datasets, shell scripts, DeepSpeed configs, Python). `ftw lint` and the
 * editor pick the first linter whose `matches` accepts the file.
 */
export interface FileLinter {
  readonly kind: string;
  /** `head` is the first few KiB of the file, for content sniffing. */
  matches(filePath: string, head: string): boolean;
  lintFile(filePath: string, options: LintOptions): Promise<Finding[]>;
}

/** Every file linter, most specific first. Issues add theirs here. */
export const fileLinters: FileLinter[] = [shellScriptLinter, deepSpeedConfigLinter, pythonQuantizationLinter, datasetLinter];

export function linterFor(filePath: string, head: string): FileLinter | undefined {
  return fileLinters.find((linter) => linter.matches(filePath, head));
}
