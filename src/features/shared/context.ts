import * as vscode from 'vscode';
import type { Settings } from './settings';

/** What every feature receives from activate(). Features return one Disposable that owns all they create. */
export interface FeatureContext {
  readonly extension: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly settings: Settings;
}

export type Feature = (context: FeatureContext) => vscode.Disposable;
