import * as vscode from 'vscode';

/** Dataset formats a user can force for a glob (`auto` means detect). */
export type DatasetFormatSetting = 'auto' | 'minicpmv' | 'llava' | 'sharegpt' | 'qwen' | 'messages' | 'qwenvl' | 'llamafactory';

export interface GpuSetting {
  name: string;
  memoryGiB: number;
  computeCapability: string;
  count: number;
}

/**
 * Every setting of the extension, with its type. Keys mirror `contributes.configuration` in package.json;
 * a test checks that both lists agree, so adding a setting means adding it in both places.
 */
export interface SettingValues {
  'dataset.formatOverrides': Record<string, DatasetFormatSetting>;
  'dataset.imageBaseDir': string;
  'dataset.modelMaxLength': number;
  'dataset.model': string;
  'dataset.lintInEditorMaxMB': number;
  'script.transformersVersion': string;
  'gpu.default': GpuSetting;
  'launch.targets': string[];
  'launch.remoteRoot': string;
  'launch.syncExclude': string[];
  'launch.pythonPath': string;
  'launch.env': Record<string, string>;
  'launch.maxConcurrentJobsPerTarget': number;
  'curves.runGlobs': string[];
  'curves.smoothing': number;
}

export type SettingKey = keyof SettingValues;

export const settingsSection = 'finetuneWorkbench';

/** The single typed accessor for settings. Pass the resource for resource-scoped settings (per folder). */
export class Settings {
  get<K extends SettingKey>(key: K, resource?: vscode.Uri): SettingValues[K] {
    const value = vscode.workspace.getConfiguration(settingsSection, resource).get<SettingValues[K]>(key);
    if (value === undefined) {
      throw new Error(`Setting ${settingsSection}.${key} has no default; package.json and settings.ts disagree`);
    }
    return value;
  }

  /** Fires when any of the given keys changes (for any resource). */
  onDidChange(keys: readonly SettingKey[], listener: () => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((event) => {
      if (keys.some((key) => event.affectsConfiguration(`${settingsSection}.${key}`))) listener();
    });
  }
}
