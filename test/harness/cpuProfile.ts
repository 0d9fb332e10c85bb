// Long tasks of a thread from a V8 CPU profile (inspector Profiler): runs of non-idle samples. Unlike a timer-drift
// probe, a task's length does not grow when the OS gives the process no CPU (a busy shared machine).
import type { Profiler } from 'node:inspector';

export interface LongTask {
  ms: number;
  /** With `involving`: the time of the task's samples whose stack has an accepted frame (that code and its callees). */
  involvedMs?: number;
  /** The heaviest stacks of the task (innermost frame first), with their time. */
  stacks: { ms: number; stack: string }[];
}

/**
 * The `count` longest tasks; with `involving`, only tasks in which some sample's stack has a frame whose script URL
 * it accepts (e.g. one extension's bundle: the tasks that extension's code took part in).
 */
export function longestTasks(profile: Profiler.Profile, count = 3, involving?: (url: string) => boolean): LongTask[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const involved = new Map<number, boolean>();
  const isInvolved = (id: number): boolean => {
    let known = involved.get(id);
    if (known === undefined) {
      const parent = parents.get(id);
      known = involving!(nodes.get(id)!.callFrame.url) || (parent !== undefined && isInvolved(parent));
      involved.set(id, known);
    }
    return known;
  };
  const stackOf = (id: number) => {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined && frames.length < 5; at = parents.get(at)) {
      const { functionName, url, lineNumber } = nodes.get(at)!.callFrame;
      frames.push(`${functionName || '(anonymous)'}@${url.split('/').pop()}:${lineNumber + 1}`);
    }
    return frames.join(' < ');
  };
  const tasks: { start: number; end: number; stacks: Map<string, number>; involved: boolean; involvedUs: number }[] = [];
  let current: (typeof tasks)[number] | undefined;
  let time = profile.startTime;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    time += deltas[i] ?? 0;
    const node = nodes.get(samples[i]!)!;
    if (node.callFrame.functionName === '(idle)') {
      current = undefined;
      continue;
    }
    if (!current) tasks.push((current = { start: time, end: time, stacks: new Map(), involved: false, involvedUs: 0 }));
    const step = deltas[i + 1] ?? 0; // the sample stands for the time until the next one
    if (involving && isInvolved(node.id)) {
      current.involved = true;
      current.involvedUs += step;
    }
    current.end = time + step;
    const stack = stackOf(node.id);
    current.stacks.set(stack, (current.stacks.get(stack) ?? 0) + step);
  }
  return tasks
    .filter((t) => !involving || t.involved)
    .sort((a, b) => b.end - b.start - (a.end - a.start))
    .slice(0, count)
    .map((t) => ({
      ms: Math.round((t.end - t.start) / 100) / 10,
      ...(involving ? { involvedMs: Math.round(t.involvedUs / 100) / 10 } : {}),
      stacks: [...t.stacks]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([stack, us]) => ({ ms: Math.round(us / 100) / 10, stack })),
    }));
}
