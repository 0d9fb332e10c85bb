/** Messages between the extension host and the script-lint worker (dist/workers/scriptLint.js); types only. */
import type { Breakdown } from '../estimate/estimate';
import type { GpuFacts } from '../gpu/nvidiaSmi';
import type { Position, Range } from '../lint/findings';
import type { FixableFinding } from '../lint/fixes';
import type { PortInUse, TargetPlatform } from '../lint/target';
import type { PreflightInput, PreflightResult } from '../jobs/preflight';
import type { FlagCompletion } from './assist';

export type LintKind = 'script' | 'deepspeed' | 'python';

export interface AnalyzeRequest {
  op: 'analyze';
  uri: string;
  version: number;
  kind: LintKind;
  fileName: string;
  text: string;
  gpu: GpuFacts;
  gpuSource: string;
  transformersVersion?: string;
  /** OS / CUDA of the launch target, when known. */
  platform?: TargetPlatform;
  /** Ports in use on the target or by other jobs. */
  portsInUse?: readonly PortInUse[];
  /** Unsaved text of open documents by file path (DeepSpeed configs the script names, finetune.py). */
  openFiles: Record<string, string>;
}

export interface LensInfo {
  range: Range;
  launchIndex: number;
  peakBytesPerGpu?: number;
  fits?: boolean;
  firstSuggestion?: string;
  missing?: string;
}

export interface AnalyzeResponse {
  findings: FixableFinding[];
  lenses: LensInfo[];
  /** DeepSpeed configs the script names (absolute), so the host lints them too. */
  deepSpeedConfigs: string[];
}

export interface HoverRequest {
  op: 'hover';
  uri: string;
  version: number;
  position: Position;
}

export interface HoverResponse {
  hover?: { markdown: string; range: Range };
}

export interface CompleteRequest {
  op: 'complete';
  uri: string;
  version: number;
  line: number;
  textBeforeCursor: string;
}

export interface CompleteResponse {
  items: FlagCompletion[];
}

export interface EstimateRequest {
  op: 'estimate';
  uri: string;
  version: number;
  launchIndex: number;
}

export interface EstimateResponse {
  peakBytesPerGpu?: number;
  /** What must fit (allocator cache that PyTorch can release left out); fit checks compare this. */
  requiredBytesPerGpu?: number;
  breakdown?: Breakdown;
  notes: string[];
  suggestions: Array<{ change: string; peakBytesPerGpu: number }>;
  gpu: GpuFacts;
  missing?: string;
}

export interface CloseRequest {
  op: 'close';
  uri: string;
}

/** The launcher's preflight (src/core/jobs/preflight.ts): reads the saved script and the files it names. */
export interface PreflightRequest extends PreflightInput {
  op: 'preflight';
}

export type ServiceRequest = AnalyzeRequest | HoverRequest | CompleteRequest | EstimateRequest | CloseRequest | PreflightRequest;

export interface ResponseFor {
  analyze: AnalyzeResponse;
  hover: HoverResponse;
  complete: CompleteResponse;
  estimate: EstimateResponse;
  close: Record<string, never>;
  preflight: PreflightResult;
}

/** Envelope on the worker's message port. `stale` answers a request for a version the worker has not analysed. */
export type WorkerMessage = { id: number; request: ServiceRequest };
export type WorkerReply = { id: number; ok: true; response: unknown } | { id: number; ok: false; error: string; stale?: boolean };
