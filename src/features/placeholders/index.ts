import * as vscode from 'vscode';
import type { FeatureContext } from '../shared/context';

/**
 * Commands contributed in package.json whose feature has not landed yet. They answer honestly instead of
 * failing with "command not found". Remove an id here when its feature registers the real command.
 */
export const pendingCommands: Record<string, string> = {
};

export function registerPendingCommands({ log }: FeatureContext): vscode.Disposable {
  return vscode.Disposable.from(
    ...Object.entries(pendingCommands).map(([id, feature]) =>
      vscode.commands.registerCommand(id, () => {
        const message = `${feature} is not available yet in this version of Finetune Workbench.`;
        log.info(`${id}: ${message}`);
        void vscode.window.showInformationMessage(message);
        return { available: false, message };
      }),
    ),
  );
}
