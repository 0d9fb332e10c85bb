import { estimateCommand } from './estimate';
import { lintCommand } from './lint';
import type { Subcommand } from './types';

/** Every subcommand of `ftw`, in the order `ftw --help` lists them. Issues add theirs here. */
export const subcommands: readonly Subcommand[] = [lintCommand, estimateCommand];
