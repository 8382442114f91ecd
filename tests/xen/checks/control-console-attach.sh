# `xl console` attaches to the control's console and shows its live output; a line
# typed into the console client reaches the guest and is answered.
. /rig/lib.sh
ensure_control ctl
id=$(domid ctl)
tty=$(xenstore-read /local/domain/"$id"/console/tty) || fail "no console/tty for domain $id"
# xl console attaches to xenconsoled's pty for the domain. Here stdin is not a
# terminal, so the client only shows output: type into the same pty meanwhile.
# The guest evaluates what it reads; seeing 42 proves the round trip (the echo of
# the typed line itself holds only "$((6*7))").
(sleep 3; echo 'echo ATTACH-$((6*7))' >"$tty") &
out=$(timeout 10 xl console ctl </dev/null 2>&1)
wait
echo "$out" | tail -3 | sed 's/^/  xl console> /'
echo "$out" | grep -q 'ATTACH-42' || fail "xl console did not show the guest's answer"
pass "xl console attached and showed live output"
# What xl console runs on a terminal, with input from a pipe: the client's own
# stdin path into the guest.
out=$( (sleep 2; echo 'echo TYPED-$((6*7))'; sleep 4) | timeout 8 xenconsole --interactive --type pv "$id" 2>&1)
echo "$out" | tail -2 | sed 's/^/  xenconsole> /'
echo "$out" | grep -q 'TYPED-42' || fail "input through xenconsole --interactive got no answer"
running ctl || fail "ctl died after console detach"
pass "input through the console client reached the guest"
