import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FileLinter, LintOptions } from '../lint/registry';
import { lintDatasetFile, type DatasetLintOptions } from './lint';
import { lintDatasetFileParallel } from './parallel';

/** Files at least this large are read on one thread and checked on another (below it, starting a worker costs more than it saves). */
export const parallelMinBytes = 8 * 1024 * 1024;

/**
 * The checking worker's bundle: beside the bundle this code runs from (dist/cli.js, dist/extension.js →
 * dist/workers/datasetCheck.js). Undefined where it is not (tests bundled elsewhere, FTW_DATASET_THREADS=1).
 */
function checkWorkerScript(): string | undefined {
  if (process.env.FTW_DATASET_THREADS === '1') return undefined;
  const script = path.join(__dirname, 'workers', 'datasetCheck.js');
  return existsSync(script) ? script : undefined;
}

/** Lints a dataset file, on two threads when it is large and the worker bundle is there. */
export function lintDatasetFileFast(filePath: string, options: DatasetLintOptions, workerScript = checkWorkerScript()) {
  let size = 0;
  try {
    size = statSync(filePath).size;
  } catch {
    // lintDatasetFile reports the I/O error
  }
  if (workerScript && size >= parallelMinBytes && !options.collectSamples) return lintDatasetFileParallel(filePath, workerScript, options);
  return lintDatasetFile(filePath, options);
}

/** Keys that mark a fine-tuning dataset in the first KiB of a .json file (DeepSpeed configs etc. have none). */
const datasetKeys = /["'](conversations|messages)["']\s*:/;

export const datasetLinter: FileLinter = {
  kind: 'dataset',
  matches(filePath, head) {
    const ext = path.extname(filePath).toLowerCase();
    if (ext === '.jsonl') return true;
    return datasetKeys.test(head) && /^\uFEFF?\s*[[{]/.test(head);
  },
  async lintFile(filePath, options: LintOptions) {
    const result = await lintDatasetFileFast(filePath, {
      format: options.format,
      baseDir: options.baseDir,
      signal: options.signal,
      modelMaxLength: options.modelMaxLength,
      checkMediaFiles: options.checkMediaFiles,
    });
    return result.findings;
  },
};
