import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lintDeepSpeedConfig } from '../deepspeed/config';
import type { FileLinter } from '../lint/registry';
import { findQuantizationCalls } from '../python/quantization';
import { lintShellScript } from './rules';

/** Finetune shell scripts: *.sh, or a file whose first line is a sh/bash shebang. */
export const shellScriptLinter: FileLinter = {
  kind: 'finetune-script',
  matches: (filePath, head) => /\.(sh|bash)$/i.test(filePath) || /^#!.*\b(ba)?sh\b/.test(head),
  async lintFile(filePath, options) {
    const text = await readFile(filePath, 'utf8');
    const result = await lintShellScript(text, {
      launchDir: options.baseDir ?? path.dirname(filePath),
      gpu: options.gpu,
      gpuSource: options.gpu ? 'launch target' : undefined,
      transformersVersion: options.transformersVersion,
    });
    return result.findings;
  },
};

/** DeepSpeed configs: ds_config*.json, zero*.json, or JSON whose first KiB has DeepSpeed's own keys. */
export function isDeepSpeedConfigName(filePath: string): boolean {
  return /^(ds_config.*|zero.*|deepspeed.*)\.json$/i.test(path.basename(filePath));
}

export const deepSpeedConfigLinter: FileLinter = {
  kind: 'deepspeed-config',
  matches: (filePath, head) =>
    /\.json$/i.test(filePath) && (isDeepSpeedConfigName(filePath) || (/^\s*\{/.test(head) && /"(zero_optimization|train_micro_batch_size_per_gpu)"/.test(head))),
  async lintFile(filePath) {
    return lintDeepSpeedConfig(await readFile(filePath, 'utf8')).findings;
  },
};

/** Python files that build quantized models (BitsAndBytesConfig, from_pretrained(quantization_config=...)). */
export const pythonQuantizationLinter: FileLinter = {
  kind: 'python',
  matches: (filePath) => /\.py$/i.test(filePath),
  async lintFile(filePath) {
    return (await findQuantizationCalls(await readFile(filePath, 'utf8'))).findings;
  },
};
