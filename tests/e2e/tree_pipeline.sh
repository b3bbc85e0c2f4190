#!/usr/bin/env bash
# The done-criterion of issue 9: cr_checkpoint --tree on a shell script that forks a pipeline
# (producer | filter | consumer, the consumer writing a file) restarts to a byte-identical file.
# The script runs once uninterrupted; then again, checkpointed with --tree --kill while data flows
# through the pipes, and restarted (original pids, in a PID namespace) from the scope's index.
#
# With MODE cont the checkpoint is taken without --kill: the job runs to its end, then the tree is
# restarted from the images and must rewrite the same file over it.
#
# Usage: tree_pipeline.sh --work DIR -- RECORDS MODE
#   RECORDS  how many records the producer writes (one every 10 ms)
#   MODE     kill (cr_checkpoint --tree --kill) or cont (cr_checkpoint --tree, the job goes on)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 2 "tree_pipeline.sh --work DIR -- RECORDS kill|cont" "$@"
records="${args[0]}"
mode="${args[1]}"
[[ "$mode" == kill || "$mode" == cont ]] || fail "MODE is kill or cont, not '$mode'"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
fresh_dir "$work"

cat >"$work/job.sh" <<'JOB'
#!/bin/bash
# producer | filter | consumer: records, a running sum, upper-cased line by line
# into a file by a bash loop.
records="$1"
out="$2"
producer() {
  for ((i = 1; i <= records; i++)); do
    echo "record $i value $((i * i % 1009))"
    sleep 0.01
  done
}
consumer() {
  while read -r line; do echo "${line^^}"; done
}
filter() {
  local sum=0 word number label value
  while read -r word number label value; do
    sum=$((sum + value))
    echo "$word $number $value $sum"
  done
}
producer | filter | consumer >"$out"
echo "job done: $(wc -l <"$out") lines"
JOB

# run DIR: starts the job under cr_run in DIR; sets pid.
run() {
  (cd "$1" && exec "$CR_RUN" bash "$work/job.sh" "$records" "$1/out.txt" >"$1/stdout" 2>"$1/stderr" </dev/null) &
  pid=$!
  track "$pid"
}

mkdir -p "$work/plain" "$work/ckpt"
say "uninterrupted run ($records records)"
run "$work/plain"
wait_gone "$pid" 300 || fail "the uninterrupted job did not finish in 300 s"
reap "$pid"
[[ "$status" == 0 ]] || fail "the uninterrupted job exited with $status" "$(show "$work/plain/stderr")"
[[ "$(wc -l <"$work/plain/out.txt")" == "$records" ]] || fail "the uninterrupted job wrote $(wc -l <"$work/plain/out.txt") lines"

say "checkpointed run: cr_checkpoint --tree ($mode) while records flow"
run "$work/ckpt"
job="$pid"
# Wait until the pipeline runs (producer, awk, tr: three children of the script).
deadline=$((SECONDS + 30))
while (($(pgrep -P "$job" | wc -l) < 3)); do
  ((SECONDS < deadline)) || fail "the pipeline did not start"
  sleep 0.05
done
sleep 1
kill_flag=()
[[ "$mode" == kill ]] && kill_flag=(--kill)
status="$(run_tool "$work/checkpoint.out" "$work/checkpoint.err" "$CR_CHECKPOINT" --tree "${kill_flag[@]}" \
  -f "$work/ckpt/ctx" "$job")"
[[ "$status" == 0 ]] || fail "cr_checkpoint --tree exited with $status" "$(show "$work/checkpoint.err")"
say "  $(cat "$work/checkpoint.out")"
lines_at_checkpoint="$(wc -l <"$work/ckpt/out.txt")"
if [[ "$mode" == kill ]]; then
  wait_gone "$job" 30 || fail "the job survived cr_checkpoint --kill"
  reap "$job"
else
  wait_gone "$job" 300 || { describe_stuck "$job"; fail "the checkpointed job did not finish in 300 s"; }
  reap "$job"
  [[ "$status" == 0 ]] || fail "the checkpointed job exited with $status" "$(show "$work/ckpt/stderr")"
  cmp "$work/plain/out.txt" "$work/ckpt/out.txt" || fail "the job's file changed by its checkpoint"
  : >"$work/ckpt/stdout"  # the restarted script prints its last line again
fi
grep -q '^process' "$work/ckpt/ctx" || fail "the index lists no process" "$(show "$work/ckpt/ctx")"
say "  $(grep -c '^process' "$work/ckpt/ctx") processes, $(grep -c '^zombie' "$work/ckpt/ctx" || true) zombies in the index"
((lines_at_checkpoint < records)) || fail "the job had finished before its checkpoint: choose more records"

say "restart from the index"
(cd "$work/ckpt" && exec "$CR_RESTART" "$work/ckpt/ctx" >>"$work/ckpt/stdout" 2>>"$work/ckpt/stderr" </dev/null) &
restart=$!
track "$restart"
wait_gone "$restart" 300 || { describe_stuck "$restart"; fail "the restarted job did not finish in 300 s"; }
reap "$restart"
[[ "$status" == 0 ]] || fail "cr_restart exited with $status" "$(show "$work/ckpt/stderr")"
cmp "$work/plain/out.txt" "$work/ckpt/out.txt" ||
  fail "the restarted pipeline's file differs from the uninterrupted one" \
    "$(diff "$work/plain/out.txt" "$work/ckpt/out.txt" | head -n 10 || true)"
cmp -s "$work/plain/stdout" "$work/ckpt/stdout" || fail "the script's own output differs" \
  "$(show "$work/plain/stdout")" "$(show "$work/ckpt/stdout")"
say "PASS: byte-identical output ($records records, $lines_at_checkpoint written before the checkpoint)"
