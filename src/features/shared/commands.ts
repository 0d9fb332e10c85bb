import * as vscode from 'vscode';
import type { FeatureContext } from './context';

/** Commands that belong to the extension as a whole rather than to one feature. */
export function registerCoreCommands({ log }: FeatureContext): vscode.Disposable {
  return vscode.commands.registerCommand('finetuneWorkbench.showLog', () => log.show(true));
}
