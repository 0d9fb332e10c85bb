import type { DeepSpeedFacts } from '../deepspeed/config';
import type { Offload } from './estimate';

/**
 * The DeepSpeed ZeRO settings that size DeepSpeed's own GPU buffers, in elements (not bytes). Undefined fields take
 * DeepSpeed's defaults (`zeroDefaults`).
 */
export interface ZeroSettings {
  /** `reduce_bucket_size`: gradients reduced at a time (stage 1/2 ipg buffers, stage 3 ipg bucket). */
  reduceBucketSize?: number;
  /**
   * `allgather_bucket_size` (stage 1/2). Kept for completeness: with torch's all_gather_into_tensor (torch ≥ 1.13)
   * DeepSpeed gathers straight into the flat 16-bit buffer (deepspeed/runtime/utils.py all_gather_dp_groups), so it
   * sizes no allocation.
   */
  allgatherBucketSize?: number;
  /** `overlap_comm`: DeepSpeed's default is true for stage 3 and false otherwise. */
  overlapComm?: boolean;
  /** `contiguous_gradients`: gradients copied into the bucket buffer as they are produced (default true). */
  contiguousGradients?: boolean;
  /** `stage3_prefetch_bucket_size`: parameters fetched ahead of use. */
  prefetchBucketSize?: number;
  /** `stage3_param_persistence_threshold`: tensors smaller than this stay whole on every GPU. */
  paramPersistenceThreshold?: number;
  /** `stage3_max_live_parameters`: gathered parameters kept resident before releasing. */
  maxLiveParameters?: number;
  /** `stage3_max_reuse_distance`: a gathered parameter reused within this many parameters is not released. */
  maxReuseDistance?: number;
  /** `sub_group_size`: the stage-3 optimizer steps one sub-group at a time. */
  subGroupSize?: number;
}

/** DeepSpeed's defaults: deepspeed/runtime/zero/config.py, DeepSpeedZeroConfig (overlap_comm: its validator). */
export const zeroDefaults = {
  reduceBucketSize: 5e8,
  allgatherBucketSize: 5e8,
  contiguousGradients: true,
  prefetchBucketSize: 5e7,
  paramPersistenceThreshold: 1e5,
  maxLiveParameters: 1e9,
  maxReuseDistance: 1e9,
  subGroupSize: 1e9,
} as const;

export type ResolvedZeroSettings = Required<ZeroSettings>;

/** Fills the defaults in (overlap_comm depends on the stage). */
export function resolveZeroSettings(settings: ZeroSettings | undefined, stage: number): ResolvedZeroSettings {
  return { ...zeroDefaults, overlapComm: stage === 3, ...stripUndefined(settings ?? {}) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The ZeRO settings a DeepSpeed config sets. `"auto"` values are filled the way the Hugging Face Trainer fills them
 * (transformers integrations/deepspeed.py, HfTrainerDeepSpeedConfig.trainer_config_finalize; domain.md C.2):
 * reduce_bucket_size = hidden², and for stage 3 stage3_prefetch_bucket_size = int(0.9·hidden²) and
 * stage3_param_persistence_threshold = 10·hidden, with hidden = the model's hidden_size.
 */
export function zeroSettingsFromDeepSpeed(facts: DeepSpeedFacts, hiddenSize: number): ZeroSettings {
  const read = (key: string, auto?: number): number | undefined => {
    const value = facts.valueAt(`zero_optimization.${key}`)?.value;
    if (value === 'auto') return auto;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
    if (typeof value === 'string' && /^\d+(\.\d+)?(e\d+)?$/i.test(value)) return Number(value);
    return undefined;
  };
  const flag = (key: string): boolean | undefined => {
    const value = facts.valueAt(`zero_optimization.${key}`)?.value;
    return typeof value === 'boolean' ? value : undefined;
  };
  const h2 = hiddenSize * hiddenSize;
  const stage3 = facts.stage === 3;
  return {
    reduceBucketSize: read('reduce_bucket_size', h2),
    allgatherBucketSize: read('allgather_bucket_size'),
    overlapComm: flag('overlap_comm'),
    contiguousGradients: flag('contiguous_gradients'),
    // HF fills these two only for stage 3; for other stages DeepSpeed ignores them.
    prefetchBucketSize: read('stage3_prefetch_bucket_size', stage3 ? Math.floor(0.9 * h2) : undefined),
    paramPersistenceThreshold: read('stage3_param_persistence_threshold', stage3 ? 10 * hiddenSize : undefined),
    maxLiveParameters: read('stage3_max_live_parameters'),
    maxReuseDistance: read('stage3_max_reuse_distance'),
    subGroupSize: read('sub_group_size'),
  };
}

/**
 * What a DeepSpeed config tells the estimator: the ZeRO stage (0-3), what goes to CPU (parameters only from stage 3,
 * where DeepSpeed can offload them), and the buffer settings.
 */
export function estimateSettingsFromDeepSpeed(facts: DeepSpeedFacts, hiddenSize: number): { zeroStage: 0 | 1 | 2 | 3; offload: Offload; zero: ZeroSettings } {
  return {
    zeroStage: Math.min(3, Math.max(0, facts.stage)) as 0 | 1 | 2 | 3,
    offload: facts.offloadParam !== 'none' && facts.stage >= 3 ? 'all' : facts.offloadOptimizer !== 'none' ? 'optimizer' : 'none',
    zero: zeroSettingsFromDeepSpeed(facts, hiddenSize),
  };
}
