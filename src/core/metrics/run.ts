import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CsvMetricsParser } from './csv';
import { HfLogParser, type StepHints } from './hfLog';
import { JsonlMetricsParser } from './jsonl';
import { SeriesStore, type ResumeMark } from './series';
import { TfEventsParser } from './tfevents';
import { TrainerStateParser, type TrainerStateInfo } from './trainerState';
import { emptyMetadata, type ParseOutput, type ReaderWarning, type RunMetadata, type StreamParser } from './types';

export type SourceKind = 'tfevents' | 'trainer_state' | 'jsonl' | 'csv' | 'log';

/** When two kinds carry a tag up to the same step, the more precise one wins (event files keep wall times). */
const kindPriority: Record<SourceKind, number> = { tfevents: 0, trainer_state: 1, jsonl: 2, csv: 3, log: 4 };

/** The kind of metrics file a name denotes, or undefined for files that are not read. */
export function classifyFile(name: string): SourceKind | undefined {
  const base = path.basename(name);
  if (/^events\.out\.tfevents\./.test(base)) return 'tfevents';
  if (base === 'trainer_state.json') return 'trainer_state';
  // Only metric-like JSONL names: datasets are JSONL too and must not be plotted.
  if (/\.jsonl$/i.test(base) && /(trainer_log|metric|scalar|history|log)/i.test(base)) return 'jsonl';
  if (/\.csv$/i.test(base)) return 'csv';
  if (/\.(log|out|err)$/i.test(base) || /\.(stdout|stderr)\.txt$/i.test(base) || /^(train|training|stdout|stderr|output|nohup)[\w.-]*\.txt$/i.test(base)) return 'log';
  return undefined;
}

/** Folders never searched inside a run: checkpoints hold weights (their trainer_state.json is looked at directly). */
const skippedDirs = new Set(['node_modules', '.git', 'wandb', '__pycache__', '.ipynb_checkpoints']);
const checkpointDir = /^checkpoint-(\d+)$/;

/** The unix time in an event file's name (`events.out.tfevents.1795425718.host.pid.0`), for ordering. */
function eventFileTime(file: string): number {
  const match = /tfevents\.(\d+)/.exec(path.basename(file));
  return match ? Number(match[1]) : NaN;
}

interface Source {
  path: string;
  kind: SourceKind;
  parser: StreamParser;
  offset: number;
  size: number;
  mtimeMs: number;
  /** trainer_state.json only: its own store and hints, as each copy is read whole. */
  state?: { store: SeriesStore; info: TrainerStateInfo; checkpoint: number };
}

export interface SeriesView {
  tag: string;
  kind: SourceKind;
  steps: Float64Array;
  values: Float64Array;
  wallTimes: Float64Array;
}

export interface RunSnapshot {
  folder: string;
  name: string;
  series: SeriesView[];
  resumes: ResumeMark[];
  metadata: RunMetadata;
  warnings: ReaderWarning[];
  files: { path: string; kind: SourceKind }[];
  /** Steps the run is configured for, when trainer_state.json says. */
  maxSteps?: number;
}

export interface RunReaderOptions {
  /** How deep below the run folder to look for files (HF writes events to <output>/runs/<date_host>/). */
  depth?: number;
  /** Called for each warning as it is found (the extension logs them). */
  onWarning?: (warning: ReaderWarning) => void;
  /**
   * More files or folders that belong to the run although they are not inside its folder (a launched job's log
   * lives in its job folder; its `--logging_dir` may be elsewhere). A file of no known kind is read as a log.
   */
  extra?: string[];
  /** The run's name in views (default: the folder's name). */
  name?: string;
}

const chunkBytes = 4 * 1024 * 1024;

/**
 * Reads every metrics file of one run folder and keeps reading as they grow: each call of refresh() reads only
 * the bytes appended since the last one (a file that shrank was replaced and is read again from the start).
 */
export class RunReader {
  readonly name: string;
  private readonly sources = new Map<string, Source>();
  private readonly stores = new Map<SourceKind, SeriesStore>();
  private readonly hints: StepHints = {};
  private metadata: RunMetadata = emptyMetadata();
  private readonly warnings: ReaderWarning[] = [];
  private scriptHintsRead = false;
  private buffer: Buffer | undefined;

  constructor(
    readonly folder: string,
    private readonly options: RunReaderOptions = {},
  ) {
    this.name = options.name ?? path.basename(folder);
  }

  /** Finds new files, reads what was appended; returns whether any series changed. `final`: files are complete. */
  async refresh(final = false): Promise<boolean> {
    const before = this.version();
    const found = await this.discover();
    const fresh = found.filter((f) => !this.sources.has(f.path));
    // New files are read in the order they were written, so a resumed run's later file replaces the earlier steps.
    fresh.sort((a, b) => a.order - b.order || a.path.localeCompare(b.path));
    for (const file of fresh) this.sources.set(file.path, this.createSource(file.path, file.kind));
    // trainer_state.json first: its logging_steps and steps-per-epoch place the log dicts that have no step.
    const ordered = [...this.sources.values()].sort((a, b) => (a.kind === 'trainer_state' ? 0 : 1) - (b.kind === 'trainer_state' ? 0 : 1));
    for (const source of ordered) await this.poll(source, final);
    return this.version() !== before;
  }

  snapshot(): RunSnapshot {
    const stateSource = this.newestTrainerState();
    const kinds: [SourceKind, SeriesStore][] = [...this.stores.entries()];
    if (stateSource?.state) kinds.push(['trainer_state', stateSource.state.store]);
    const chosen = new Map<string, { kind: SourceKind; store: SeriesStore }>();
    for (const [kind, store] of kinds) {
      for (const [tag, series] of store.series) {
        if (series.length === 0) continue;
        const current = chosen.get(tag);
        const currentLast = current ? current.store.series.get(tag)!.lastStep : -Infinity;
        // The freshest source wins (a live log is ahead of the last checkpoint's trainer_state.json).
        if (!current || series.lastStep > currentLast || (series.lastStep === currentLast && kindPriority[kind] < kindPriority[current.kind])) {
          chosen.set(tag, { kind, store });
        }
      }
    }
    const series: SeriesView[] = [];
    const resumes: ResumeMark[] = [];
    const usedStores = new Set<SeriesStore>();
    for (const [tag, { kind, store }] of [...chosen.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const s = store.series.get(tag)!;
      series.push({ tag, kind, steps: s.steps.subarray(0, s.length), values: s.values.subarray(0, s.length), wallTimes: s.wallTimes.subarray(0, s.length) });
      usedStores.add(store);
    }
    for (const store of usedStores) for (const mark of store.resumes) if (!resumes.some((r) => r.step === mark.step)) resumes.push(mark);
    resumes.sort((a, b) => a.step - b.step);
    return {
      folder: this.folder,
      name: this.name,
      series,
      resumes,
      metadata: this.metadata,
      warnings: [...this.warnings],
      files: [...this.sources.values()].map((s) => ({ path: s.path, kind: s.kind })),
      maxSteps: stateSource?.state?.info.maxSteps,
    };
  }

  /** Files this reader reads (for file watchers). */
  get filePaths(): string[] {
    return [...this.sources.keys()];
  }

  private version(): number {
    let v = 0;
    for (const store of this.stores.values()) v += store.version;
    for (const source of this.sources.values()) if (source.state) v += source.state.store.version;
    return v;
  }

  private newestTrainerState(): Source | undefined {
    let best: Source | undefined;
    for (const source of this.sources.values()) {
      if (!source.state || source.state.store.series.size === 0) continue;
      const rank = (s: Source) => s.state!.info.globalStep ?? s.state!.checkpoint;
      // The run folder's own copy is written last; a checkpoint copy wins only when it is further along.
      if (!best || rank(source) > rank(best) || (rank(source) === rank(best) && source.state.checkpoint < best.state!.checkpoint)) best = source;
    }
    return best;
  }

  private store(kind: SourceKind): SeriesStore {
    let store = this.stores.get(kind);
    if (!store) {
      store = new SeriesStore();
      this.stores.set(kind, store);
    }
    return store;
  }

  private createSource(file: string, kind: SourceKind): Source {
    const source: Source = { path: file, kind, parser: this.createParser(file, kind), offset: 0, size: 0, mtimeMs: 0 };
    if (kind === 'trainer_state') {
      const match = checkpointDir.exec(path.basename(path.dirname(file)));
      source.state = { store: new SeriesStore(), info: {}, checkpoint: match ? Number(match[1]) : Infinity };
    }
    return source;
  }

  private createParser(file: string, kind: SourceKind): StreamParser {
    switch (kind) {
      case 'tfevents':
        return new TfEventsParser(file);
      case 'trainer_state':
        return new TrainerStateParser(file);
      case 'jsonl':
        return new JsonlMetricsParser(file);
      case 'csv':
        return new CsvMetricsParser(file);
      case 'log':
        return new HfLogParser(file, this.hints);
    }
  }

  private async discover(): Promise<{ path: string; kind: SourceKind; order: number }[]> {
    const found: { path: string; kind: SourceKind; order: number }[] = [];
    const maxDepth = this.options.depth ?? 3;
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (skippedDirs.has(entry.name) || entry.name.startsWith('.')) continue;
          if (checkpointDir.test(entry.name)) {
            const state = path.join(full, 'trainer_state.json');
            try {
              const stat = await fs.stat(state);
              found.push({ path: state, kind: 'trainer_state', order: stat.mtimeMs });
            } catch {
              // a checkpoint being written has no trainer_state.json yet
            }
            continue;
          }
          if (depth < maxDepth) await walk(full, depth + 1);
        } else if (entry.isFile()) {
          const kind = classifyFile(entry.name);
          // CSV and JSONL only at the top of the run: deeper ones are usually data, not metrics.
          if (!kind || ((kind === 'csv' || kind === 'log') && depth > 0)) continue;
          let order = eventFileTime(full);
          if (Number.isNaN(order)) {
            try {
              order = (await fs.stat(full)).mtimeMs / 1000;
            } catch {
              continue;
            }
          }
          found.push({ path: full, kind, order });
        }
      }
    };
    const stat = await fs.stat(this.folder).catch(() => undefined);
    if (stat?.isFile()) {
      const kind = classifyFile(this.folder) ?? 'log';
      return [{ path: this.folder, kind, order: 0 }];
    }
    await walk(this.folder, 0);
    for (const extra of this.options.extra ?? []) {
      const extraStat = await fs.stat(extra).catch(() => undefined);
      if (extraStat?.isDirectory()) await walk(extra, 0);
      else if (extraStat?.isFile()) found.push({ path: extra, kind: classifyFile(extra) ?? 'log', order: extraStat.mtimeMs / 1000 });
    }
    const seen = new Set<string>();
    return found.filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)));
  }

  private warn(warnings: ReaderWarning[]): void {
    for (const warning of warnings) {
      if (this.warnings.some((w) => w.file === warning.file && w.message === warning.message)) continue;
      this.warnings.push(warning);
      this.options.onWarning?.(warning);
    }
  }

  private absorb(out: ParseOutput, kind?: SourceKind): void {
    this.warn(out.warnings);
    if (out.text) Object.assign(this.metadata.text, out.text);
    if (out.hparams) Object.assign(this.metadata.hparams, out.hparams);
    if (out.summary) {
      // Logs print the summary rounded (transformers 5: 4 digits); event files and trainer_state.json do not.
      if (kind === 'log') this.metadata.summary = { ...out.summary, ...this.metadata.summary };
      else Object.assign(this.metadata.summary, out.summary);
    }
  }

  private async poll(source: Source, final: boolean): Promise<void> {
    let stat;
    try {
      stat = await fs.stat(source.path);
    } catch {
      return; // deleted: keep what was read
    }
    if (source.kind === 'trainer_state') {
      if (stat.size === source.size && stat.mtimeMs === source.mtimeMs) return;
      source.size = stat.size;
      source.mtimeMs = stat.mtimeMs;
      const parser = new TrainerStateParser(source.path);
      const data = await fs.readFile(source.path).catch(() => undefined);
      if (!data) return;
      const store = new SeriesStore();
      parser.push(data);
      const out = parser.end(store);
      if (store.series.size === 0 && out.warnings.length) {
        this.warn(out.warnings); // half-written: keep the previous copy until the next change
        return;
      }
      store.version = source.state!.store.version + 1;
      source.state = { ...source.state!, store, info: parser.info };
      this.absorb(out);
      if (this.newestTrainerState() === source) {
        if (parser.info.loggingSteps) this.hints.loggingSteps = parser.info.loggingSteps;
        if (parser.info.stepsPerEpoch) this.hints.stepsPerEpoch = parser.info.stepsPerEpoch;
      }
      return;
    }
    if (source.kind === 'log' && !this.hints.loggingSteps && !this.scriptHintsRead) {
      this.scriptHintsRead = true;
      const fromScript = await loggingStepsFromScripts(this.folder);
      if (fromScript && !this.hints.loggingSteps) this.hints.loggingSteps = fromScript;
    }
    if (stat.size < source.offset) {
      // Truncated or replaced: everything of this kind is read again, in order.
      this.resetKind(source.kind);
    }
    const store = this.store(source.kind);
    if (stat.size > source.offset) {
      const handle = await fs.open(source.path, 'r');
      try {
        this.buffer ??= Buffer.allocUnsafe(chunkBytes);
        for (;;) {
          const { bytesRead } = await handle.read(this.buffer, 0, chunkBytes, source.offset);
          if (bytesRead === 0) break;
          source.offset += bytesRead;
          this.absorb(source.parser.push(this.buffer.subarray(0, bytesRead), store), source.kind);
        }
      } finally {
        await handle.close();
      }
    }
    source.size = stat.size;
    source.mtimeMs = stat.mtimeMs;
    if (final) this.absorb(source.parser.end(store), source.kind);
  }

  private resetKind(kind: SourceKind): void {
    this.stores.get(kind)?.clear();
    for (const source of this.sources.values()) {
      if (source.kind !== kind) continue;
      source.offset = 0;
      source.parser = this.createParser(source.path, kind);
    }
  }
}

/** `--logging_steps N` in a launch script of the run folder or its parents (two levels up). */
export async function loggingStepsFromScripts(folder: string): Promise<number | undefined> {
  let dir = folder;
  for (let level = 0; level < 3; level++) {
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of entries.filter((n) => n.endsWith('.sh')).sort()) {
      const text = await fs.readFile(path.join(dir, name), 'utf8').catch(() => '');
      const match = /--logging_steps[=\s]+(\d+)/.exec(text);
      if (match) return Number(match[1]);
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Reads run folders (or single files) completely, as the CLI does. */
export async function readRuns(folders: string[], options: RunReaderOptions = {}): Promise<RunSnapshot[]> {
  const snapshots: RunSnapshot[] = [];
  for (const folder of folders) {
    const reader = new RunReader(folder, options);
    await reader.refresh(true);
    snapshots.push(reader.snapshot());
  }
  return snapshots;
}
