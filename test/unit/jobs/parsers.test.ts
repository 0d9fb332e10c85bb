import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { gpuFactsFrom, gpuQueryFields, parseGpuQueryCsv } from '../../../src/core/gpu/nvidiaSmi';
import { gpuProbeScript, parseGpuProbe, parseGpuQuery, parseListeningPorts, probeTargetFacts } from '../../../src/core/jobs/gpuProbe';
import { listeningPorts, pickFreePort } from '../../../src/core/jobs/ports';
import { JobRegistry } from '../../../src/core/jobs/registry';
import { envFileText, SecretMasker } from '../../../src/core/jobs/secrets';
import { parseSshG, parseTarget } from '../../../src/core/jobs/transport';
import { rsyncArgs } from '../../../src/core/jobs/sync';
import { completeUtf8Length } from '../../../src/core/jobs/runner';
import { realFixturesDir } from '../../harness/shared';

const smi = path.join(realFixturesDir, 'nvidia-smi');

describe('GPU probe on the real nvidia-smi output', () => {
  it('parses the H100 row', () => {
    const [gpu] = parseGpuQuery(readFileSync(`${smi}/nvidia-smi-query.csv`, 'utf8'));
    assert.equal(gpu.name, 'NVIDIA H100 80GB HBM3');
    assert.deepEqual([gpu.memoryTotalMiB, gpu.memoryUsedMiB, gpu.memoryFreeMiB, gpu.computeCapability], [81559, 4, 81076, '9.0']);
  });

  it('combines GPUs, processes and the transformers version; reports a missing nvidia-smi', () => {
    const query = readFileSync(`${smi}/nvidia-smi-query.csv`, 'utf8');
    const probe = parseGpuProbe(`${query}@@ftw-status 0\nGPU-cf20a68d-6748-5bdf-c834-73b21acff1bc, 4242, python, 1200\n@@ftw-transformers\n5.17.0\n`);
    assert.equal(probe.gpus[0].processes[0].pid, 4242);
    assert.equal(probe.transformersVersion, '5.17.0');
    const none = parseGpuProbe('bash: line 1: nvidia-smi: command not found\n@@ftw-status 127\n@@ftw-transformers\n');
    assert.deepEqual(none.gpus, []);
    assert.match(none.error ?? '', /not installed/);
  });

  it('reads the target OS and listening ports (ss or netstat) for the platform and port rules', () => {
    const query = readFileSync(`${smi}/nvidia-smi-query.csv`, 'utf8');
    const ss = 'LISTEN 0      4096       127.0.0.1:29500      0.0.0.0:*\nLISTEN 0      128           [::]:22            [::]:*\n';
    const probe = parseGpuProbe(`${query}@@ftw-status 0\n@@ftw-transformers\n5.17.0\n@@ftw-os\nLinux\n@@ftw-ports\n${ss}`);
    assert.equal(probe.transformersVersion, '5.17.0');
    assert.equal(probe.gpus.length, 1);
    assert.equal(probe.os, 'linux');
    assert.deepEqual(probe.listeningPorts, [22, 29500]);
    const netstat = 'Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address           Foreign Address         State\ntcp        0      0 0.0.0.0:6001            0.0.0.0:*               LISTEN\n';
    assert.deepEqual(parseListeningPorts(netstat), [6001]);
    assert.deepEqual(probeTargetFacts(probe, 'gpu-box'), {
      platform: { os: 'linux', cuda: true, source: 'probe of gpu-box' },
      portsInUse: [
        { port: 22, by: 'a process listening on gpu-box' },
        { port: 29500, by: 'a process listening on gpu-box' },
      ],
    });
    // A Mac without nvidia-smi: the OS alone tells bitsandbytes has no CUDA there; no GPU found is not proof of none.
    const mac = parseGpuProbe('bash: nvidia-smi: command not found\n@@ftw-status 127\n@@ftw-transformers\n@@ftw-os\nDarwin\n@@ftw-ports\n');
    assert.deepEqual(probeTargetFacts(mac, 'laptop').platform, { os: 'darwin', cuda: undefined, source: 'probe of laptop' });
  });

  it('the probe script run here by bash finds this OS and a port this test listens on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const output = execFileSync('bash', ['-c', gpuProbeScript()], { encoding: 'utf8' });
      const probe = parseGpuProbe(output);
      assert.equal(probe.os, process.platform);
      assert.ok(probe.listeningPorts?.includes(port), `port ${port} in ${probe.listeningPorts?.join(',')}`);
    } finally {
      server.close();
    }
  });

  it('reads the same GPU facts as the issue-4 parser (one source), and asks the target for transformers', () => {
    const query = readFileSync(`${smi}/nvidia-smi-query.csv`, 'utf8');
    const probe = parseGpuProbe(`${query}@@ftw-status 0\n@@ftw-transformers\n4.51.2\n`);
    const [viaIssue4] = parseGpuQueryCsv(query);
    const { processes, ...facts } = probe.gpus[0];
    assert.deepEqual(processes, []);
    assert.deepEqual(facts, viaIssue4);
    assert.deepEqual(gpuFactsFrom(probe.gpus), { name: 'NVIDIA H100 80GB HBM3', memoryGiB: 79.6, computeCapability: '9.0', count: 1 });
    assert.equal(probe.transformersVersion, '4.51.2');
    assert.match(gpuProbeScript('/opt/py env/bin/python'), /'\/opt\/py env\/bin\/python' -c 'import transformers; print\(transformers.__version__\)'/);
    assert.match(gpuProbeScript(), new RegExp(`--query-gpu=${gpuQueryFields.join(',')} `));
  });
});

describe('secrets', () => {
  it('masks a secret split anywhere across chunks (property)', () => {
    const secret = 'hf_AbCdEfGhIjKlMnOpQrStUvWx';
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1 }), (before, after, sizes) => {
        const text = `${before}token=${secret}\r${after}\n`;
        const masker = new SecretMasker([secret]);
        let out = '';
        let at = 0;
        for (let i = 0; at < text.length; i++) {
          const n = sizes[i % sizes.length];
          out += masker.push(text.slice(at, at + n));
          at += n;
        }
        out += masker.flush();
        assert.ok(!out.includes(secret));
        assert.equal(out, masker.maskAll(text));
      }),
    );
  });

  it('writes an env file that bash sources back to the same values', () => {
    const text = envFileText({ HF_TOKEN: "a'b$(c)`d`\nz", PLAIN: 'x y' });
    assert.match(text, /^export HF_TOKEN=/);
    assert.throws(() => envFileText({ 'BAD-NAME': 'x' }), /not a valid environment variable name/);
  });
});

describe('targets, ports, registry, sync arguments', () => {
  it('parses targets and refuses option-like hosts', () => {
    assert.deepEqual(parseTarget('local'), { kind: 'local' });
    assert.deepEqual(parseTarget('gpu-box'), { kind: 'ssh', host: 'gpu-box' });
    assert.deepEqual(parseTarget('me@10.0.0.2:2222'), { kind: 'ssh', host: 'me@10.0.0.2:2222' });
    assert.deepEqual(parseTarget('slurm:login1'), { kind: 'slurm', host: 'login1' });
    assert.throws(() => parseTarget('-oProxyCommand=evil'), /not a valid host/);
    assert.throws(() => parseTarget('slurm:'), /names no login host/);
  });

  it('reads ssh -G output', () => {
    const resolved = parseSshG('host gpu\nhostname 10.1.2.3\nuser alice\nport 2222\nidentityfile ~/.ssh/id_ed25519\nproxyjump bastion\n');
    assert.deepEqual([resolved.hostname, resolved.user, resolved.port, resolved.proxyJump], ['10.1.2.3', 'alice', 2222, 'bastion']);
  });

  it('finds listening ports in /proc/net/tcp and picks another one', () => {
    const proc = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:7342 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:9C40 0100007F:7342 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    const busy = listeningPorts(proc);
    assert.deepEqual([...busy], [0x7342]);
    assert.equal(pickFreePort(new Set([29500]), () => 0), 29501);
  });

  it('persists jobs and moves a corrupt registry aside instead of overwriting it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-reg-'));
    const registry = new JobRegistry(dir);
    registry.put({ id: 'a', request: { target: 'local', argv: ['true'], localDir: dir, secretNames: [] }, state: 'queued', createdAt: 1 });
    assert.equal(new JobRegistry(dir).get('a')?.state, 'queued');
    writeFileSync(path.join(dir, 'jobs.json'), '{not json');
    assert.throws(() => new JobRegistry(dir), /moved aside/);
  });

  it('syncs over the same ssh command, honouring .gitignore and the excludes', () => {
    const args = rsyncArgs({ localDir: '/ws/', remoteDir: '/r/ws', sshShell: 'ssh -o ControlPath=/c/%C', host: 'gpu', exclude: ['output/', '*.bin'] });
    assert.deepEqual(args.slice(-5), ['--filter=:- .gitignore', '--exclude=output/', '--exclude=*.bin', '/ws/', 'gpu:/r/ws/']);
    assert.ok(args.includes('--protect-args'));
  });

  it('cuts byte streams only at UTF-8 character boundaries', () => {
    const bytes = Buffer.from('a█🚀', 'utf8');
    for (let n = 0; n <= bytes.length; n++) {
      const cut = completeUtf8Length(bytes.subarray(0, n));
      assert.ok(!bytes.subarray(0, cut).toString('utf8').includes('\ufffd'), `cut at ${n}`);
    }
  });
});
