import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import '@vscode-elements/elements/dist/vscode-form-group/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { emptyForm, type GpuRow, type HostToLaunch, type LaunchForm, type LaunchToHost, type PreflightItem, type PreflightSummary } from '../../src/protocol/launch';
import { vscodeApi } from '../shared/vscodeApi';

const vscode = vscodeApi<LaunchToHost, LaunchForm>();
let form: LaunchForm = { ...emptyForm, ...(vscode.getState() ?? {}) };
let trusted = true;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
type ValueElement = HTMLElement & { value: string };
type CheckElement = HTMLElement & { checked: boolean };

let initialised = false;

function save(): void {
  vscode.setState(form);
  // Before init the host has not sent its form yet: the state alone carries the edit, init merges it.
  if (initialised) vscode.postMessage({ type: 'changed', form });
}

/** Puts the form's values into the controls (after init, and only there: listeners keep `form` current after). */
function showForm(): void {
  for (const [id, key] of textFields) $<ValueElement>(id).value = form[key];
  $<CheckElement>('overridePreflight').checked = form.overridePreflight;
  $<CheckElement>('launchOnSave').checked = form.launchOnSave;
}

function options(select: HTMLElement, values: string[], selected: string): void {
  select.replaceChildren(
    ...values.map((v) => {
      const option = document.createElement('vscode-option');
      option.textContent = v;
      option.setAttribute('value', v);
      if (v === selected) option.setAttribute('selected', '');
      return option;
    }),
  );
  (select as ValueElement).value = selected;
}

function renderGpus(gpus: GpuRow[], error?: string, transformers?: string): void {
  const box = $('gpus');
  box.replaceChildren();
  if (gpus.length === 0) {
    box.textContent = error ?? 'No GPUs found on this target.';
  }
  for (const gpu of gpus) {
    const check = document.createElement('vscode-checkbox') as CheckElement;
    check.setAttribute('label', `${gpu.index}: ${gpu.name} — ${(gpu.usedMiB / 1024).toFixed(1)} / ${(gpu.totalMiB / 1024).toFixed(0)} GiB in use, ${gpu.processes} process(es)`);
    check.checked = form.gpus.includes(gpu.index);
    check.addEventListener('change', () => {
      form.gpus = check.checked ? [...new Set([...form.gpus, gpu.index])].sort() : form.gpus.filter((g) => g !== gpu.index);
      save();
    });
    box.append(check, document.createElement('br'));
  }
  $('transformers').textContent = transformers ? `transformers ${transformers} on the target` : '';
}

function renderPreflight(items: PreflightItem[], summary: PreflightSummary): void {
  const facts = $('preflightFacts');
  const lines: string[] = [];
  if (summary.state === 'running') lines.push('Running the preflight…');
  if (summary.gpu) lines.push(`GPUs: ${summary.gpu}`);
  if (summary.state === 'done') lines.push(`transformers on the target: ${summary.transformersVersion ?? 'unknown'}`);
  lines.push(...summary.estimates);
  if (summary.verdict) lines.push(summary.verdict === 'blocked' ? 'Verdict: errors block the launch (check “Launch despite preflight errors” to override).' : summary.verdict === 'warnings' ? 'Verdict: warnings only.' : 'Verdict: ok.');
  facts.replaceChildren(...lines.map((l) => Object.assign(document.createElement('div'), { textContent: l })));
  const list = $('preflight');
  list.replaceChildren();
  if (items.length === 0) {
    list.textContent = summary.state === 'done' ? 'No findings for this script.' : '';
    return;
  }
  for (const item of items) {
    const li = document.createElement('li');
    li.className = item.severity;
    if (item.id !== undefined && item.line !== undefined) {
      const link = document.createElement('a');
      link.href = '#';
      link.textContent = `${item.file ?? 'script'}:${item.line + 1}`;
      const id = item.id;
      link.addEventListener('click', (e) => {
        e.preventDefault();
        vscode.postMessage({ type: 'openFinding', id });
      });
      li.append(link, ' ');
    }
    li.append(`${item.severity}${item.rule ? ` ${item.rule}` : ''}: ${item.message}`);
    list.append(li);
  }
}

const textFields = [
  ['env', 'env'],
  ['args', 'args'],
  ['command', 'commandOverride'],
] as const;

/** Listeners go on at load, before the host's `init`: what the user types meanwhile lands in the state, which init keeps. */
function bind(): void {
  for (const [id, key] of textFields) {
    const el = $<ValueElement>(id);
    el.addEventListener('input', () => {
      form[key] = el.value;
      save();
    });
  }
  $('script').addEventListener('change', () => {
    form.script = $<ValueElement>('script').value;
    form.commandOverride = '';
    $<ValueElement>('command').value = '';
    save();
  });
  $('target').addEventListener('change', () => {
    form.target = $<ValueElement>('target').value;
    form.gpus = [];
    save();
    $('gpus').textContent = 'Probing GPUs…';
    vscode.postMessage({ type: 'probe', target: form.target });
  });
  const override = $<CheckElement>('overridePreflight');
  override.addEventListener('change', () => {
    form.overridePreflight = override.checked;
    save();
  });
  const onSave = $<CheckElement>('launchOnSave');
  onSave.addEventListener('change', () => {
    form.launchOnSave = onSave.checked;
    save();
  });
  $('launch').addEventListener('click', () => {
    $('status').textContent = 'Launching…';
    vscode.postMessage({ type: 'launch', form });
  });
}

window.addEventListener('message', (event: MessageEvent<HostToLaunch>) => {
  const message = event.data;
  switch (message.type) {
    case 'init': {
      // The webview's own state wins (it is the latest); the host's copy fills in a fresh panel.
      form = { ...message.form, ...(vscode.getState() ?? {}) };
      if (!message.scripts.includes(form.script)) form.script = message.scripts[0] ?? '';
      if (!message.targets.includes(form.target)) form.target = message.targets[0] ?? 'local';
      trusted = message.trusted;
      options($('script'), message.scripts, form.script);
      options($('target'), message.targets, form.target);
      showForm();
      initialised = true;
      $('untrusted').textContent = trusted ? '' : message.untrustedMessage;
      $('launch').toggleAttribute('disabled', !trusted);
      save();
      vscode.postMessage({ type: 'probe', target: form.target });
      break;
    }
    case 'gpus':
      if (message.target === form.target) renderGpus(message.gpus, message.error, message.transformersVersion);
      break;
    case 'preview':
      $('resolved').textContent = message.command;
      renderPreflight(message.preflight, message.summary);
      break;
    case 'launched':
      $('status').textContent = `Job ${message.jobId} launched on ${message.target}. Follow it in the Jobs view.`;
      break;
    case 'error':
      $('status').textContent = message.message;
      break;
  }
});

bind();
vscode.postMessage({ type: 'ready' });
