import { estimateCommand } from './estimate';
import { fixCommand } from './fix';
import { curvesCommand } from './curves';
import { cancelCommand, gpusCommand, jobsCommand, logsCommand, runCommand } from './jobs';
import { lintCommand } from './lint';
import type { Subcommand } from './types';

/** Every subcommand of `ftw`, in the order `ftw --help` lists them. Issues add theirs here. */
export const subcommands: readonly Subcommand[] = [lintCommand, fixCommand, estimateCommand, curvesCommand, runCommand, jobsCommand, logsCommand, cancelCommand, gpusCommand];
