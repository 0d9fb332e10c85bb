import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JobRecord } from './job';

/**
 * Every job ever launched from this client, as one JSON file (the extension's global storage, or the CLI's
 * state folder). Writes go to a temporary file that is renamed over the old one, so a crash never leaves
 * half a file.
 */
export class JobRegistry {
  private jobs = new Map<string, JobRecord>();
  readonly file: string;

  constructor(folder: string) {
    mkdirSync(folder, { recursive: true });
    this.file = path.join(folder, 'jobs.json');
    this.reload();
  }

  reload(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      this.jobs = new Map();
      return;
    }
    try {
      const parsed = JSON.parse(text) as { version: number; jobs: JobRecord[] };
      this.jobs = new Map((parsed.jobs ?? []).map((j) => [j.id, j]));
    } catch (error) {
      // Keep the unreadable file for the user instead of overwriting their history.
      renameSync(this.file, `${this.file}.corrupt-${Date.now()}`);
      this.jobs = new Map();
      throw new Error(`The job registry ${this.file} was not valid JSON and was moved aside: ${(error as Error).message}`);
    }
  }

  all(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id) ?? [...this.jobs.values()].find((j) => j.id.endsWith(id) || j.id.startsWith(id));
  }

  put(job: JobRecord): void {
    this.jobs.set(job.id, job);
    this.save();
  }

  remove(id: string): void {
    this.jobs.delete(id);
    this.save();
  }

  save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, jobs: this.all() }, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
