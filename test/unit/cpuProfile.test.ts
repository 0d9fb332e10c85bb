import assert from 'node:assert/strict';
import { it } from 'node:test';
import { longestTasks } from '../harness/cpuProfile';

it('longestTasks: runs of non-idle samples, longest first, with their heaviest stacks', () => {
  const frame = (functionName: string) => ({ functionName, url: 'file:///x/ext.js', lineNumber: 0, columnNumber: 0, scriptId: '1' });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('lint'), children: [5] },
      { id: 4, callFrame: frame('render') },
      { id: 5, callFrame: frame('parse') },
    ],
    startTime: 0,
    endTime: 100_000,
    // idle, lint 3 samples (30 ms), idle, render 1 sample (10 ms), idle
    samples: [2, 3, 5, 5, 2, 4, 2],
    timeDeltas: [0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
  };
  const [first, second] = longestTasks(profile);
  assert.equal(first!.ms, 30);
  assert.equal(first!.stacks[0]!.stack, 'parse@ext.js:1 < lint@ext.js:1 < (root)@ext.js:1');
  assert.equal(first!.stacks[0]!.ms, 20);
  assert.equal(second!.ms, 10);
  // Only the tasks some frame of the given script took part in.
  profile.nodes[3]!.callFrame = { ...frame('render'), url: 'file:///ours/extension.js' };
  const ours = longestTasks(profile, 3, (url) => url.includes('/ours/'));
  assert.deepEqual(ours.map((t) => [t.ms, t.involvedMs]), [[10, 10]]);
  // Inside a longer task, only the samples under the accepted frames count as its involved time.
  profile.nodes[4]!.callFrame = { ...frame('parse'), url: 'file:///ours/extension.js' };
  assert.deepEqual(longestTasks(profile, 3, (url) => url.includes('/ours/')).map((t) => [t.ms, t.involvedMs]), [[30, 20], [10, 10]]);
});
