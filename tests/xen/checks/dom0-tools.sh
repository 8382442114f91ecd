# Diagnostic (not in the default run): dom0's own tools run again and again,
# with no guest. Counts the runs that die of a signal (status >= 128) per
# tool: the measure for "is dom0 steady under this QEMU CPU model?"
# (tests/xen/README.md, "Dom0 under TCG"). DOM0_TOOLS_ROUNDS sets the count.
. /rig/lib.sh
rounds=${DOM0_TOOLS_ROUNDS:-60}
bad=0
grep -o -E '\b(avx2?|xsave[a-z]*|fma|f16c)\b' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/cpu flags seen by dom0: /; s/$/\n/'
for tool in 'xl list' 'xl info' 'xenstore-ls /local' 'bash -c true' 'ip -o link'; do
  n=0; t0=$(now)
  for i in $(seq 1 "$rounds"); do
    $tool >/tmp/dom0-tools.out 2>&1; rc=$?
    if [ $rc -ge 128 ] || grep -q -E 'Assertion|Segmentation|Illegal' /tmp/dom0-tools.out; then
      n=$((n + 1)); echo "$tool: run $i: status $rc: $(tail -2 /tmp/dom0-tools.out | tr '\n' ' ')"
    fi
  done
  echo "ok: $tool: $n of $rounds runs crashed ($(since "$t0") s)"
  bad=$((bad + n))
done
[ $bad -eq 0 ] || fail "$bad crashed runs of dom0's tools"
pass "no crash in any run"
