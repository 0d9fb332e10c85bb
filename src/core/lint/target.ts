/**
 * Facts about the machine a job runs on besides its GPUs (those are GpuFacts). Lint rules read them like GPU facts:
 * the launcher fills them from its probe of the target; when a fact is unknown the rules that need it stay silent.
 */

/** The target's platform, for rules about libraries that need CUDA (bitsandbytes: Q-BNB-PLATFORM). */
export interface TargetPlatform {
  /** Node's `process.platform` names: 'linux', 'darwin', 'win32'. */
  os?: string;
  /** Whether the target has a CUDA GPU: false when the probe found none (no nvidia-smi, Apple MPS only). */
  cuda?: boolean;
  /** Where these facts come from, for messages ("probe of gpu-box", "this machine"). */
  source?: string;
}

/** A TCP port that a job launched now cannot listen on (SCRIPT-PORT). */
export interface PortInUse {
  port: number;
  /** Who holds it, for messages ("job 3 (finetune_lora.sh)", "a listening process on gpu-box"). */
  by?: string;
}

/** Why bitsandbytes cannot run on this platform, or undefined when it can (or the platform is not known). */
export function bitsandbytesBlocker(platform: TargetPlatform | undefined): { severity: 'error' | 'warning'; reason: string } | undefined {
  if (!platform) return undefined;
  const where = platform.source ? ` (${platform.source})` : '';
  if (platform.os === 'darwin') return { severity: 'error', reason: `the target is macOS${where}, which has no CUDA (Apple GPUs use MPS)` };
  if (platform.cuda === false) return { severity: 'error', reason: `the target has no CUDA GPU${where}` };
  // bitsandbytes ships Windows CUDA wheels since 0.43.0 (2024-03); the MiniCPM-V answer (#215) predates them.
  if (platform.os === 'win32') return { severity: 'warning', reason: `the target is Windows${where}, where bitsandbytes works only from 0.43.0 with CUDA (older versions are Linux-only)` };
  return undefined;
}
