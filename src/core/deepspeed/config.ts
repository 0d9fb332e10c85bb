import Ajv, { type ValidateFunction } from 'ajv';
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import schema from '../../../schemas/deepspeed-config.schema.json';
import type { Finding, Range } from '../lint/findings';
import { LineIndex } from '../parsing/lineIndex';
import { closest } from '../text/similar';

export type OffloadDevice = 'none' | 'cpu' | 'nvme';

/** What other checks (script rules, the memory estimate) need from a DeepSpeed config. */
export interface DeepSpeedFacts {
  stage: number;
  offloadOptimizer: OffloadDevice;
  offloadParam: OffloadDevice;
  optimizerType?: string;
  schedulerType?: string;
  /** Value and range of a key path such as `optimizer.params.lr`, for cross-checks with script flags. */
  valueAt(path: string): { value: unknown; range: Range } | undefined;
  /** Range of a key (the property name) for findings about a whole section. */
  keyRange(path: string): Range | undefined;
}

export interface ParsedDeepSpeedConfig {
  findings: Finding[];
  facts?: DeepSpeedFacts;
}

type JsonSchema = { properties?: Record<string, JsonSchema>; description?: string };

let compiled: ValidateFunction | undefined;
/** Compiled on first use, so that commands which never read a DeepSpeed config (ftw lint of a dataset) start faster. */
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return compiled;
}
const rootSchema = schema as unknown as JsonSchema;

/** Objects whose keys are checked against the schema's list (others, like params, take free keys). */
const checkedObjects = ['', 'zero_optimization', 'zero_optimization.offload_optimizer', 'zero_optimization.offload_param', 'fp16', 'bf16', 'optimizer', 'scheduler'];

function schemaAt(path: string): JsonSchema | undefined {
  let s: JsonSchema | undefined = rootSchema;
  for (const part of path ? path.split('.') : []) s = s?.properties?.[part];
  return s;
}

/** Description of a key path from the schema, for hovers. */
export function deepSpeedKeyDoc(path: string): string | undefined {
  return schemaAt(path)?.description;
}

function offloadDevice(value: unknown): OffloadDevice {
  return value === 'cpu' || value === 'nvme' ? value : 'none';
}

/** Parses and lints a DeepSpeed JSON config (DeepSpeed reads it with json.load: no comments, no trailing commas). */
export function lintDeepSpeedConfig(text: string): ParsedDeepSpeedConfig {
  const lines = new LineIndex(text);
  const findings: Finding[] = [];
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  for (const error of errors) {
    findings.push({
      rule: 'DSCFG-JSON',
      severity: 'error',
      message: `Invalid JSON (${printParseErrorCode(error.error)}): DeepSpeed reads the config with json.load, which fails here. Fix the syntax (no comments, no trailing commas).`,
      range: lines.range(error.offset, error.offset + Math.max(1, error.length)),
    });
  }
  if (!root || root.type !== 'object') {
    if (!errors.length) findings.push({ rule: 'DSCFG-JSON', severity: 'error', message: 'A DeepSpeed config must be a JSON object.', range: lines.range(0, Math.min(1, text.length)) });
    return { findings };
  }
  const nodeRange = (node: JsonNode) => lines.range(node.offset, node.offset + node.length);
  const nodeAt = (path: string) => findNodeAtLocation(root, path ? path.split('.') : []);
  const keyNode = (path: string) => nodeAt(path)?.parent?.children?.[0];
  const value = getNodeValue(root) as Record<string, unknown>;

  const validate = validator();
  if (!validate(value)) {
    for (const error of validate.errors ?? []) {
      if (error.keyword === 'anyOf' || error.keyword === 'if') continue;
      const path = error.instancePath.split('/').filter(Boolean).join('.');
      const node = nodeAt(path);
      const where = path || 'the config';
      const allowed = error.keyword === 'enum' ? ` (allowed: ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')})` : '';
      const msg = error.keyword === 'const' ? 'must be "auto" or a value of the documented type' : `${error.message ?? 'is invalid'}${allowed}`;
      // anyOf branches report one error each; keep one finding per location.
      if (findings.some((f) => f.rule === 'DSCFG-SCHEMA' && f.message.startsWith(`${where} `))) continue;
      findings.push({ rule: 'DSCFG-SCHEMA', severity: 'error', message: `${where} ${msg}.`, range: node ? nodeRange(node) : lines.range(0, 1) });
    }
  }

  for (const objectPath of checkedObjects) {
    const node = nodeAt(objectPath);
    const known = Object.keys(schemaAt(objectPath)?.properties ?? {});
    if (!node || node.type !== 'object' || !known.length) continue;
    for (const property of node.children ?? []) {
      const key = property.children?.[0];
      if (!key || typeof key.value !== 'string' || known.includes(key.value)) continue;
      const suggestion = closest(key.value, known);
      const where = objectPath ? ` in "${objectPath}"` : '';
      findings.push({
        rule: 'DSCFG-UNKNOWN-KEY',
        severity: suggestion ? 'warning' : 'info',
        message: suggestion
          ? `Unknown DeepSpeed key "${key.value}"${where}: did you mean "${suggestion}"? DeepSpeed ignores or rejects unknown keys, so this setting has no effect.`
          : `"${key.value}"${where} is not a DeepSpeed key this schema knows; check the spelling against the DeepSpeed config docs.`,
        range: nodeRange(key),
      });
    }
  }

  const get = (path: string) => {
    const node = nodeAt(path);
    return node ? getNodeValue(node) : undefined;
  };
  if (get('fp16.enabled') === true && get('bf16.enabled') === true) {
    const node = nodeAt('bf16.enabled')!;
    findings.push({ rule: 'DSCFG-PRECISION', severity: 'error', message: 'fp16 and bf16 are both enabled; DeepSpeed accepts one. Set one of them to false (or "auto" to follow --fp16/--bf16).', range: nodeRange(node) });
  }
  const stage = typeof get('zero_optimization.stage') === 'number' ? (get('zero_optimization.stage') as number) : 0;
  const offloadParam = offloadDevice(get('zero_optimization.offload_param.device'));
  if (offloadParam !== 'none' && stage < 3) {
    findings.push({
      rule: 'DSCFG-OFFLOAD-STAGE',
      severity: 'warning',
      message: `offload_param only works with ZeRO stage 3 (this config is stage ${stage}); parameters stay on the GPU. Use stage 3, or offload_optimizer only.`,
      range: nodeRange(keyNode('zero_optimization.offload_param') ?? nodeAt('zero_optimization.offload_param')!),
    });
  }
  const optimizerType = get('optimizer.type');
  const schedulerType = get('scheduler.type');
  const facts: DeepSpeedFacts = {
    stage,
    offloadOptimizer: offloadDevice(get('zero_optimization.offload_optimizer.device') ?? (get('zero_optimization.cpu_offload') === true ? 'cpu' : 'none')),
    offloadParam,
    optimizerType: value.optimizer ? String(optimizerType ?? '') : undefined,
    schedulerType: value.scheduler ? String(schedulerType ?? '') : undefined,
    valueAt(path) {
      const node = nodeAt(path);
      return node ? { value: getNodeValue(node), range: nodeRange(node) } : undefined;
    },
    keyRange(path) {
      const key = keyNode(path);
      return key ? nodeRange(key) : undefined;
    },
  };
  return { findings, facts };
}
