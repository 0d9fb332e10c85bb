import path from 'node:path';
import type { FileLinter, LintOptions } from '../lint/registry';
import { lintDatasetFile } from './lint';

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
    const result = await lintDatasetFile(filePath, {
      format: options.format,
      baseDir: options.baseDir,
      signal: options.signal,
      modelMaxLength: options.modelMaxLength,
      model: options.model,
      checkMediaFiles: options.checkMediaFiles,
    });
    return result.findings;
  },
};
