import { quoteShellArg as q } from './shellQuote';

/**
 * Bash scripts the runner sends to a target. They are small, self-contained and take every variable part
 * through quoteShellArg, so paths with spaces, quotes, `$()` or newlines stay inert.
 */

/** True while a process of the group is alive (zombies do not count: nobody may reap them in a container). */
function aliveFunction(pgid: number): string {
  return `alive() { ps -eo pgid=,stat= | awk -v g=${pgid} '$1==g && $2 !~ /^Z/ {f=1} END {exit !f}'; }`;
}

/** The wrapper a job runs as: its own process group; writes pid and exit code files next to the log. */
export function wrapperScript(o: { jobDir: string; cwd: string; command: string; slurm?: boolean }): string {
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  const run = o.slurm
    ? [
        'export MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
        'export NNODES="${SLURM_JOB_NUM_NODES:-1}"',
        'if [ "$NNODES" -gt 1 ]; then',
        `  srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c ${q(`export NODE_RANK="$SLURM_NODEID"; ${o.command}`)}`,
        'else',
        '  export NODE_RANK=0',
        `  ${o.command}`,
        'fi',
      ]
    : [o.command];
  return [
    '#!/bin/bash',
    '# Written by Finetune Workbench. Runs the job, then records its exit code.',
    `echo $$ > ${d('pid')}`,
    // A trap (not an ignore) keeps this wrapper alive to record the exit code; children get default handlers.
    "trap ':' INT TERM",
    `if [ -f ${d('env')} ]; then . ${d('env')}; rm -f ${d('env')}; fi`,
    `cd ${q(o.cwd)} || { echo "ftw: cannot enter the working directory ${o.cwd.replace(/[^\x20-\x7e]/g, '?').replace(/["`$\\]/g, '?')}"; echo 127 > ${d('exit_code')}; exit 127; }`,
    ...run,
    'code=$?',
    `printf '%s\\n' "$code" > ${d('exit_code.tmp')} && mv -f ${d('exit_code.tmp')} ${d('exit_code')}`,
    'exit "$code"',
    '',
  ].join('\n');
}

/**
 * Creates the job folder, stores the env file from stdin (mode 600) and the wrapper, picks a free MASTER_PORT
 * on the target if asked, starts the wrapper detached, prints `ftw-port N` and `ftw-pid N`, then follows the
 * log from byte 0 until the job ends: launch and the first log line cost one round trip.
 */
export function launchScript(o: { jobDir: string; wrapper: string; pickPort?: boolean; takenPorts?: readonly number[] }): string {
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  const taken = (o.takenPorts ?? []).filter((p) => Number.isInteger(p)).join(' ');
  return [
    'set -e',
    'umask 077',
    `mkdir -p ${q(o.jobDir)}`,
    `cat > ${d('env')}`,
    ...(o.pickPort
      ? [
          // Ports in LISTEN state (st 0A) on the target, and ports this client gave its other live jobs.
          `busy=" ${taken} $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r _ local _ st _; do [ "$st" = 0A ] && printf '%d ' "$((16#\${local##*:}))"; done; true) "`,
          'port=""',
          'for _ in $(seq 500); do p=$((29500 + RANDOM % 10000)); case "$busy" in *" $p "*) continue ;; esac; port=$p; break; done',
          '[ -n "$port" ] || { echo "no free MASTER_PORT found" >&2; exit 1; }',
          `printf 'export MASTER_PORT=%s\\n' "$port" >> ${d('env')}`,
          'echo "ftw-port $port"',
        ]
      : []),
    `printf '%s' ${q(o.wrapper)} > ${d('run.sh')}`,
    // setsid -f: a forked child in its own session and process group (pgid = pid), so cancel can signal the
    // whole tree and a dropped connection does not reach it; nohup for good measure. Not started with `&`:
    // a background command of a non-interactive shell ignores SIGINT, and so would the trainer.
    `setsid -f nohup bash ${d('run.sh')} > ${d('log')} 2>&1 < /dev/null`,
    `for _ in $(seq 500); do [ -s ${d('pid')} ] && break; sleep 0.01; done`,
    `pid=$(cat ${d('pid')})`,
    'echo "ftw-pid $pid"',
    'set +e',
    `exec tail -c +1 -s 0.2 --pid="$pid" -F ${d('log')} 2>/dev/null`,
  ].join('\n');
}

export function slurmSubmitScript(o: { jobDir: string; wrapper: string; sbatchArgs: string[] }): string {
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  return [
    'set -e',
    'umask 077',
    `mkdir -p ${q(o.jobDir)}`,
    `cat > ${d('env')}`,
    `printf '%s' ${q(o.wrapper)} > ${d('job.sbatch')}`,
    `sbatch --parsable ${o.sbatchArgs.map(q).join(' ')} ${d('job.sbatch')}`,
  ].join('\n');
}

/** Prints `exit <code>`, `running` or `dead`, then a separator and the last bytes of the log. */
export function statusScript(o: { jobDir: string; pgid?: number; tailBytes: number }): string {
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  return [
    o.pgid ? aliveFunction(o.pgid) : 'alive() { false; }',
    // exit_code is checked again after alive: the job may end between the two checks.
    `if [ -f ${d('exit_code')} ]; then echo "exit $(cat ${d('exit_code')})"; elif alive; then echo running; elif [ -f ${d('exit_code')} ]; then echo "exit $(cat ${d('exit_code')})"; else echo dead; fi`,
    `echo "size $(stat -c %s ${d('log')} 2>/dev/null || echo 0)"`,
    'echo @@ftw-log',
    `tail -c ${o.tailBytes} ${d('log')} 2>/dev/null || true`,
  ].join('\n');
}

export function slurmStatusScript(o: { jobDir: string; slurmJobId: string; tailBytes: number }): string {
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  const id = q(o.slurmJobId);
  return [
    `echo "squeue $(squeue -h -j ${id} -o %T 2>/dev/null | head -n 1)"`,
    `echo "scontrol $(scontrol show job ${id} 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1)"`,
    `if [ -f ${d('exit_code')} ]; then echo "exit $(cat ${d('exit_code')})"; fi`,
    `echo "size $(stat -c %s ${d('log')} 2>/dev/null || echo 0)"`,
    'echo @@ftw-log',
    `tail -c ${o.tailBytes} ${d('log')} 2>/dev/null || true`,
  ].join('\n');
}

/**
 * Streams the log from a byte offset until the job's process group is gone. tail's inotify wakes up on every
 * write; --pid ends it after the wrapper exits (it reads what is left first).
 */
export function followScript(o: { logPath: string; offset: number; pid: number }): string {
  return `exec tail -c +${o.offset + 1} -s 0.2 --pid=${o.pid} -F ${q(o.logPath)} 2>/dev/null`;
}

/** The same for Slurm, where the job may run on another node: poll the size, stop once squeue no longer lists it. */
export function slurmFollowScript(o: { logPath: string; offset: number; slurmJobId: string }): string {
  const log = q(o.logPath);
  return [
    `off=${o.offset}`,
    'while :; do',
    `  fin=0; squeue -h -j ${q(o.slurmJobId)} 2>/dev/null | grep -q . || fin=1`,
    `  size=$(stat -c %s ${log} 2>/dev/null || echo 0)`,
    `  if [ "$size" -gt "$off" ]; then tail -c +$((off + 1)) ${log} | head -c $((size - off)); off=$size; fi`,
    '  [ "$fin" = 1 ] && exit 0',
    '  sleep 0.3',
    'done',
  ].join('\n');
}

/** Bytes [from, to) of the log (to undefined: to the end). */
export function readLogScript(o: { logPath: string; from: number; to?: number }): string {
  const tail = `tail -c +${o.from + 1} ${q(o.logPath)} 2>/dev/null`;
  return o.to === undefined ? `${tail} || true` : `${tail} | head -c ${Math.max(0, o.to - o.from)}`;
}

/**
 * SIGINT to the process group (the trainer saves and exits cleanly on it), then SIGTERM, then SIGKILL, each
 * after a grace period. By process group id only, after checking the group leader is this job's wrapper.
 */
export function cancelScript(o: { jobDir: string; pgid: number; graceMs: number }): string {
  const steps = Math.max(1, Math.ceil(o.graceMs / 200));
  const d = (name: string) => q(`${o.jobDir}/${name}`);
  return [
    `pg=${o.pgid}`,
    aliveFunction(o.pgid),
    `if [ -r /proc/$pg/cmdline ] && ! tr '\\0' '\\n' < /proc/$pg/cmdline | grep -qxF -- ${d('run.sh')}; then echo not-ours; exit 3; fi`,
    'alive || { echo gone; exit 0; }',
    'kill -INT -- -$pg 2>/dev/null || true',
    'for sig in TERM KILL; do',
    `  i=0; while alive && [ $i -lt ${steps} ]; do sleep 0.2; i=$((i + 1)); done`,
    '  alive || { echo stopped; exit 0; }',
    '  echo "sending $sig"',
    '  kill -$sig -- -$pg 2>/dev/null || true',
    'done',
    'sleep 0.3',
    `[ -f ${d('exit_code')} ] || echo 137 > ${d('exit_code')}`,
    'alive && { echo still-alive; exit 4; }',
    'echo killed',
  ].join('\n');
}

export function slurmCancelScript(o: { slurmJobId: string; graceMs: number }): string {
  const id = q(o.slurmJobId);
  const steps = Math.max(1, Math.ceil(o.graceMs / 200));
  return [
    `listed() { squeue -h -j ${id} 2>/dev/null | grep -q .; }`,
    'listed || { echo gone; exit 0; }',
    // --full: also the batch step, where a single-node job's command runs.
    `scancel --full --signal=INT ${id} 2>/dev/null || true`,
    `i=0; while listed && [ $i -lt ${steps} ]; do sleep 0.2; i=$((i + 1)); done`,
    `listed && scancel ${id}`,
    'echo cancelled',
  ].join('\n');
}

/** Listening TCP sockets of the target, for picking a free MASTER_PORT. */
export const listeningPortsScript = 'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true';

export const homeScript = 'printf "%s" "$HOME"';
