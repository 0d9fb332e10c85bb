import type { Severity } from '../lint/findings';
import type { DatasetFormat } from './formats';
import type { JsonPath } from './locate';

/** A change to one sample, expressed on its JSON structure; turned into minimal text edits by the locator. */
export type FixOp =
  | { op: 'renameKey'; path: JsonPath; key: string }
  | { op: 'setString'; path: JsonPath; value: string }
  /** Replace the decoded span [from, to) of the string at path with `text` (decoded). */
  | { op: 'replaceSpan'; path: JsonPath; from: number; to: number; text: string };

export interface SampleFix {
  title: string;
  ops: FixOp[];
}

/** A problem in one sample, located by JSON path (the target says whether the key, value or a span is meant). */
export interface SampleIssue {
  rule: string;
  severity: Severity;
  message: string;
  path: JsonPath;
  target: 'key' | 'value' | 'span';
  /** Decoded [from, to) inside the string value at path, for target 'span'. */
  span?: [number, number];
  fix?: SampleFix;
}

/** A media file a sample references, to be checked on disk. */
/**
 * Whether a MiniCPM-V checkpoint (a Hugging Face id or a local path) can be fine-tuned on several images per sample:
 * only MiniCPM-V 2.6, MiniCPM-o 2.6 and later (LLM_TYPE=qwen) can; MiniCPM-Llama3-V 2.5 and MiniCPM-V 2.0 cannot
 * (maintainers in OpenBMB/MiniCPM-V#522). Undefined when the name does not say.
 */
export function modelSupportsMultiImage(model: string): boolean | undefined {
  const name = model.toLowerCase();
  if (/minicpm-llama3-v-?2[._]5/.test(name)) return false;
  if (/minicpm-v-?2(?![._]?6)(?![0-9])/.test(name)) return false;
  if (/minicpm-(v-?2[._]?6|o-?2[._]?6|v-?4|o-?4)/.test(name)) return true;
  return undefined;
}

export interface MediaRef {
  path: JsonPath;
  file: string;
  kind: 'image' | 'video';
  /** Decoded [from, to) of the file inside the string at path, when it is inline (Qwen-VL's `<img>path</img>`). */
  span?: [number, number];
}

export interface RuleOptions {
  modelMaxLength: number;
}

export interface SampleFacts {
  id?: string;
  images: number;
  turns: number;
  media: MediaRef[];
}

type Role = 'user' | 'assistant' | 'system' | 'other';

interface FormatSpec {
  convKey: 'conversations' | 'messages';
  roleKey: 'role' | 'from';
  contentKey: 'content' | 'value';
  /** Allowed speaker values and what each means. */
  roles: Record<string, Role>;
  /** Known aliases in the other convention, mapped to this format's values (quick fix). */
  aliases: Record<string, string>;
  roleRule: string;
  roleSeverity: Severity;
  /** Severity when the first (non-system) turn is not a user turn; 'system' allowed first? */
  firstUser: Severity;
  systemFirstAllowed: boolean;
  alternationRule: string;
  alternationSeverity: Severity;
  loader: string;
}

const userAssistant: Record<string, Role> = { user: 'user', assistant: 'assistant' };
const humanGpt: Record<string, Role> = { human: 'user', gpt: 'assistant' };
const toUserAssistant = { human: 'user', gpt: 'assistant' };
const toHumanGpt = { user: 'human', assistant: 'gpt' };

const specs: Record<Exclude<DatasetFormat, 'llamafactory'>, FormatSpec> = {
  minicpmv: {
    convKey: 'conversations',
    roleKey: 'role',
    contentKey: 'content',
    roles: userAssistant,
    aliases: toUserAssistant,
    roleRule: 'DS-ROLE-VALUES',
    roleSeverity: 'error',
    firstUser: 'error',
    systemFirstAllowed: false,
    alternationRule: 'DS-ALTERNATION',
    alternationSeverity: 'warning',
    loader: "MiniCPM-V's finetune dataset.py",
  },
  llava: {
    convKey: 'conversations',
    roleKey: 'from',
    contentKey: 'value',
    roles: humanGpt,
    aliases: toHumanGpt,
    roleRule: 'LLAVA-ALT',
    roleSeverity: 'error',
    firstUser: 'warning',
    systemFirstAllowed: false,
    alternationRule: 'LLAVA-ALT',
    alternationSeverity: 'error',
    loader: "LLaVA's train.py",
  },
  qwenvl: {
    convKey: 'conversations',
    roleKey: 'from',
    contentKey: 'value',
    roles: humanGpt,
    aliases: toHumanGpt,
    roleRule: 'QVL-ROLE',
    roleSeverity: 'warning',
    firstUser: 'warning',
    systemFirstAllowed: false,
    alternationRule: 'DS-ALTERNATION',
    alternationSeverity: 'warning',
    loader: "Qwen-VL's data_processor.py",
  },
  sharegpt: {
    convKey: 'conversations',
    roleKey: 'from',
    contentKey: 'value',
    roles: { human: 'user', gpt: 'assistant', user: 'user', assistant: 'assistant', system: 'system', observation: 'user', function_call: 'assistant' },
    aliases: {},
    roleRule: 'DS-ROLE-VALUES',
    roleSeverity: 'error',
    firstUser: 'warning',
    systemFirstAllowed: true,
    alternationRule: 'DS-ALTERNATION',
    alternationSeverity: 'warning',
    loader: 'ShareGPT loaders',
  },
  qwen: {
    convKey: 'conversations',
    roleKey: 'from',
    contentKey: 'value',
    roles: userAssistant,
    aliases: toUserAssistant,
    roleRule: 'QWEN1-ROLE',
    roleSeverity: 'error',
    // finetune.py drops a first turn that is not from the user (source = source[1:]) instead of failing.
    firstUser: 'warning',
    systemFirstAllowed: false,
    alternationRule: 'DS-ALTERNATION',
    alternationSeverity: 'warning',
    loader: "Qwen's finetune.py",
  },
  messages: {
    convKey: 'messages',
    roleKey: 'role',
    contentKey: 'content',
    roles: { user: 'user', assistant: 'assistant', system: 'system', tool: 'user', function: 'user' },
    aliases: toUserAssistant,
    roleRule: 'DS-ROLE-VALUES',
    roleSeverity: 'error',
    firstUser: 'error',
    systemFirstAllowed: true,
    alternationRule: 'DS-ALTERNATION',
    alternationSeverity: 'warning',
    loader: 'chat-template loaders (Qwen2.5, ms-swift)',
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function specFor(format: DatasetFormat, sample: Record<string, unknown>): FormatSpec {
  if (format !== 'llamafactory') return specs[format];
  return Array.isArray(sample.messages) || !Array.isArray(sample.conversations)
    ? { ...specs.messages, loader: 'LLaMA-Factory' }
    : { ...specs.sharegpt, loader: 'LLaMA-Factory' };
}

interface Turn {
  index: number;
  path: JsonPath;
  roleKey?: string;
  role?: string;
  kind?: Role;
  contentKey?: string;
  content?: string;
  /** Number of image parts in an OpenAI content array. */
  imageParts: number;
}

const none: readonly number[] = Object.freeze([]);

function occurrences(text: string, needle: string): readonly number[] {
  let at = text.indexOf(needle);
  if (at < 0) return none;
  const found: number[] = [];
  while (at >= 0) {
    found.push(at);
    at = text.indexOf(needle, at + needle.length);
  }
  return found;
}

const multiTag = /<image_\d+>/g;

/** Approximate token count: CJK characters count one each, other text about four characters per token. */
export function estimateTextTokens(text: string): number {
  let cjk = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x2e80) cjk++;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

/** Tokens one image costs at most (MiniCPM-V 2.6: 64 per slice, 9 slices + overview; LLaVA-1.5: 576). */
const imageTokenBudget: Record<DatasetFormat, number> = { minicpmv: 640, llava: 576, qwenvl: 1280, llamafactory: 1280, messages: 1280, sharegpt: 0, qwen: 256 };

/**
 * Semantic rules of domain.md D.1 for one parsed sample (JSON Schema covers shapes and types). Duplicate ids and
 * files on disk are checked by the caller, which sees all samples and the file system.
 */
export function checkSample(sample: unknown, format: DatasetFormat, options: RuleOptions): { issues: SampleIssue[]; facts: SampleFacts } {
  const issues: SampleIssue[] = [];
  const facts: SampleFacts = { images: 0, turns: 0, media: [] };
  if (!isObject(sample)) return { issues, facts };
  if (typeof sample.id === 'string' || typeof sample.id === 'number') facts.id = String(sample.id);
  const spec = specFor(format, sample);
  const conversation = sample[spec.convKey];

  // Media fields, per format.
  const images: { path: JsonPath; file: string }[] = [];
  const videos: { path: JsonPath; file: string }[] = [];
  const collect = (key: string, into: { path: JsonPath; file: string }[]) => {
    const value = sample[key];
    if (typeof value === 'string') into.push({ path: [key], file: value });
    else if (Array.isArray(value)) value.forEach((v, i) => typeof v === 'string' && into.push({ path: [key, i], file: v }));
  };
  let multiKeys: string[] | undefined;
  if (format === 'minicpmv') {
    if (typeof sample.image === 'string') images.push({ path: ['image'], file: sample.image });
    else if (isObject(sample.image)) {
      const keys = Object.keys(sample.image);
      for (const key of keys) {
        const file = sample.image[key];
        if (typeof file === 'string') images.push({ path: ['image', key], file });
      }
      if (!(keys.length === 1 && keys[0] === '<image>')) multiKeys = keys;
    }
    if ('video' in sample) {
      issues.push({
        rule: 'DS-VIDEO',
        severity: 'error',
        message: "MiniCPM-V's finetune code (since 53c0174) does not read `video`; the sample fails with 'data fetch error'. Fine-tune video with LLaMA-Factory or the MiniCPM-V cookbook.",
        path: ['video'],
        target: 'key',
      });
    }
  } else if (format === 'llava') {
    collect('image', images);
  } else if (format === 'qwenvl') {
    collect('image', images);
    collect('video', videos);
    if ('images' in sample && !('image' in sample)) {
      issues.push({
        rule: 'QVL-IMAGES-KEY',
        severity: 'warning',
        message: "Qwen-VL's data_processor reads `image`, not `images`; the images are ignored and the run fails with 'Number of <image> placeholders exceeds the number of provided images'. Rename the key to `image`.",
        path: ['images'],
        target: 'key',
        fix: { title: 'Rename `images` to `image`', ops: [{ op: 'renameKey', path: ['images'], key: 'image' }] },
      });
      collect('images', images);
    }
  } else if (format === 'llamafactory' || format === 'messages') {
    collect('images', images);
    collect('videos', videos);
  }
  facts.images = images.length;
  for (const image of images) facts.media.push({ ...image, kind: 'image' });
  for (const video of videos) facts.media.push({ ...video, kind: 'video' });

  if (!Array.isArray(conversation)) return { issues, facts };

  // Turns.
  const otherRoleKey = spec.roleKey === 'role' ? 'from' : 'role';
  const otherContentKey = spec.contentKey === 'content' ? 'value' : 'content';
  const turns: Turn[] = [];
  conversation.forEach((item, index) => {
    if (!isObject(item)) return;
    const path: JsonPath = [spec.convKey, index];
    const turn: Turn = { index, path, imageParts: 0 };
    const roleKey = spec.roleKey in item ? spec.roleKey : otherRoleKey in item ? otherRoleKey : undefined;
    const contentKey = spec.contentKey in item ? spec.contentKey : otherContentKey in item ? otherContentKey : undefined;
    turn.roleKey = roleKey;
    turn.contentKey = contentKey;
    if (roleKey && typeof item[roleKey] === 'string') turn.role = item[roleKey] as string;
    if (contentKey) {
      const content = item[contentKey];
      if (typeof content === 'string') turn.content = content;
      else if (Array.isArray(content)) {
        turn.content = content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
        turn.imageParts = content.filter((part) => isObject(part) && (part.type === 'image' || part.type === 'image_url')).length;
      }
    }
    if ((roleKey && roleKey !== spec.roleKey) || (contentKey && contentKey !== spec.contentKey)) {
      const ops: FixOp[] = [];
      if (roleKey && roleKey !== spec.roleKey) ops.push({ op: 'renameKey', path: [...path, roleKey], key: spec.roleKey });
      if (contentKey && contentKey !== spec.contentKey) ops.push({ op: 'renameKey', path: [...path, contentKey], key: spec.contentKey });
      issues.push({
        rule: 'DS-ROLE-KEYS',
        severity: 'error',
        message: `${spec.loader} reads \`${spec.roleKey}\`/\`${spec.contentKey}\`, not \`${roleKey ?? spec.roleKey}\`/\`${contentKey ?? spec.contentKey}\` (KeyError → the sample is skipped). Rename the keys.`,
        path: [...path, roleKey !== spec.roleKey && roleKey ? roleKey : contentKey!],
        target: 'key',
        fix: { title: `Rename to \`${spec.roleKey}\`/\`${spec.contentKey}\``, ops },
      });
    } else if (!roleKey || !contentKey) {
      const missing = [!roleKey && spec.roleKey, !contentKey && spec.contentKey].filter(Boolean).join('` and `');
      issues.push({ rule: 'DS-ROLE-KEYS', severity: 'error', message: `This turn has no \`${missing}\`; ${spec.loader} fails on it (KeyError). Add it.`, path, target: 'value' });
    }
    if (turn.role !== undefined) {
      turn.kind = spec.roles[turn.role];
      if (!turn.kind) {
        const alias = spec.aliases[turn.role];
        const allowed = Object.keys(spec.roles).join(', ');
        issues.push({
          rule: spec.roleRule,
          severity: spec.roleSeverity,
          message: alias
            ? `Role "${turn.role}" is not one of ${allowed} for ${spec.loader}; use "${alias}".`
            : turn.role === 'system'
              ? `${spec.loader} does not accept a "system" turn (roles: ${allowed}); remove it or merge its text into the first user turn.`
              : `Role "${turn.role}" is not one of ${allowed} for ${spec.loader}.`,
          path: [...path, roleKey!],
          target: 'value',
          fix: alias ? { title: `Change role to "${alias}"`, ops: [{ op: 'setString', path: [...path, roleKey!], value: alias }] } : undefined,
        });
        turn.kind = alias ? spec.roles[alias] : turn.role === 'system' ? 'system' : 'other';
      }
    }
    if (turn.content !== undefined && turn.content.trim() === '' && turn.imageParts === 0) {
      issues.push({
        rule: 'DS-EMPTY',
        severity: 'warning',
        message: turn.kind === 'assistant' ? 'Empty answer: the model is trained to answer with nothing. Write the answer or drop the sample.' : 'Empty message text. Write it or drop the turn.',
        path: [...path, contentKey!],
        target: 'value',
      });
    }
    turns.push(turn);
  });
  facts.turns = turns.length;

  // Turn order.
  const convPath: JsonPath = [spec.convKey];
  let body = turns;
  if (spec.systemFirstAllowed && body[0]?.kind === 'system') body = body.slice(1);
  const first = body[0];
  if (first?.kind && first.kind !== 'user' && first.kind !== 'other') {
    issues.push({
      rule: 'DS-FIRST-USER',
      severity: spec.firstUser,
      message:
        format === 'minicpmv'
          ? `The first turn must be the user's (MiniCPM-V: "AssertionError: the first role must be user"); it is "${first.role}". Remove the leading turn or put the user's question first.`
          : `The first turn is "${first.role}", not the user's; ${spec.loader} ${spec.firstUser === 'error' ? 'rejects the sample' : 'drops it'}. Start with the user's message.`,
      path: [...first.path, first.roleKey!],
      target: 'value',
    });
  }
  const assistants = turns.filter((t) => t.kind === 'assistant').length;
  if (turns.length < 2 || assistants === 0) {
    issues.push({
      rule: 'DS-MIN-TURNS',
      severity: 'error',
      message:
        turns.length < 2
          ? `A sample needs at least a user turn and an assistant turn (MiniCPM-V: "conversations length must large than 2"); this one has ${turns.length}.`
          : 'No assistant turn: there is nothing to compute the loss on ("No tokens available to compute loss."). Add the answer.',
      path: convPath,
      target: 'key',
    });
  } else {
    for (let k = 1; k < body.length; k++) {
      const prev = body[k - 1]!;
      const cur = body[k]!;
      if (cur.kind && cur.kind === prev.kind && (cur.kind === 'user' || cur.kind === 'assistant')) {
        issues.push({
          rule: spec.alternationRule,
          severity: spec.alternationSeverity,
          message: `Two ${cur.kind} turns in a row (turns ${prev.index} and ${cur.index}); chat templates${format === 'llava' ? ' and LLaVA ("AssertionError")' : ''} expect user and assistant to alternate. Merge them or insert the missing turn.`,
          path: [...cur.path, cur.roleKey!],
          target: 'value',
        });
        break;
      }
    }
    const last = turns[turns.length - 1]!;
    if (last.kind && last.kind !== 'assistant') {
      issues.push({
        rule: 'DS-LAST-ASSISTANT',
        severity: 'warning',
        message: 'The last turn is not an assistant turn: it has no answer and nothing is learned from it. Add the answer or remove the turn.',
        path: [...last.path, last.roleKey!],
        target: 'value',
      });
    }
  }

  // Placeholders.
  const contentPath = (t: Turn): JsonPath => [...t.path, t.contentKey!];
  const textTurns = turns.filter((t) => t.content !== undefined && t.contentKey && typeof (conversation[t.index] as Record<string, unknown>)[t.contentKey] === 'string');
  if (format === 'minicpmv') {
    checkMiniCpmPlaceholders(issues, textTurns, images.length, multiKeys, contentPath);
    checkThinking(issues, turns, contentPath);
  }
  else if (format === 'qwenvl') checkCounts(issues, textTurns, images.length, videos.length, 'QVL-COUNT', contentPath, true);
  else if (format === 'llava') checkLlavaPlaceholders(issues, textTurns, images.length, contentPath);
  else if (format === 'qwen') collectInlineImages(textTurns, contentPath, images, facts);
  else if (format === 'llamafactory' || (format === 'messages' && images.length + videos.length > 0)) {
    checkCounts(issues, textTurns, images.length, videos.length, 'LF-IMG-COUNT', contentPath, false);
  }

  // Length.
  if (options.modelMaxLength > 0) {
    let tokens = images.length * imageTokenBudget[format] + turns.length * 5;
    for (const t of turns) if (t.content) tokens += estimateTextTokens(t.content);
    if (tokens > options.modelMaxLength) {
      issues.push({
        rule: 'DS-LEN',
        severity: 'warning',
        message: `About ${tokens} tokens (text estimate plus up to ${imageTokenBudget[format]} per image) exceed model_max_length ${options.modelMaxLength}; the tail is truncated ("The input length … exceeds the model's maximum length"). Raise MODEL_MAX_Length (4096 for multi-image), lower --max_slice_nums, or shorten the sample.`,
        path: convPath,
        target: 'key',
      });
    }
  }
  return { issues, facts };
}

/**
 * Qwen-VL (1st gen) names its images inline, `Picture 1: <img>path_or_url</img>` (QwenLM/Qwen-VL README): each counts
 * as an image (256 tokens), and local paths are checked on disk like any image field.
 */
function collectInlineImages(turns: Turn[], contentPath: (t: Turn) => JsonPath, images: { path: JsonPath; file: string }[], facts: SampleFacts): void {
  for (const t of turns) {
    const content = t.content!;
    for (let open = content.indexOf('<img>'); open >= 0; open = content.indexOf('<img>', open + 5)) {
      const close = content.indexOf('</img>', open + 5);
      if (close < 0) break;
      const from = open + 5;
      const file = content.slice(from, close);
      images.push({ path: contentPath(t), file });
      facts.images++;
      if (file.trim() && !/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) facts.media.push({ path: contentPath(t), file, kind: 'image', span: [from, close] });
    }
  }
}

/**
 * Fast path for the common clean MiniCPM-V sample: one image path (or an {"<image_NN>": path} object whose keys are
 * all used), user/assistant turns alternating from the user to the assistant, the image tags in the first turn and
 * no other markup anywhere, no empty text, and every field of the JSON Schema well-typed. Returns the sample's
 * facts, or undefined whenever the schema or the full rules might find anything: it must never call a sample clean
 * that they would not (a unit test compares both on generated samples).
 */
export function cleanMiniCpmFacts(sample: unknown): SampleFacts | undefined {
  if (!isObject(sample)) return undefined;
  const image = sample.image;
  const conversation = sample.conversations;
  if (!Array.isArray(conversation) || 'video' in sample) return undefined;
  const id = sample.id;
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id))) return undefined;
  let keys: string[] | undefined;
  if (typeof image === 'string') {
    if (image.length === 0) return undefined;
  } else if (isObject(image)) {
    keys = Object.keys(image);
    if (keys.length === 0) return undefined;
    for (const key of keys) {
      const file = image[key];
      if (typeof file !== 'string' || file.length === 0 || !/^<image_\d+>$/.test(key)) return undefined;
    }
  } else return undefined;
  const n = conversation.length;
  if (n < 2 || n % 2 !== 0) return undefined;
  for (let i = 0; i < n; i++) {
    const turn = conversation[i] as Record<string, unknown>;
    if (typeof turn !== 'object' || turn === null || Array.isArray(turn)) return undefined;
    const role = turn.role;
    const content = turn.content;
    if (typeof content !== 'string' || role !== (i % 2 === 0 ? 'user' : 'assistant')) return undefined;
    if (('from' in turn && typeof turn.from !== 'string') || ('value' in turn && typeof turn.value !== 'string')) return undefined;
    if (content.length === 0) return undefined;
    const first = content.charCodeAt(0);
    const last = content.charCodeAt(content.length - 1);
    // Only text that could be all whitespace needs trim() (DS-EMPTY).
    if ((first <= 0x20 || first >= 0x80 || last <= 0x20 || last >= 0x80) && content.trim().length === 0) return undefined;
    const lt = content.indexOf('<');
    if (i > 0) {
      if (lt >= 0) return undefined;
      continue;
    }
    if (lt < 0) return undefined;
    if (!keys) {
      if (!content.startsWith('<image>', lt) || content.indexOf('<', lt + 1) >= 0) return undefined;
      continue;
    }
    // Several images: every "<" starts a tag that is a key, and every key is used.
    let used = 0;
    for (let at = lt; at >= 0; at = content.indexOf('<', at + 1)) {
      const close = content.indexOf('>', at);
      if (close < 0) return undefined;
      const tag = content.slice(at, close + 1);
      if (!keys.includes(tag)) return undefined;
      used++;
    }
    if (used < keys.length || new Set(content.match(/<image_\d+>/g)).size !== keys.length) return undefined;
  }
  const media: MediaRef[] = keys
    ? keys.map((key) => ({ path: ['image', key], file: (image as Record<string, string>)[key]!, kind: 'image' as const }))
    : [{ path: ['image'], file: image as string, kind: 'image' }];
  return {
    id: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    images: media.length,
    turns: n,
    media,
  };
}

/**
 * DS-THINK: MiniCPM-V's qwen path (since af22b8f) passes enable_thinking=True to the chat template when the last
 * message has both <think> and </think> (MiniCPM-V 4.5 thinking data). Worth knowing, not wrong.
 */
function checkThinking(issues: SampleIssue[], turns: Turn[], contentPath: (t: Turn) => JsonPath): void {
  const last = turns[turns.length - 1];
  if (!last || last.kind !== 'assistant' || last.content === undefined) return;
  const open = last.content.indexOf('<think>');
  if (open < 0 || last.content.indexOf('</think>', open) < 0) return;
  issues.push({
    rule: 'DS-THINK',
    severity: 'info',
    message:
      "This answer has <think>…</think>: MiniCPM-V's finetune code (LLM_TYPE=qwen, since commit af22b8f) then formats the sample with the thinking template (enable_thinking=True). Intended for thinking data (MiniCPM-V 4.5); older code trains the tags as plain text.",
    path: contentPath(last),
    target: 'span',
    span: [open, open + '<think>'.length],
  });
}

function checkMiniCpmPlaceholders(issues: SampleIssue[], turns: Turn[], imageCount: number, multiKeys: string[] | undefined, contentPath: (t: Turn) => JsonPath): void {
  const reserved: [string, Severity, string][] = [
    ['</image>', 'error', 'counted as an image end'],
    ['<slice>', 'error', 'counted as a slice start (qwen schema)'],
    ['</slice>', 'error', 'counted as a slice end (qwen schema)'],
    ['<image_id>', 'warning', 'a tokenizer special string'],
    ['</image_id>', 'warning', 'a tokenizer special string'],
    ['<unk>', 'warning', 'the image filler token'],
  ];
  for (const t of turns) {
    if (!t.content!.includes('<')) continue;
    for (const [token, severity, why] of reserved) {
      for (const at of occurrences(t.content!, token)) {
        issues.push({
          rule: 'DS-RESERVED',
          severity,
          message: `"${token}" is reserved by the MiniCPM-V tokenizer (${why}); in text it breaks the image bounds ("image start token != image end tokens"). Remove or reword it.`,
          path: contentPath(t),
          target: 'span',
          span: [at, at + token.length],
        });
      }
    }
  }
  if (imageCount === 0 && !multiKeys) return;
  const firstTurn = turns.find((t) => t.index === 0);
  if (!multiKeys) {
    // Single image: only conversations[0] is searched for <image>.
    const firstTags = firstTurn ? occurrences(firstTurn.content!, '<image>') : [];
    for (const t of turns) {
      const tags = occurrences(t.content!, '<image>');
      if (t.index === 0) {
        for (const at of tags.slice(1)) {
          issues.push({
            rule: 'DS-IMG-TAG-DUP',
            severity: 'error',
            message: 'More than one <image> in the first turn: the single image would be inserted twice. Keep one.',
            path: contentPath(t),
            target: 'span',
            span: [at, at + 7],
          });
        }
      } else {
        for (const at of tags) {
          const content = t.content!;
          const end = content.startsWith('\n', at + 7) ? at + 8 : at + 7;
          const start = end === at + 7 && at > 0 && content[at - 1] === ' ' ? at - 1 : at;
          const ops: FixOp[] = [{ op: 'replaceSpan', path: contentPath(t), from: start, to: end, text: '' }];
          if (firstTurn && firstTags.length === 0 && tags.length === 1) ops.push({ op: 'replaceSpan', path: contentPath(firstTurn), from: 0, to: 0, text: '<image>\n' });
          issues.push({
            rule: 'DS-IMG-TAG-LATER',
            severity: 'error',
            message: `<image> in turn ${t.index}: MiniCPM-V only replaces it in the first turn, so here it unbalances the image tokens ("image start token != image end tokens") and the sample is skipped. Move it to the first user turn.`,
            path: contentPath(t),
            target: 'span',
            span: [at, at + 7],
            fix: { title: 'Move <image> to the first user turn', ops },
          });
        }
      }
      if (!t.content!.includes('<image_')) continue;
      for (const match of t.content!.matchAll(multiTag)) {
        issues.push({
          rule: 'DS-MULTI-UNKNOWN-TAG',
          severity: 'error',
          message: `${match[0]} names no image: this sample has a single image path, so only <image> is replaced. Use <image>, or make "image" an object {"${match[0]}": path}.`,
          path: contentPath(t),
          target: 'span',
          span: [match.index, match.index + match[0].length],
        });
      }
    }
    if (firstTurn && firstTags.length === 0 && !turns.some((t) => t.content!.includes('<image>'))) {
      issues.push({
        rule: 'DS-IMG-TAG-NONE',
        severity: 'info',
        message: 'No <image> tag: MiniCPM-V puts the image before the first turn by default. Insert "<image>\\n" to make the placement explicit.',
        path: contentPath(firstTurn),
        target: 'value',
        fix: { title: 'Insert <image>\\n at the start of the first user turn', ops: [{ op: 'replaceSpan', path: contentPath(firstTurn), from: 0, to: 0, text: '<image>\n' }] },
      });
    }
    return;
  }
  // Several images: every <image_NN> in any turn must be a key; every key should be used.
  const used = new Set<string>();
  const unknown: { turn: Turn; at: number; tag: string }[] = [];
  for (const t of turns) {
    for (const match of t.content!.matchAll(multiTag)) {
      if (multiKeys.includes(match[0])) used.add(match[0]);
      else unknown.push({ turn: t, at: match.index, tag: match[0] });
    }
    for (const at of occurrences(t.content!, '<image>')) {
      issues.push({
        rule: 'DS-RESERVED',
        severity: 'error',
        message: 'A literal <image> in a multi-image sample is the image-start token and unbalances the image bounds ("image start token != image end tokens"). Use the <image_NN> keys of "image".',
        path: contentPath(t),
        target: 'span',
        span: [at, at + 7],
      });
    }
  }
  const unused = multiKeys.filter((k) => /^<image_\d+>$/.test(k) && !used.has(k));
  unknown.forEach(({ turn, at, tag }, k) => {
    const replacement = unused[k];
    issues.push({
      rule: 'DS-MULTI-UNKNOWN-TAG',
      severity: 'error',
      message: `${tag} is not a key of "image" (${multiKeys.join(', ')}): "Exception: not found ${tag} in image dict", the sample is skipped. ${replacement ? `Did you mean ${replacement}?` : 'Fix the tag or add the key.'}`,
      path: contentPath(turn),
      target: 'span',
      span: [at, at + tag.length],
      fix: replacement ? { title: `Rename ${tag} to ${replacement}`, ops: [{ op: 'replaceSpan', path: contentPath(turn), from: at, to: at + tag.length, text: replacement }] } : undefined,
    });
  });
  for (const key of unused) {
    issues.push({
      rule: 'DS-MULTI-UNUSED-IMG',
      severity: 'error',
      message: `Image ${key} is never referenced in the conversation: it is encoded but gets no placeholder. Add ${key} to the user turn or remove the image.`,
      path: ['image', key],
      target: 'key',
    });
  }
}

function checkCounts(
  issues: SampleIssue[],
  turns: Turn[],
  imageCount: number,
  videoCount: number,
  rule: string,
  contentPath: (t: Turn) => JsonPath,
  userOnly: boolean,
): void {
  for (const [tag, count, field] of [
    ['<image>', imageCount, 'image'],
    ['<video>', videoCount, 'video'],
  ] as const) {
    let tags = 0;
    for (const t of turns) {
      const found = occurrences(t.content!, tag);
      if (userOnly && t.kind === 'assistant') {
        for (const at of found) {
          issues.push({
            rule,
            severity: 'error',
            message: `${tag} in an answer: Qwen-VL only consumes placeholders in user turns, so the ${field} count no longer matches. Move it to the user turn.`,
            path: contentPath(t),
            target: 'span',
            span: [at, at + tag.length],
          });
        }
        continue;
      }
      tags += found.length;
    }
    if (tags === count) continue;
    const anchorTurn = turns.find((t) => t.kind === 'user') ?? turns[0];
    if (!anchorTurn) continue;
    if (tags === 0 && !userOnly) {
      issues.push({
        rule: 'DS-IMG-TAG-NONE',
        severity: 'info',
        message: `No ${tag} tag for the ${count} ${field}(s): current LLaMA-Factory versions require one ${tag} per ${field} ("The number of images does not match the number of <image> tokens"). Add ${tag} to the user turn.`,
        path: contentPath(anchorTurn),
        target: 'value',
      });
      continue;
    }
    issues.push({
      rule,
      severity: 'error',
      message:
        userOnly
          ? tags > count
            ? `Number of ${tag} placeholders exceeds the number of provided ${field}s (${tags} placeholders, ${count} ${field}s). One ${tag} per ${field} in the user turns.`
            : `${count - tags} ${field}(s) remain unused (not consumed by placeholders): ${tags} ${tag} for ${count} ${field}s. One ${tag} per ${field} in the user turns.`
          : `The number of ${field}s (${count}) does not match the number of ${tag} tags (${tags}). Use one ${tag} per ${field}.`,
      path: contentPath(anchorTurn),
      target: 'value',
    });
  }
}

function checkLlavaPlaceholders(issues: SampleIssue[], turns: Turn[], imageCount: number, contentPath: (t: Turn) => JsonPath): void {
  const all = turns.flatMap((t) => occurrences(t.content!, '<image>').map((at) => ({ t, at })));
  if (imageCount === 0) {
    for (const { t, at } of all) {
      issues.push({ rule: 'DS-IMG-TAG-DUP', severity: 'error', message: '<image> in a sample without "image": there is no image to put here. Remove the tag or add the image.', path: contentPath(t), target: 'span', span: [at, at + 7] });
    }
    return;
  }
  if (all.length === 0) {
    const first = turns[0];
    if (first) {
      issues.push({
        rule: 'DS-IMG-TAG-NONE',
        severity: 'warning',
        message: 'No <image> tag although the sample has an image: LLaVA inserts no image tokens, so the image is ignored. Insert "<image>\\n" at the start of the first turn.',
        path: contentPath(first),
        target: 'value',
        fix: { title: 'Insert <image>\\n at the start of the first user turn', ops: [{ op: 'replaceSpan', path: contentPath(first), from: 0, to: 0, text: '<image>\n' }] },
      });
    }
    return;
  }
  for (const { t, at } of all.slice(1)) {
    issues.push({ rule: 'DS-IMG-TAG-DUP', severity: 'error', message: 'More than one <image> for one image. Keep one.', path: contentPath(t), target: 'span', span: [at, at + 7] });
  }
}
