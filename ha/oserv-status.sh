# oserv-status.sh: the pid-file status of an oserv instance, for shell scripts. Sourced by each
# instance's oserv.rc and by the OCF agent (installed as <prefix>/share/openoserv/oserv-status.sh,
# beside <prefix>/bin). POSIX sh; defines functions only.
#
# The running oserv holds an exclusive flock on its pid file <etc-root>/run/<ID>.pid for its
# whole life; the kernel drops it when the process dies, so the lock (not the pid, which may be
# reused) says whether the instance runs.

# oserv_lock_state PIDFILE: the lock alone: 0 held, 1 free (file present), 3 no file, 4 unreadable.
oserv_lock_state() {
  [ -e "$1" ] || return 3
  ( flock -n -E 200 9 ) 2>/dev/null 9<"$1"
  case $? in
    0) return 1 ;;
    200) return 0 ;;
    *) [ -e "$1" ] && return 4; return 3 ;;
  esac
}

# oserv_pid_state PIDFILE: 0 running, 1 dead but the pid file exists, 3 stopped, 4 unknown (the
# pid file cannot be read). The LSB status codes.
# A killed process shows as a zombie once its main thread has exited, but its other threads may
# still be tearing down and holding its files, the lock among them: a lock held while the process
# the file names is no longer alive is waited for (up to 10 s) rather than reported as running.
oserv_pid_state() {
  oserv_lock_state "$1" || return $?
  oserv_waits=0
  while ! oserv_alive "$(oserv_pid "$1")" && [ "$oserv_waits" -lt 100 ]; do
    sleep 0.1
    oserv_waits=$((oserv_waits + 1))
    oserv_lock_state "$1" || return $?
  done
  return 0
}

# oserv_pid PIDFILE: the pid the file records (empty if none).
oserv_pid() { sed -n '1p' "$1" 2>/dev/null; }

# oserv_alive PID: true while the process exists and is not a zombie.
oserv_alive() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  oserv_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$oserv_state" ] && [ "$oserv_state" != Z ]
}

# oserv_gone PIDFILE PID: true once the lock is free and the process has left.
oserv_gone() {
  oserv_lock_state "$1" && return 1
  ! oserv_alive "$2"
}

# oserv_wait_gone PIDFILE PID SECONDS: polls every 0.1 s until gone or SECONDS of wall-clock time
# have passed (a hung system slows the polls, not the deadline). 0 when gone.
oserv_wait_gone() {
  oserv_deadline=$(( $(date +%s) + $3 ))
  while ! oserv_gone "$1" "$2"; do
    [ "$(date +%s)" -ge "$oserv_deadline" ] && return 1
    sleep 0.1
  done
  return 0
}

# oserv_terminate PIDFILE SECONDS [KILL_SECONDS]: stops the oserv whose lock PIDFILE holds:
# SIGTERM, then, if it is not gone within SECONDS, SIGKILL, and up to KILL_SECONDS (default 10)
# more for the kernel to tear it down. Both waits are wall-clock time. Removes the pid file.
# Returns 0 stopped by SIGTERM, 2 stopped by SIGKILL, 1 still there.
oserv_terminate() {
  oserv_victim=$(oserv_pid "$1")
  kill -TERM "$oserv_victim" 2>/dev/null
  if oserv_wait_gone "$1" "$oserv_victim" "$2"; then
    rm -f "$1"
    return 0
  fi
  kill -KILL "$oserv_victim" 2>/dev/null
  oserv_wait_gone "$1" "$oserv_victim" "${3:-10}" || return 1
  rm -f "$1"
  return 2
}
