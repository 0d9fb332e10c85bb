// `npm run bench:dataset`: 200 000 pretty-printed MiniCPM-V samples (about 320 MB) from the shared generator, then
// in the same run (a) the usual way: readFileSync + JSON.parse + ajv validation of the same schema, and (b) `ftw lint`
// end to end (a child process each, best of N). Prints the ratio (a)/(b), both peak RSS figures, and the recall of
// `ftw lint` on a faulty variant against the generator's truth file, plus the findings on the clean file.
// Options: --samples N (default 200000), --runs N (default 2), --keep (keep the generated files in .bench/).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(__dirname, '..', '..');
const { values } = parseArgs({ options: { samples: { type: 'string' }, runs: { type: 'string' }, keep: { type: 'boolean' } } });
const samples = Number(values.samples ?? 200_000);
const runs = Number(values.runs ?? 2);
const work = path.join(root, '.bench', 'dataset');
const generator = process.env.FTW_GEN_DATASET ?? '/work/shared/bench/gen-dataset.mjs';
const cli = path.join(root, 'dist', 'cli.js');

mkdirSync(work, { recursive: true });
const clean = path.join(work, 'clean.json');
const faulty = path.join(work, 'faulty.json');
const truth = path.join(work, 'truth.jsonl');

function generate(args: string[]): void {
  const result = spawnSync(process.execPath, [generator, '--samples', String(samples), '--pretty', ...args], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`gen-dataset failed (${result.status})`);
}

console.log(`Generating ${samples} samples (--pretty) with ${generator} ...`);
generate(['--out', clean, '--seed', '1']);
generate(['--out', faulty, '--seed', '2', '--faults', '0.01', '--truth', truth]);
// The generator names images/<n>.jpg, images/<n>_a.jpg, images/<n>_b.jpg (n < 5000): create them (JPEG header
// only) so that the image checks of ftw lint run for real and find nothing on the clean file.
const images = path.join(work, 'images');
mkdirSync(images, { recursive: true });
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
for (let n = 0; n < 5000; n++) for (const suffix of ['', '_a', '_b']) writeFileSync(path.join(images, `${n}${suffix}.jpg`), jpeg);
console.log(`clean.json ${(statSync(clean).size / 1e6).toFixed(0)} MB, faulty.json ${(statSync(faulty).size / 1e6).toFixed(0)} MB`);

// Peak RSS of a child, reported by the child itself at exit (portable; no /usr/bin/time needed).
const preload = path.join(work, 'report-rss.cjs');
writeFileSync(preload, "process.on('exit', () => process.stderr.write(`\\nFTW_MAX_RSS_KB=${process.resourceUsage().maxRSS}\\n`));\n");
const baseline = path.join(work, 'baseline.cjs');
writeFileSync(
  baseline,
  `const fs = require('fs');
const Ajv = require(${JSON.stringify(path.join(root, 'node_modules', 'ajv'))});
const schema = require(${JSON.stringify(path.join(root, 'schemas', 'minicpmv.schema.json'))});
const validate = new Ajv({ strict: false }).compile(schema);
const data = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ok = validate(data);
console.log(ok ? 'valid' : JSON.stringify(validate.errors.slice(0, 3)));
`,
);

interface Run {
  ms: number;
  rssMB: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

function timed(args: string[]): Run {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--require', preload, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - started;
  const rss = /FTW_MAX_RSS_KB=(\d+)/.exec(result.stderr);
  return { ms, rssMB: rss ? Number(rss[1]) / 1024 : NaN, stdout: result.stdout, stderr: result.stderr, status: result.status };
}

const baselineRuns: Run[] = [];
const lintRuns: Run[] = [];
for (let i = 0; i < runs; i++) {
  baselineRuns.push(timed([baseline, clean]));
  lintRuns.push(timed([cli, 'lint', clean]));
}
const best = (rs: Run[]) => rs.reduce((a, b) => (b.ms < a.ms ? b : a));
const a = best(baselineRuns);
const b = best(lintRuns);
const cleanFindings = /(\d+) finding\(s\)/.exec(b.stderr)?.[1];

// Recall on the faulty variant: map each finding's line to its sample (samples start with "{" at column 0).
const faultyRun = timed([cli, 'lint', '--json', faulty]);
const findings = JSON.parse(faultyRun.stdout) as { rule: string; range: { start: { line: number } } }[];
const sampleStarts: number[] = [];
{
  const fd = openSync(faulty, 'r');
  const buffer = Buffer.alloc(8 << 20);
  let line = 0;
  let atLineStart = true;
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, null);
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const c = buffer[i]!;
      if (atLineStart && c === 0x7b) sampleStarts.push(line);
      atLineStart = c === 0x0a;
      if (atLineStart) line++;
    }
  }
  closeSync(fd);
}
function sampleOf(line: number): number {
  let lo = 0;
  let hi = sampleStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sampleStarts[mid]! <= line) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
const rulesBySample = new Map<number, Set<string>>();
for (const f of findings) {
  const s = sampleOf(f.range.start.line);
  if (!rulesBySample.has(s)) rulesBySample.set(s, new Set());
  rulesBySample.get(s)!.add(f.rule);
}
const expectedRules: Record<string, string[]> = {
  role_alias: ['DS-ROLE-VALUES'],
  tag_in_later_turn: ['DS-IMG-TAG-LATER', 'DS-RESERVED'],
  first_not_user: ['DS-FIRST-USER'],
  empty_content: ['DS-EMPTY'],
  unknown_multi_tag: ['DS-MULTI-UNKNOWN-TAG'],
  missing_conversations: ['DS-SCHEMA'],
  odd_turns: ['DS-LAST-ASSISTANT', 'DS-MIN-TURNS'],
  image_not_string: ['DS-SCHEMA'],
  duplicate_id: ['DS-DUP-ID'],
};
const faults = readFileSync(truth, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { index: number; kind: string });
let found = 0;
let foundRight = 0;
const missed: string[] = [];
for (const fault of faults) {
  const rules = rulesBySample.get(fault.index);
  if (rules) found++;
  if (rules && expectedRules[fault.kind]?.some((r) => rules.has(r))) foundRight++;
  else missed.push(`${fault.index}:${fault.kind}:${[...(rules ?? [])].join('|')}`);
}
const faultySamples = new Set(faults.map((f) => f.index));
const unexpected = [...rulesBySample.keys()].filter((s) => !faultySamples.has(s));

const row = (name: string, r: Run) => `${name.padEnd(46)} ${(r.ms / 1000).toFixed(2).padStart(7)} s ${r.rssMB.toFixed(0).padStart(7)} MB`;
console.log(`\nDataset lint benchmark: ${samples} samples, ${(statSync(clean).size / 1e6).toFixed(0)} MB, best of ${runs} (Node ${process.version})`);
console.log(`${''.padEnd(46)} ${'time'.padStart(9)} ${'peak RSS'.padStart(10)}`);
console.log(row('(a) readFileSync + JSON.parse + ajv', a));
console.log(row('(b) ftw lint (stream, all rules, image files)', b));
console.log(`ratio (a)/(b): ${(a.ms / b.ms).toFixed(2)}x   (target >= 2x; peak RSS of (b) target < 256 MB)`);
console.log(`findings on the clean file: ${cleanFindings ?? '?'} (target 0)`);
console.log(
  `faulty file: ${faults.length} injected faults, recall ${((100 * found) / faults.length).toFixed(1)}% (a finding in the sample), ` +
    `${((100 * foundRight) / faults.length).toFixed(1)}% with the expected rule; ${unexpected.length} samples with findings but no injected fault`,
);
if (missed.length) console.log(`missed: ${missed.slice(0, 10).join(', ')}`);
if (a.status !== 0 || b.status !== 0) console.log(`exit codes: baseline ${a.status}, ftw lint ${b.status}`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
else if (existsSync(work)) console.log(`kept ${work}`);
