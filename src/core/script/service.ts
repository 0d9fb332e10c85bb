import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AnalyzeRequest, CompleteRequest, EstimateRequest, HoverRequest, PreflightRequest, ResponseFor, ServiceRequest } from './protocol';
import { lintDeepSpeedConfig } from '../deepspeed/config';
import { estimateMemory, suggestFits } from '../estimate/estimate';
import { estimateInputFromLaunch } from '../estimate/fromScript';
import type { GpuFacts } from '../gpu/nvidiaSmi';
import { readTextFromDisk } from '../text/readText';
import { findQuantizationCalls } from '../python/quantization';
import { runPreflight } from '../jobs/preflight';
import { flagCompletions, hoverAt } from './assist';
import { lintShellScript, type ScriptLintResult } from './rules';

const GiB = 1024 ** 3;

/** A file's text as the editor has it: the unsaved buffer of an open document, else the disk. */
function readOpenOrDisk(request: AnalyzeRequest, file: string): string | undefined {
  return file in request.openFiles ? request.openFiles[file] : readTextFromDisk(file);
}

/** A request for a document version the service has not analysed (the host re-sends `analyze` first). */
export class StaleVersionError extends Error {}

interface Analysed {
  version: number;
  fileName: string;
  gpu: GpuFacts;
  result?: ScriptLintResult;
}

/**
 * Everything the editor asks about scripts, DeepSpeed configs and Python files, answered from the last analysis
 * of each document. Runs in a worker thread (src/workers/scriptLint.ts) so parsing stays off the extension host.
 */
export class ScriptLintService {
  private readonly documents = new Map<string, Analysed>();

  async handle<R extends ServiceRequest>(request: R): Promise<ResponseFor[R['op']]> {
    switch (request.op) {
      case 'analyze':
        return (await this.analyze(request)) as ResponseFor[R['op']];
      case 'hover':
        return this.hover(request) as ResponseFor[R['op']];
      case 'complete':
        return this.complete(request) as ResponseFor[R['op']];
      case 'estimate':
        return this.estimate(request) as ResponseFor[R['op']];
      case 'preflight': {
        const { op: _op, ...input } = request as PreflightRequest;
        return (await runPreflight(input)) as ResponseFor[R['op']];
      }
      case 'close':
        this.documents.delete(request.uri);
        return {} as ResponseFor[R['op']];
    }
    throw new Error(`unknown request ${(request as { op: string }).op}`);
  }

  private async analyze(request: AnalyzeRequest): Promise<ResponseFor['analyze']> {
    const analysed: Analysed = { version: request.version, fileName: request.fileName, gpu: request.gpu };
    if (request.kind === 'deepspeed') {
      this.documents.set(request.uri, analysed);
      return { findings: lintDeepSpeedConfig(request.text).findings, lenses: [], deepSpeedConfigs: [] };
    }
    if (request.kind === 'python') {
      this.documents.set(request.uri, analysed);
      const findings = (await findQuantizationCalls(request.text, { platform: request.platform, gpu: request.gpu, gpuSource: request.gpuSource, filePath: request.fileName, readText: (file) => readOpenOrDisk(request, file) })).findings;
      return { findings, lenses: [], deepSpeedConfigs: [] };
    }
    const launchDir = path.dirname(request.fileName);
    const result = await lintShellScript(request.text, {
      launchDir,
      gpu: request.gpu,
      gpuSource: request.gpuSource,
      transformersVersion: request.transformersVersion,
      platform: request.platform,
      portsInUse: request.portsInUse,
      readText: (file) => readOpenOrDisk(request, file),
      fileExists: (file) => file in request.openFiles || existsSync(file),
    });
    analysed.result = result;
    this.documents.set(request.uri, analysed);
    const gpuBytes = request.gpu.memoryGiB * GiB;
    const lenses = result.launches.map((analysis, launchIndex) => {
      const range = analysis.launch.launcherRange;
      const { input, missing } = estimateInputFromLaunch(analysis, launchDir);
      if (!input) return { range, launchIndex, missing };
      const estimate = estimateMemory(input);
      const fits = estimate.requiredBytesPerGpu <= gpuBytes;
      return { range, launchIndex, peakBytesPerGpu: estimate.peakBytesPerGpu, fits, firstSuggestion: fits ? undefined : suggestFits(input, gpuBytes)[0]?.change };
    });
    const deepSpeedConfigs = result.launches.map((a) => a.deepspeed?.path).filter((p): p is string => !!p);
    return { findings: result.findings, lenses, deepSpeedConfigs };
  }

  private current(uri: string, version: number): Analysed {
    const analysed = this.documents.get(uri);
    if (!analysed || analysed.version !== version) throw new StaleVersionError(`${uri} version ${version} has not been analysed`);
    return analysed;
  }

  private hover(request: HoverRequest): ResponseFor['hover'] {
    const { result } = this.current(request.uri, request.version);
    return { hover: result ? hoverAt(result, request.position) : undefined };
  }

  private complete(request: CompleteRequest): ResponseFor['complete'] {
    const { result } = this.current(request.uri, request.version);
    return { items: result ? flagCompletions(result, request.line, request.textBeforeCursor) : [] };
  }

  private estimate(request: EstimateRequest): ResponseFor['estimate'] {
    const { result, fileName, gpu } = this.current(request.uri, request.version);
    const analysis = result?.launches[Math.min(request.launchIndex, result.launches.length - 1)];
    if (!analysis) return { notes: [], suggestions: [], gpu, missing: 'the file has no torchrun, deepspeed, accelerate launch or python training command' };
    const { input, missing } = estimateInputFromLaunch(analysis, path.dirname(fileName));
    if (!input) return { notes: [], suggestions: [], gpu, missing };
    const estimate = estimateMemory(input);
    const gpuBytes = gpu.memoryGiB * GiB;
    const suggestions = estimate.requiredBytesPerGpu > gpuBytes ? suggestFits(input, gpuBytes).map((s) => ({ change: s.change, peakBytesPerGpu: s.estimate.peakBytesPerGpu })) : [];
    return { peakBytesPerGpu: estimate.peakBytesPerGpu, requiredBytesPerGpu: estimate.requiredBytesPerGpu, breakdown: estimate.breakdown, notes: estimate.notes, suggestions, gpu };
  }
}
