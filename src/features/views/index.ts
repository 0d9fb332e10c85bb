import * as vscode from 'vscode';
import type { FeatureContext } from '../shared/context';

/**
 * A tree with no items: VS Code then shows the view's `viewsWelcome` text and buttons (package.json),
 * which point the user to the next step. The launcher and curves features replace these providers.
 */
class EmptyTree implements vscode.TreeDataProvider<never> {
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
  getChildren(): never[] {
    return [];
  }
}

/** Jobs and Hosts are registered by the jobs feature, Runs by the curves feature. */
export const emptyViewIds: readonly string[] = [];

export function registerEmptyViews(_context: FeatureContext, viewIds: readonly string[] = emptyViewIds): vscode.Disposable {
  return vscode.Disposable.from(...viewIds.map((id) => vscode.window.registerTreeDataProvider(id, new EmptyTree())));
}
