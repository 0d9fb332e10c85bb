#!/bin/bash
# Replays a real HF Trainer run (transformers 5.17, torchrun, tqdm) over time, for launcher tests.
# Usage: replay-trainer.sh [--fixtures DIR] [--delay SECONDS] [--fail oom|bad-arg|port|missing|data-flood] [--fail-after N] [--print-env NAME]
# Reads torchrun-lora.stderr.txt (tqdm bars, one per line in the capture) and torchrun-lora.stdout.txt (log
# dicts) from DIR (default: the folder of this script), redraws the bars on stderr with carriage returns as
# tqdm does, and prints one log dict every 5 steps to stdout, like the real run. --fail prints the real failure text after N bar updates and exits 1.
set -u
dir="$(cd "$(dirname "$0")" && pwd)"
fixtures="$dir"
delay=0.05
fail=""
fail_after=40
print_env=""
while [ $# -gt 0 ]; do
  case "$1" in
    --fixtures) fixtures="$2"; shift 2 ;;
    --delay) delay="$2"; shift 2 ;;
    --fail) fail="$2"; shift 2 ;;
    --fail-after) fail_after="$2"; shift 2 ;;
    --print-env) print_env="$2"; shift 2 ;;
    *) echo "replay-trainer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$print_env" ]; then echo "env $print_env=${!print_env:-<unset>}"; fi
echo "replay: CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-<unset>} MASTER_PORT=${MASTER_PORT:-<unset>}"
exec 3< "$fixtures/torchrun-lora.stdout.txt"
n=0
last_logged=0
while IFS= read -r segment; do
  [ -z "${segment// /}" ] && continue
  if [[ "$segment" == *"/"*" ["* ]]; then printf '\r%s' "$segment" >&2; else printf '\n%s\n' "$segment" >&2; fi
  n=$((n + 1))
  if [[ "$segment" =~ ([0-9]+)/300\ \[ ]]; then
    step=${BASH_REMATCH[1]}
    if [ $((step % 5)) -eq 0 ] && [ "$step" -gt "$last_logged" ]; then
      last_logged=$step
      IFS= read -r dict <&3 && printf '%s\n' "$dict"
    fi
  fi
  if [ -n "$fail" ] && [ "$n" -ge "$fail_after" ]; then
    printf '\n' >&2
    case "$fail" in
      oom) cat "$fixtures/cuda-oom.traceback.txt" >&2 ;;
      bad-arg) cat "$fixtures/bad-training-argument.stderr.txt" >&2 ;;
      port) echo "[W1123 09:20:01.000000000 socket.cpp:755] [c10d] The server socket has failed to listen on any local network address. port: $MASTER_PORT, useIpv6: false, code: -98, name: EADDRINUSE, message: address already in use" >&2
            echo "torch.distributed.DistNetworkError: The server socket has failed to listen on any local network address. port: $MASTER_PORT, useIpv6: false, code: -98, name: EADDRINUSE, message: address already in use" >&2 ;;
      missing) echo "/usr/bin/python3: can't open file '/home/user/finetune/finetune.py': [Errno 2] No such file or directory" >&2 ;;
      data-flood) for _ in $(seq 60); do echo "data fetch error" >&2; done
                  echo "RecursionError: maximum recursion depth exceeded while calling a Python object" >&2 ;;
    esac
    exit 1
  fi
  sleep "$delay"
done < "$fixtures/torchrun-lora.stderr.txt"
printf '\n' >&2
cat <&3  # the last eval and the end-of-training summary
exit 0
