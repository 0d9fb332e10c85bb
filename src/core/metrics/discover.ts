import path from 'node:path';

/**
 * Run folders for files that mark a run (trainer_state.json, event files, trainer_log.jsonl). HF writes event
 * files to `<output>/runs/<date_host>/` and checkpoints to `<output>/checkpoint-N/`: both belong to `<output>`.
 * A folder inside another found run folder is part of that run.
 */
export function runFoldersFromMarkers(markerFiles: string[]): string[] {
  const folders = new Set<string>();
  for (const file of markerFiles) {
    let dir = path.dirname(file);
    if (/^checkpoint-\d+$/.test(path.basename(dir))) dir = path.dirname(dir);
    else if (path.basename(path.dirname(dir)) === 'runs') dir = path.dirname(path.dirname(dir));
    else if (path.basename(dir) === 'runs') dir = path.dirname(dir);
    folders.add(dir);
  }
  const sorted = [...folders].sort();
  return sorted.filter((folder) => !sorted.some((other) => other !== folder && folder.startsWith(other + path.sep) && path.relative(other, folder).split(path.sep).length <= 2));
}
