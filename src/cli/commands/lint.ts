import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { isDatasetFormat } from '../../core/dataset/formats';
import { datasetLinter } from '../../core/dataset/linter';
import { compareFindings, type FileFinding } from '../../core/lint/findings';
import { gpuFactsFrom, gpuQueryFields, parseGpuQueryCsv, type GpuFacts } from '../../core/gpu/nvidiaSmi';
import { linterFor } from '../../core/lint/registry';
import { parseCliArgs } from '../args';
import { ExitCode, UsageError } from '../exitCodes';
import type { Subcommand } from './types';

const usage = `Usage: ftw lint <file...> [--format <name>] [--json] [--base-dir <dir>] [--model-max-length <n>] [--model <id>] [--no-media-check]
                [--nvidia-smi <csv>] [--transformers-version <v>]

Lints datasets, finetune scripts, DeepSpeed configs and Python files.
  --format <name>    force the file format instead of detecting it
  --base-dir <dir>   folder that relative paths inside the files resolve against (default: each file's folder)
  --model-max-length <n>  datasets: warn about samples estimated longer than n tokens
  --model <id>       datasets: the model to fine-tune (Hugging Face id or path), for model-specific rules
  --no-media-check   datasets: do not check that image/video files exist and are images
  --json             print [{file, rule, severity, message, range}] with 0-based lines and characters
  --nvidia-smi <csv> GPUs of the launch target: output of nvidia-smi --query-gpu=${gpuQueryFields.join(',')}
                     --format=csv[,noheader,nounits] (bf16 support, process count)
  --transformers-version <v>  transformers version of the launch target (flags removed in that version are errors)

Human output: file:line:col severity rule message (1-based line and column).
Exit codes: 0 no errors, 1 at least one finding at error severity, 2 usage or I/O error.`;

function readHead(filePath: string): string {
  const fd = openSync(filePath, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export const lintCommand: Subcommand = {
  name: 'lint',
  summary: 'lint datasets, finetune scripts, DeepSpeed configs and Python files',
  usage,
  async run(args, io) {
    const parsed = parseCliArgs(args, {
      format: { type: 'string' },
      json: { type: 'boolean' },
      'base-dir': { type: 'string' },
      'nvidia-smi': { type: 'string' },
      'transformers-version': { type: 'string' },
      'model-max-length': { type: 'string' },
      model: { type: 'string' },
      'no-media-check': { type: 'boolean' },
    });
    const files = parsed.positionals;
    const maxLengthText = parsed.values['model-max-length'];
    const modelMaxLength = maxLengthText === undefined ? undefined : Number(maxLengthText);
    if (modelMaxLength !== undefined && !(Number.isInteger(modelMaxLength) && modelMaxLength >= 0)) {
      throw new UsageError(`--model-max-length must be a whole number, got '${maxLengthText}'`);
    }
    if (files.length === 0) throw new UsageError('name at least one file');
    let gpu: GpuFacts | undefined;
    if (parsed.values['nvidia-smi']) {
      try {
        gpu = gpuFactsFrom(parseGpuQueryCsv(readFileSync(path.resolve(io.cwd, parsed.values['nvidia-smi']), 'utf8')));
      } catch (error) {
        io.stderr(`ftw lint: cannot read ${parsed.values['nvidia-smi']}: ${(error as Error).message}\n`);
        return ExitCode.UsageOrIo;
      }
      if (!gpu) throw new UsageError(`${parsed.values['nvidia-smi']} lists no GPU (expected nvidia-smi --query-gpu CSV output)`);
    }
    const transformersVersion = parsed.values['transformers-version'];
    const all: FileFinding[] = [];
    let ioError = false;
    for (const file of files) {
      const absolute = path.resolve(io.cwd, file);
      let head: string;
      try {
        head = readHead(absolute);
      } catch (error) {
        io.stderr(`ftw lint: cannot read ${file}: ${(error as Error).message}\n`);
        ioError = true;
        continue;
      }
      // A dataset format named on the command line picks the dataset linter whatever the file looks like.
      const linter = isDatasetFormat(parsed.values.format) ? datasetLinter : linterFor(absolute, head);
      if (!linter) {
        io.stderr(`ftw lint: ${file}: not a file kind ftw knows (dataset .json/.jsonl, finetune .sh, DeepSpeed .json, .py)\n`);
        ioError = true;
        continue;
      }
      const baseDir = parsed.values['base-dir'] ? path.resolve(io.cwd, parsed.values['base-dir']) : undefined;
      let findings;
      try {
        findings = await linter.lintFile(absolute, {
          format: parsed.values.format,
          baseDir,
          modelMaxLength,
          model: parsed.values.model,
          checkMediaFiles: !parsed.values['no-media-check'],
          gpu,
          transformersVersion,
        });
      } catch (error) {
        io.stderr(`ftw lint: cannot read ${file}: ${(error as Error).message}\n`);
        ioError = true;
        continue;
      }
      all.push(...findings.sort(compareFindings).map((f) => ({ file, ...f })));
    }
    if (parsed.values.json) {
      io.stdout(`${JSON.stringify(all.map(({ file, rule, severity, message, range }) => ({ file, rule, severity, message, range })), null, 2)}\n`);
    } else {
      for (const f of all) {
        io.stdout(`${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.rule} ${f.message}\n`);
      }
      const errors = all.filter((f) => f.severity === 'error').length;
      io.stderr(`${all.length} finding(s), ${errors} error(s) in ${files.length} file(s)\n`);
    }
    if (ioError) return ExitCode.UsageOrIo;
    return all.some((f) => f.severity === 'error') ? ExitCode.Findings : ExitCode.Clean;
  },
};
