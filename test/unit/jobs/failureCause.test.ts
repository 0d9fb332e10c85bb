import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { detectFailureCause, locateCauseInScript } from '../../../src/core/jobs/failureCause';

const real = (name: string) => readFileSync(`/work/shared/fixtures/real/hf-trainer-5.17/${name}`, 'utf8');

describe('failure cause from the real log tails', () => {
  it('CUDA OOM', () => {
    const cause = detectFailureCause(real('cuda-oom.traceback.txt'));
    assert.equal(cause?.kind, 'cuda-oom');
    assert.match(cause?.evidence ?? '', /Tried to allocate 224.00 MiB/);
  });

  it('removed training arguments (transformers 5), with the flag names', () => {
    const cause = detectFailureCause(real('bad-training-argument.stderr.txt'));
    assert.equal(cause?.kind, 'bad-argument');
    assert.deepEqual(cause?.subjects, ['logging_dir', 'warmup_ratio']);
  });

  it('resume without a checkpoint, SIGINT, and a clean run', () => {
    assert.equal(detectFailureCause(real('resume-no-checkpoint.stderr.txt'))?.kind, 'no-checkpoint');
    assert.equal(detectFailureCause(real('interrupted-sigint.stderr.txt'))?.kind, 'interrupted');
    assert.equal(detectFailureCause(real('torchrun-lora.stderr.txt')), undefined);
  });

  it('HfArgumentParser leftovers, port in use, missing file, data fetch error flood', () => {
    const unused = detectFailureCause("ValueError: Some specified arguments are not used by the HfArgumentParser: ['--evaluation_strategy', 'steps']");
    assert.deepEqual([unused?.kind, unused?.subjects], ['bad-argument', ['evaluation_strategy']]);
    const port = detectFailureCause('[W socket.cpp:755] [c10d] The server socket has failed to listen on any local network address. (errno: 98 - Address already in use).');
    assert.equal(port?.kind, 'port-in-use');
    const missing = detectFailureCause("FileNotFoundError: [Errno 2] No such file or directory: 'data/train.json'");
    assert.deepEqual([missing?.kind, missing?.subjects], ['missing-file', ['data/train.json']]);
    const flood = detectFailureCause(`${'data fetch error\n'.repeat(30)}RecursionError: maximum recursion depth exceeded while calling a Python object\n`);
    assert.equal(flood?.kind, 'data-fetch-error');
    assert.equal(detectFailureCause('data fetch error\n'.repeat(3)), undefined);
  });

  it('places the cause on the script line that passes the flag', () => {
    const cause = detectFailureCause(real('bad-training-argument.stderr.txt'));
    assert.ok(cause);
    const script = ['#!/bin/bash', 'torchrun train.py \\', '  --output_dir out \\', '  # --logging_dir commented', '  --logging_dir runs \\', '  --warmup_ratio 0.1'].join('\n');
    assert.equal(locateCauseInScript(cause, script), 4);
  });
});
