import * as vscode from 'vscode';
import type { GpuProbe, ProbedGpu } from '../../core/jobs/gpuProbe';
import type { JobRunner } from '../../core/jobs/runner';
import { parseTarget, resolveSshHost, sshHostOf } from '../../core/jobs/transport';
import { launchTarget, type LaunchTargetFacts } from '../shared/launchTarget';
import type { Settings } from '../shared/settings';

type HostNode = { kind: 'host'; target: string } | { kind: 'gpu'; target: string; gpu: ProbedGpu } | { kind: 'message'; target: string; text: string };

/** Launch targets (local + the `launch.targets` setting) with the GPUs their probe found. */
export class HostsTree implements vscode.TreeDataProvider<HostNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<HostNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly probes = new Map<string, Promise<GpuProbe>>();

  constructor(
    private readonly runner: JobRunner,
    private readonly settings: Settings,
  ) {}

  targets(): string[] {
    return ['local', ...this.settings.get('launch.targets').filter((t) => t !== 'local')];
  }

  probe(target: string): Promise<GpuProbe> {
    let probe = this.probes.get(target);
    if (!probe) {
      probe = this.runner.probeGpus(target).catch((error: Error) => ({ gpus: [], error: error.message }));
      this.probes.set(target, probe);
    }
    return probe;
  }

  /** "Use This Target's GPUs for Script Lint": its probe replaces the gpu.default setting in the editor's script lint. */
  async useForScriptLint(node?: { target: string }): Promise<LaunchTargetFacts | undefined> {
    const target = node?.target ?? (await vscode.window.showQuickPick(this.targets(), { placeHolder: 'Target whose GPUs and transformers version the script lint uses' }));
    if (!target) return undefined;
    const probe = await this.probe(target);
    if (!probe.gpus.length) {
      void vscode.window.showWarningMessage(`No GPUs found on ${target}${probe.error ? ` (${probe.error})` : ''}; the script lint keeps using the gpu.default setting.`);
      return undefined;
    }
    const facts: LaunchTargetFacts = { target, gpus: probe.gpus.map(({ processes: _p, ...gpu }) => gpu), transformersVersion: probe.transformersVersion, chosenIn: 'Hosts view' };
    launchTarget.set(facts);
    return facts;
  }

  refresh(): void {
    this.probes.clear();
    // Stale facts must not keep steering the script lint; the Launch panel's next probe sets them again.
    launchTarget.set(undefined);
    this.changed.fire(undefined);
  }

  getTreeItem(node: HostNode): vscode.TreeItem {
    if (node.kind === 'host') {
      const item = new vscode.TreeItem(node.target, vscode.TreeItemCollapsibleState.Expanded);
      item.iconPath = new vscode.ThemeIcon(node.target === 'local' ? 'vm' : node.target.startsWith('slurm:') ? 'server-environment' : 'remote');
      item.contextValue = 'host';
      return item;
    }
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    const g = node.gpu;
    const item = new vscode.TreeItem(`${g.index}: ${g.name}`);
    item.description = `${(g.memoryUsedMiB / 1024).toFixed(1)} / ${(g.memoryTotalMiB / 1024).toFixed(0)} GiB used${g.utilizationPercent !== undefined ? ` · ${g.utilizationPercent}%` : ''}`;
    item.tooltip = `${g.name} (sm_${(g.computeCapability ?? '?').replace('.', '')}), ${g.memoryFreeMiB} MiB free, ${g.processes.length} process(es)${g.processes.map((p) => `\n pid ${p.pid} ${p.name} ${p.usedMemoryMiB ?? '?'} MiB`).join('')}`;
    item.iconPath = new vscode.ThemeIcon('chip');
    return item;
  }

  /** On hover: where ssh will really connect, as `ssh -G` resolves it (config, Include files, ProxyJump). */
  async resolveTreeItem(item: vscode.TreeItem, node: HostNode): Promise<vscode.TreeItem> {
    if (node.kind !== 'host') return item;
    const host = sshHostOf(parseTarget(node.target));
    if (!host) return item;
    try {
      const r = await resolveSshHost(host);
      item.tooltip = `${node.target} → ${r.user}@${r.hostname}:${r.port}${r.proxyJump ? ` via ${r.proxyJump}` : ''}`;
    } catch (error) {
      item.tooltip = `${node.target}: ${(error as Error).message}`;
    }
    return item;
  }

  async getChildren(node?: HostNode): Promise<HostNode[]> {
    if (!node) return this.targets().map((target) => ({ kind: 'host', target }));
    if (node.kind !== 'host') return [];
    const probe = await this.probe(node.target);
    const children: HostNode[] = probe.gpus.map((gpu) => ({ kind: 'gpu', target: node.target, gpu }));
    if (probe.error) children.push({ kind: 'message', target: node.target, text: probe.error });
    if (probe.transformersVersion) children.push({ kind: 'message', target: node.target, text: `transformers ${probe.transformersVersion}` });
    return children;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
