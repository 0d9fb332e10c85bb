import { closeSync, openSync, readSync } from 'node:fs';
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
    const launchDir = options.baseDir ?? path.dirname(filePath);
    const result = await lintShellScript(text, {
      launchDir,
      lintDataset: (file) => lintWithRegistry(file, launchDir),
      gpu: options.gpu,
      gpuSource: options.gpu ? 'launch target' : undefined,
      transformersVersion: options.transformersVersion,
      platform: options.platform,
      portsInUse: options.portsInUse,
    });
    return result.findings;
  },
};

function head(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Lints a dataset named by a script with whichever registered linter takes it (none: nothing to report). */
async function lintWithRegistry(file: string, launchDir: string) {
  // Required lazily: the registry lists this module's linters, so a top-level import would be circular.
  const { linterFor } = require('../lint/registry') as typeof import('../lint/registry');
  const linter = linterFor(file, head(file));
  if (!linter || [shellScriptLinter.kind, deepSpeedConfigLinter.kind, pythonQuantizationLinter.kind].includes(linter.kind)) return [];
  // Image paths in MiniCPM-V data resolve against the process CWD, i.e. the script's launch folder.
  return linter.lintFile(file, { baseDir: launchDir });
}

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

/** Python files: quantized model loading (BitsAndBytesConfig, from_pretrained(quantization_config=...)), adapter loading. */
export const pythonQuantizationLinter: FileLinter = {
  kind: 'python',
  matches: (filePath) => /\.py$/i.test(filePath),
  async lintFile(filePath, options) {
    const text = await readFile(filePath, 'utf8');
    return (await findQuantizationCalls(text, { platform: options.platform, gpu: options.gpu, gpuSource: options.gpu ? 'launch target' : undefined, filePath: path.resolve(filePath), baseDir: options.baseDir })).findings;
  },
};
