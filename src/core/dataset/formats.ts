/** Dataset formats the linter knows (the names of the `dataset.formatOverrides` setting and `--format`). */
export const datasetFormats = ['minicpmv', 'llava', 'sharegpt', 'qwen', 'messages', 'qwenvl', 'llamafactory'] as const;
export type DatasetFormat = (typeof datasetFormats)[number];

export const formatLabels: Record<DatasetFormat, string> = {
  minicpmv: 'MiniCPM-V / MiniCPM-o',
  llava: 'LLaVA',
  sharegpt: 'ShareGPT',
  qwen: 'Qwen / Qwen-VL (1st gen)',
  messages: 'OpenAI messages (Qwen2.5, ms-swift)',
  qwenvl: 'Qwen2-VL / 2.5-VL / 3-VL',
  llamafactory: 'LLaMA-Factory (with images)',
};

export function isDatasetFormat(name: string | undefined): name is DatasetFormat {
  return (datasetFormats as readonly string[]).includes(name ?? '');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The format one sample looks like, or undefined when it says nothing (not an object, no conversation). */
export function detectSampleFormat(sample: unknown): DatasetFormat | undefined {
  if (!isObject(sample)) return undefined;
  const hasMedia = 'images' in sample || 'videos' in sample;
  if (Array.isArray(sample.messages) && !Array.isArray(sample.conversations)) return hasMedia ? 'llamafactory' : 'messages';
  const conversations = sample.conversations;
  if (!Array.isArray(conversations)) {
    if ('image' in sample && isObject(sample.image)) return 'minicpmv';
    return undefined;
  }
  if (hasMedia) return 'llamafactory';
  if (isObject(sample.image)) return 'minicpmv';
  const turns = conversations.filter(isObject);
  const roleStyle = turns.filter((t) => 'role' in t || 'content' in t).length;
  const fromStyle = turns.filter((t) => 'from' in t || 'value' in t).length;
  if (roleStyle >= fromStyle && roleStyle > 0) return 'minicpmv';
  if (fromStyle === 0) return 'image' in sample ? 'minicpmv' : undefined;
  const speakers = turns.map((t) => t.from);
  const humanGpt = speakers.some((s) => s === 'human' || s === 'gpt');
  if (Array.isArray(sample.image) || 'video' in sample) return 'qwenvl';
  if (humanGpt) {
    if ('image' in sample) return 'id' in sample ? 'llava' : 'qwenvl';
    return 'id' in sample ? 'llava' : 'sharegpt';
  }
  if ('image' in sample) return 'qwenvl';
  // Qwen(-VL) 1st gen: `from` is user/assistant (its finetune.py has no other roles); ShareGPT speaks human/gpt.
  return speakers.some((s) => s === 'user' || s === 'assistant') ? 'qwen' : 'sharegpt';
}

/** Majority vote over the first samples; ties go to the earliest sample's format. */
export function detectFormat(samples: readonly unknown[], fileName = ''): DatasetFormat {
  const votes = new Map<DatasetFormat, number>();
  let first: DatasetFormat | undefined;
  for (const sample of samples) {
    const format = detectSampleFormat(sample);
    if (!format) continue;
    first ??= format;
    votes.set(format, (votes.get(format) ?? 0) + 1);
  }
  let best = first;
  for (const [format, count] of votes) if (best === undefined || count > (votes.get(best) ?? 0)) best = format;
  if (best) return best;
  return fileName.endsWith('.jsonl') ? 'messages' : 'minicpmv';
}
