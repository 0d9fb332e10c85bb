import * as vscode from 'vscode';

/** The one output channel of the extension. Created once in activate() and passed to every feature. */
export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('Finetune Workbench', { log: true });
}
