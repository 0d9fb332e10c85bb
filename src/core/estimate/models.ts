/**
 * Model shapes for the memory estimate: from a local config.json, or a built-in table of the models the
 * workbench targets (values are those of the public config.json files).
 */

export interface VisionShape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  /** Patches per slice: (image_size / patch_size)^2. */
  patchesPerSlice: number;
  /** LLM tokens per slice after the resampler/merger (MiniCPM-V query_num = 64). */
  tokensPerSlice: number;
  /** Resampler / merger parameters (trained with LoRA in MiniCPM-V: modules_to_save). */
  projectorParams: number;
}

export interface ModelShape {
  id: string;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  vision?: VisionShape;
  /** Weights stored quantized (int4 checkpoints, GPTQ/AWQ/bnb). */
  quantized?: 'int4' | 'int8';
  /** MiniCPM-V code path (LoRA also trains embed_tokens + resampler via modules_to_save). */
  family?: 'minicpmv' | 'qwen-vl' | 'llm';
  /**
   * The model's own forward takes the loss of its 16-bit logits without upcasting them (Qwen-1 / Qwen-VL remote code,
   * modeling_qwen.py QWenLMHeadModel.forward: CrossEntropyLoss on lm_head's output), unlike transformers' loss functions.
   */
  halfPrecisionLoss?: boolean;
}

const siglip400m = { hiddenSize: 1152, intermediateSize: 4304, numLayers: 27, patchesPerSlice: 1024, tokensPerSlice: 64, projectorParams: 0 };

function llm(id: string, h: number, i: number, layers: number, heads: number, kv: number, vocab: number, tied: boolean): ModelShape {
  return { id, hiddenSize: h, intermediateSize: i, numLayers: layers, numHeads: heads, numKvHeads: kv, vocabSize: vocab, tiedEmbeddings: tied, family: 'llm' };
}

/** Resampler of MiniCPM-V: kv_proj (vision→LLM width), MultiheadAttention (4h²), query, layer norms, proj (h²). */
function resamplerParams(llmHidden: number, visionHidden: number, queries: number): number {
  return visionHidden * llmHidden + 4 * llmHidden * llmHidden + queries * llmHidden + llmHidden * llmHidden + 6 * llmHidden;
}

function minicpmv(id: string, base: ModelShape, queries = 64): ModelShape {
  return { ...base, id, family: 'minicpmv', vision: { ...siglip400m, tokensPerSlice: queries, projectorParams: resamplerParams(base.hiddenSize, 1152, queries) } };
}

function qwenVl(id: string, base: ModelShape): ModelShape {
  // Qwen2/2.5-VL ViT: 32 layers, width 1280, MLP 3420 (2.5) / 5120 (2); 14px patches, 2x2 merge → 256 tokens per 448² image.
  return { ...base, id, family: 'qwen-vl', vision: { hiddenSize: 1280, intermediateSize: 3420, numLayers: 32, patchesPerSlice: 1024, tokensPerSlice: 256, projectorParams: 1280 * 4 * 1280 * 4 + 1280 * 4 * base.hiddenSize } };
}

const qwen2_7b = llm('Qwen/Qwen2-7B', 3584, 18944, 28, 28, 4, 152064, false);
const qwen25_7b = llm('Qwen/Qwen2.5-7B', 3584, 18944, 28, 28, 4, 152064, false);
const qwen25_3b = llm('Qwen/Qwen2.5-3B', 2048, 11008, 36, 16, 2, 151936, true);
const llama3_8b = llm('meta-llama/Meta-Llama-3-8B', 4096, 14336, 32, 32, 8, 128256, false);
const qwen3_8b = llm('Qwen/Qwen3-8B', 4096, 12288, 36, 32, 8, 151936, false);

/** Known models by Hugging Face id (case-insensitive; quantized suffixes are handled by lookupModel). */
export const builtinModels: readonly ModelShape[] = [
  llm('Qwen/Qwen2-0.5B', 896, 4864, 24, 14, 2, 151936, true),
  llm('Qwen/Qwen2-1.5B', 1536, 8960, 28, 12, 2, 151936, true),
  qwen2_7b,
  llm('Qwen/Qwen2.5-0.5B', 896, 4864, 24, 14, 2, 151936, true),
  llm('Qwen/Qwen2.5-1.5B', 1536, 8960, 28, 12, 2, 151936, true),
  qwen25_3b,
  qwen25_7b,
  llm('Qwen/Qwen2.5-14B', 5120, 13824, 48, 40, 8, 152064, false),
  llm('Qwen/Qwen2.5-32B', 5120, 27648, 64, 40, 8, 152064, false),
  llm('Qwen/Qwen2.5-72B', 8192, 29568, 80, 64, 8, 152064, false),
  llm('Qwen/Qwen3-8B', 4096, 12288, 36, 32, 8, 151936, false),
  { ...llm('Qwen/Qwen-1_8B', 2048, 5504, 24, 16, 16, 151936, false), halfPrecisionLoss: true },
  { ...llm('Qwen/Qwen-7B', 4096, 11008, 32, 32, 32, 151936, false), halfPrecisionLoss: true },
  { ...llm('Qwen/Qwen-14B', 5120, 13696, 40, 40, 40, 152064, false), halfPrecisionLoss: true },
  { ...llm('Qwen/Qwen-72B', 8192, 24576, 80, 64, 64, 152064, false), halfPrecisionLoss: true },
  llm('meta-llama/Llama-2-7b-hf', 4096, 11008, 32, 32, 32, 32000, false),
  llama3_8b,
  llm('meta-llama/Llama-3.1-8B', 4096, 14336, 32, 32, 8, 128256, false),
  llm('openlm-research/open_llama_3b', 3200, 8640, 26, 32, 32, 32000, false),
  llm('TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T', 2048, 5632, 22, 32, 4, 32000, false),
  minicpmv('openbmb/MiniCPM-V-2_6', { ...qwen2_7b, vocabSize: 151666 }),
  minicpmv('openbmb/MiniCPM-o-2_6', { ...qwen25_7b, vocabSize: 151700 }),
  minicpmv('openbmb/MiniCPM-Llama3-V-2_5', { ...llama3_8b, vocabSize: 128256 }, 96),
  minicpmv('openbmb/MiniCPM-V-2', llm('openbmb/MiniCPM-2B', 2304, 5760, 40, 36, 36, 122753, true)),
  minicpmv('openbmb/MiniCPM-V-4_5', qwen3_8b),
  qwenVl('Qwen/Qwen2-VL-7B-Instruct', qwen2_7b),
  qwenVl('Qwen/Qwen2.5-VL-7B-Instruct', qwen25_7b),
  qwenVl('Qwen/Qwen2.5-VL-3B-Instruct', qwen25_3b),
];

const quantSuffix = /-(int4|int8|GPTQ-Int4|GPTQ-Int8|AWQ|BNB|bnb-4bit|4bit)$/i;

/** A built-in shape by id (`openbmb/MiniCPM-V-2_6-int4` is the 2.6 shape with int4 weights; `-Instruct`/`-Chat` match the base). */
export function lookupModel(id: string): ModelShape | undefined {
  const quant = quantSuffix.exec(id)?.[1];
  const bare = id.replace(quantSuffix, '');
  const candidates = [bare, bare.replace(/-(Instruct|Chat)$/i, ''), `${bare}-Instruct`];
  const found = builtinModels.find((m) => candidates.some((c) => c.toLowerCase() === m.id.toLowerCase()))
    ?? builtinModels.find((m) => candidates.some((c) => c.toLowerCase().endsWith(`/${m.id.split('/')[1].toLowerCase()}`)));
  if (!found) return undefined;
  return quant ? { ...found, id, quantized: /int8/i.test(quant) ? 'int8' : 'int4' } : { ...found, id };
}

type Json = Record<string, unknown>;

function num(obj: Json | undefined, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const v = obj?.[key];
    if (typeof v === 'number') return v;
  }
  return undefined;
}

/** A shape from a Hugging Face config.json (text_config / llm_config nesting and vision_config understood). */
export function modelFromConfig(config: Json, id = 'config.json'): ModelShape {
  const text = (config.text_config ?? config.llm_config ?? config) as Json;
  const hidden = num(text, 'hidden_size', 'n_embd', 'd_model');
  const layers = num(text, 'num_hidden_layers', 'n_layer', 'num_layers');
  const vocab = num(text, 'vocab_size') ?? num(config, 'vocab_size');
  if (!hidden || !layers || !vocab) throw new Error(`${id}: needs hidden_size, num_hidden_layers and vocab_size`);
  const heads = num(text, 'num_attention_heads', 'n_head') ?? Math.max(1, Math.round(hidden / 128));
  // Qwen-1 configs give intermediate_size as the doubled (w1+w2) width.
  const rawInter = num(text, 'intermediate_size', 'ffn_hidden_size', 'n_inner') ?? 4 * hidden;
  const inter = config.model_type === 'qwen' ? rawInter / 2 : rawInter;
  const shape: ModelShape = {
    id,
    hiddenSize: hidden,
    intermediateSize: inter,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: num(text, 'num_key_value_heads', 'multi_query_group_num') ?? heads,
    vocabSize: vocab,
    tiedEmbeddings: (text.tie_word_embeddings ?? config.tie_word_embeddings) === true,
    family: /minicpmv/i.test(String(config.model_type ?? '')) ? 'minicpmv' : config.vision_config ? 'qwen-vl' : 'llm',
    ...(config.model_type === 'qwen' ? { halfPrecisionLoss: true } : {}),
  };
  const vision = config.vision_config as Json | undefined;
  if (vision) {
    const vh = num(vision, 'hidden_size', 'embed_dim') ?? 1152;
    const patch = num(vision, 'patch_size') ?? 14;
    const image = num(vision, 'image_size') ?? 448;
    const queries = num(config, 'query_num') ?? 64;
    const merge = num(vision, 'spatial_merge_size') ?? 0;
    const patches = Math.round((shape.family === 'minicpmv' ? (num(config.slice_config as Json, 'scale_resolution') ?? 448) : image) / patch) ** 2;
    shape.vision = {
      hiddenSize: vh,
      intermediateSize: num(vision, 'intermediate_size') ?? 4 * vh,
      numLayers: num(vision, 'num_hidden_layers', 'depth') ?? 27,
      patchesPerSlice: patches,
      tokensPerSlice: shape.family === 'minicpmv' ? queries : merge ? patches / (merge * merge) : patches,
      projectorParams: shape.family === 'minicpmv' ? resamplerParams(hidden, vh, queries) : vh * 4 * vh * 4 + vh * 4 * hidden,
    };
  }
  const q = config.quantization_config as Json | undefined;
  if (q) shape.quantized = q.load_in_8bit === true || q.bits === 8 ? 'int8' : 'int4';
  return shape;
}

export interface ParamCounts {
  embedding: number;
  lmHead: number;
  /** Linear weights of all decoder layers (what LoRA targets and int4 quantizes). */
  layerLinear: number;
  other: number;
  vision: number;
  projector: number;
  total: number;
}

export function paramCounts(m: ModelShape): ParamCounts {
  const kvDim = (m.hiddenSize / m.numHeads) * m.numKvHeads;
  const attn = 2 * m.hiddenSize * m.hiddenSize + 2 * m.hiddenSize * kvDim;
  const mlp = 3 * m.hiddenSize * m.intermediateSize;
  const layerLinear = m.numLayers * (attn + mlp);
  const embedding = m.vocabSize * m.hiddenSize;
  const lmHead = m.tiedEmbeddings ? 0 : embedding;
  const other = m.numLayers * 2 * m.hiddenSize + m.hiddenSize;
  const v = m.vision;
  const vision = v ? v.numLayers * (4 * v.hiddenSize * v.hiddenSize + 2 * v.hiddenSize * v.intermediateSize) : 0;
  const projector = v?.projectorParams ?? 0;
  return { embedding, lmHead, layerLinear, other, vision, projector, total: embedding + lmHead + layerLinear + other + vision + projector };
}
