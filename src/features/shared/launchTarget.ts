import * as vscode from 'vscode';
import { gpuFactsFrom, type GpuFacts, type GpuInfo } from '../../core/gpu/nvidiaSmi';

/** GPU facts and transformers version of the launch target the user is working with, as its probe found them. */
export interface LaunchTargetFacts {
  target: string;
  /** The GPUs the job would get (the Launch panel's checked ones, else all the probe found). */
  gpus: GpuInfo[];
  transformersVersion?: string;
  /** Where the choice was made, for messages ("Launch panel", "Hosts view"). */
  chosenIn: string;
}

let current: LaunchTargetFacts | undefined;
const changed = new vscode.EventEmitter<LaunchTargetFacts | undefined>();

/**
 * The target whose probe replaces the `gpu.default` and `script.transformersVersion` settings in the script lint
 * (CodeLens estimate, GPU rules): the last one chosen, either as the Launch panel's target once probed (with its
 * checked GPUs) or with "Use for Script Lint" on a host in the Hosts view. A probe without GPUs clears it.
 */
export const launchTarget = {
  get: (): LaunchTargetFacts | undefined => current,
  onDidChange: changed.event,
  set(facts: LaunchTargetFacts | undefined): void {
    const next = facts && facts.gpus.length ? facts : undefined;
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    current = next;
    changed.fire(current);
  },
  /** GPU facts for the lint, with the message source; undefined when nothing usable was probed. */
  gpuFacts(): { gpu: GpuFacts; source: string; transformersVersion?: string } | undefined {
    const gpu = current ? gpuFactsFrom(current.gpus) : undefined;
    if (!current || !gpu) return undefined;
    return { gpu, source: `probe of ${current.target} (${current.chosenIn}): ${gpu.count}× ${gpu.name}`, transformersVersion: current.transformersVersion };
  },
};
