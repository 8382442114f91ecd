# `xl console` attaches to the control's console and shows its live output; a line
# typed into the console client reaches the guest and is answered.
. /rig/lib.sh
ensure_control ctl
id=$(domid ctl)
tty=$(xenstore-read /local/domain/"$id"/console/tty) || fail "no console/tty for domain $id"
# xl console attaches to xenconsoled's pty for the domain. Here stdin is not a
# terminal, so the client only shows output: type into the same pty meanwhile,
# once a second until the answer shows (an attach takes a moment, and a line
# typed before it would be answered to nobody). The guest evaluates what it
# reads; seeing 42 proves the round trip (the echo of the typed line itself
# holds only "$((6*7))").
xl console ctl </dev/null >/tmp/attach.out 2>&1 &
xlc=$!
type_until() {  # OUT-FILE WANT LINE: LINE typed (by the caller's `say`) until OUT-FILE has WANT
  local i=0
  until grep -q "$2" "$1"; do
    i=$((i + 1)); [ $i -gt $((20 * PATIENCE)) ] && return 1
    say "$3"; sleep 1
  done
}
say() { echo "$1" >"$tty"; }
type_until /tmp/attach.out ATTACH-42 'echo ATTACH-$((6*7))'; rc=$?
kill $xlc 2>/dev/null; wait $xlc 2>/dev/null
tail -3 /tmp/attach.out | sed 's/^/  xl console> /'
[ $rc = 0 ] || fail "xl console did not show the guest's answer"
pass "xl console attached and showed live output"
# What xl console runs on a terminal, with input from a pipe: the client's own
# stdin path into the guest.
rm -f /tmp/typed.in; mkfifo /tmp/typed.in
xenconsole --interactive --type pv "$id" </tmp/typed.in >/tmp/typed.out 2>&1 &
xc=$!
exec 3>/tmp/typed.in
say() { echo "$1" >&3; }
type_until /tmp/typed.out TYPED-42 'echo TYPED-$((6*7))'; rc=$?
exec 3>&-
kill $xc 2>/dev/null; wait $xc 2>/dev/null
tail -2 /tmp/typed.out | sed 's/^/  xenconsole> /'
[ $rc = 0 ] || fail "input through xenconsole --interactive got no answer"
running ctl || fail "ctl died after console detach"
pass "input through the console client reached the guest"
