#!/bin/sh
# Runs "$@" and stops it as soon as our standard input closes: the parent asked us to stop, or it died
# (even by SIGKILL), so a crashed sandbox or test run never leaves an orphan control plane behind.
exec 3<&0 # background jobs get /dev/null as stdin, so keep the parent's pipe on fd 3
"$@" </dev/null 3<&- &
child=$!
( cat <&3 >/dev/null; kill -TERM "$child" 2>/dev/null; sleep 10; kill -KILL "$child" 2>/dev/null ) &
exec 3<&-
wait "$child"
exit $?
