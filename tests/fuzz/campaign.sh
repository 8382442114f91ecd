#!/usr/bin/env bash
# The fuzz campaign: each target in background chunks, toward a goal of
# executions, its corpus kept in build-fuzz/TARGET-corpus from one chunk to
# the next (docs/security.md, "Campaign", has the figures and this command).
#
#   nice -n 19 tests/fuzz/campaign.sh CHUNK_SECONDS GOAL UNTIL_EPOCH TARGET...
#
# One process at a time (one core at most), in rounds: each target in turn
# fuzzes one chunk, until its executions, summed over its chunks, reach GOAL,
# or a chunk ends on a finding (a crash-*, leak-*, timeout-* or oom-* file in
# build-fuzz/; that target stops, the others go on), or the clock passes
# UNTIL_EPOCH. Each chunk's last lines go to build-fuzz/TARGET-campaign.log,
# with one summary line a chunk (the summing reads these back, so a campaign
# can be stopped and started again):
#   TARGET chunk N seconds S executions E total T cov C ft F corpus K status X
set -uo pipefail
cd "$(dirname "$0")/../.."
chunk=$1 goal=$2 until=$3
shift 3
out=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$out"
# One chunk of TARGET; false when it should leave the rounds.
fuzz_chunk() {
  local target=$1 log="$out/$1-campaign.log" total n left secs stats status execs last cov ft corpus
  total=$(awk '/ chunk [0-9]+ seconds /{t=$9} END{print t+0}' "$log")
  (( total < goal )) || return 1
  n=$(( $(grep -c " chunk [0-9]* seconds " "$log") + 1 ))
  left=$((until - $(date +%s)))
  secs=$(( left < chunk ? left : chunk ))
  stats=$(mktemp)
  (cd "$out" && ./"$target"-fuzz -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$target"-corpus >"$stats" 2>&1)
  status=$?
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$stats")
  # A run that stopped on a finding prints no final stats: its last #N.
  [[ -z $execs ]] && execs=$(grep -o '^#[0-9]*' "$stats" | tail -1 | tr -d '#')
  last=$(grep -E '^#[0-9]+' "$stats" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(ls "$out/$target-corpus" | wc -l)
  total=$((total + ${execs:-0}))
  tail -25 "$stats" >>"$log"
  rm -f "$stats"
  echo "$target chunk $n seconds $secs executions ${execs:-0} total $total cov ${cov:-?} ft ${ft:-?} corpus $corpus status $status" |
    tee -a "$log"
  if (( status != 0 )); then
    echo "$target: stopped on a finding (status $status; see $log and $out/crash-*)" | tee -a "$log"
    return 1
  fi
  (( total < goal ))
}

# Rounds of one chunk a target, so that every target gets its share by the
# deadline; each is built (and its corpus replayed once, run.sh 0) before its
# first chunk, and leaves the rounds at its goal, on a finding, or when it
# does not build.
declare -A built
targets=("$@")
while (( ${#targets[@]} )) && (( $(date +%s) + 30 < until )); do
  next=()
  for target in "${targets[@]}"; do
    (( $(date +%s) + 30 < until )) || { next+=("$target"); continue; }
    if [[ -z ${built[$target]:-} ]]; then
      if ! tests/fuzz/run.sh 0 "$target" >>"$out/$target-campaign.log" 2>&1; then
        echo "$target: the build or the corpus replay failed (see $out/$target-campaign.log)" |
          tee -a "$out/$target-campaign.log"
        continue
      fi
      built[$target]=1
    fi
    if fuzz_chunk "$target"; then next+=("$target"); fi
  done
  targets=(${next[@]+"${next[@]}"})
done
