import { isValidEnvName, quoteShellArg } from './shellQuote';

/** Names whose values are always treated as secrets, whether or not the user marked them. */
export const wellKnownSecretNames = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'WANDB_API_KEY', 'NEPTUNE_API_TOKEN', 'COMET_API_KEY', 'AWS_SECRET_ACCESS_KEY'];

/**
 * The body of the job's env file: `export NAME='value'` lines, sourced by the job's wrapper script and deleted
 * right after. It travels over the connection's stdin into a mode-600 file, so no value is ever part of a
 * command line (visible in `ps` or shell history).
 */
export function envFileText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!isValidEnvName(name)) throw new Error(`'${name}' is not a valid environment variable name (letters, digits and _, not starting with a digit)`);
      return `export ${name}=${quoteShellArg(value)}\n`;
    })
    .join('');
}

const mask = '••••••';

/**
 * Replaces secret values in streamed log text with a mask. Tokens never contain line breaks, so complete lines
 * (ending in \n or \r, as tqdm redraws) are masked and emitted, and the unfinished rest is held back until its
 * line ends or flush(): a secret split across two chunks is still masked. Without secrets nothing is held back.
 */
export class SecretMasker {
  private readonly secrets: string[];
  private pending = '';

  constructor(secrets: Iterable<string>) {
    // Very short values would mask ordinary text everywhere; they are not realistic tokens.
    this.secrets = [...new Set([...secrets].filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** Bytes (UTF-8) received but not emitted yet. */
  get pendingBytes(): number {
    return Buffer.byteLength(this.pending, 'utf8');
  }

  push(text: string): string {
    if (!this.active) return text;
    const combined = this.pending + text;
    const end = Math.max(combined.lastIndexOf('\n'), combined.lastIndexOf('\r')) + 1;
    this.pending = combined.slice(end);
    return this.maskAll(combined.slice(0, end));
  }

  flush(): string {
    const rest = this.maskAll(this.pending);
    this.pending = '';
    return rest;
  }

  maskAll(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(mask);
    return out;
  }
}
