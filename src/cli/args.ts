import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exitCodes';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** node's parseArgs (positionals allowed unless said); a parse error becomes a UsageError (printed with the usage, exit 2). */
export function parseCliArgs<const O extends OptionsConfig>(args: string[], options: O, { allowPositionals = true } = {}) {
  try {
    return parseArgs({ args, allowPositionals, options });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
