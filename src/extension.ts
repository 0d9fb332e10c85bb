import * as vscode from 'vscode';
import { productName, productVersion } from './core/product';
import type { Feature, FeatureContext } from './features/shared/context';
import { registerDatasetLint } from './features/datasetLint';
import { registerCoreCommands } from './features/shared/commands';
import { createLog } from './features/shared/log';
import { Settings } from './features/shared/settings';
import { registerCurves } from './features/curves';
import { registerJobCurves } from './features/curves/jobCurves';
import { registerScriptLint } from './features/scriptLint';
import { registerJobs } from './features/jobs';

/** Features in the order they are wired. Each returns one Disposable that owns everything it created. */
const features: readonly Feature[] = [registerCoreCommands, registerDatasetLint, registerScriptLint, registerCurves, registerJobs, registerJobCurves];

export function activate(extension: vscode.ExtensionContext): void {
  const log = createLog();
  extension.subscriptions.push(log);
  const context: FeatureContext = { extension, log, settings: new Settings() };
  for (const feature of features) {
    try {
      extension.subscriptions.push(feature(context));
    } catch (error) {
      // One broken feature must not take the others down; the user sees why in the log.
      log.error(error instanceof Error ? error : String(error));
      void vscode.window.showErrorMessage(`${productName}: a feature failed to start. See the log for details.`, 'Show Log').then((choice) => {
        if (choice) log.show(true);
      });
    }
  }
  log.info(`${productName} ${productVersion} activated in VS Code ${vscode.version} (${vscode.env.appName}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);
}

export function deactivate(): void {
  // Everything is owned by extension.subscriptions; VS Code disposes it.
}
