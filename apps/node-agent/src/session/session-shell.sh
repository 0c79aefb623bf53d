# Cordon session shell (the "parent"), started as: bash --noprofile --norc -c '. <dir>/shell.sh' bash <dir>
# Protocol: see apps/node-agent/docs/sessions.md. In short:
#   fd 0  requests from the agent, one per line:  R <id> <stateIn|-> <stateOut> <prevStatus>
#   fd 6  records to the agent:  H <pid> (ready) · S <id> <pgid> (started) · C (snapshot saved)
#         · D <id> <status> (done; written only after the command's subshell was reaped)
#   fd 7  kill requests "<TERM|KILL> <pgid>", read only by the killer below.
# The parent never runs user code: each command runs in a forked subshell that is its own process
# group (job control is on here), restores the session state from a snapshot, runs the command with
# stdout/stderr on that command's own FIFOs and with fds 6 and 8 closed, then writes the new
# snapshot to fd 8. User output never passes through fd 6, so no output can look like a record.
__cordon_dir=$1

# Close whatever else was inherited (fds the agent itself inherited without close-on-exec would
# otherwise reach every command).
for __cordon_n in /proc/self/fd/*; do
  __cordon_n=${__cordon_n##*/}
  case $__cordon_n in
  0 | 1 | 2 | 6 | 7) ;;
  *[!0-9]*) ;;
  *) builtin eval "exec $__cordon_n>&-" 2>/dev/null ;;
  esac
done
builtin unset -v __cordon_n

# Variables the parent starts with that a snapshot must be able to remove (a command's `unset X`).
# Bash's own BASH_* variables and GROUPS are never saved or restored: assigning some of them (e.g.
# BASH_ARGC) aborts the shell, the others are bash's bookkeeping.
builtin shopt -s extglob
builtin compgen -v -X '@(BASH_*|GROUPS|__cordon_*|BASHOPTS|BASHPID|COMP_WORDBREAKS|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|HISTCMD|LINENO|PIPESTATUS|PPID|RANDOM|SECONDS|SHELLOPTS|SRANDOM|UID|_)' >|/dev/shm/.cordon-names
builtin shopt -u extglob
builtin mapfile -t __cordon_keep </dev/shm/.cordon-names
# The shell's default options; a snapshot records options only when they differ.
builtin printf '%s %s\n' "$BASHOPTS" "$SHELLOPTS" >|/dev/shm/.cordon-defaults

# The killer: signals a command's process group on request. A separate process because the parent
# is blocked in `wait` while a command runs.
{
  exec 0</dev/null 1>/dev/null 6>&-
  while builtin read -r __cordon_sig __cordon_pg <&7; do
    if [[ ($__cordon_sig == TERM || $__cordon_sig == KILL) && $__cordon_pg =~ ^[1-9][0-9]*$ ]]; then
      builtin kill -s "$__cordon_sig" -- "-$__cordon_pg"
    fi
  done
} 2>/dev/null &
exec 7<&-

builtin printf 'H %s\n' "$$" >&6

while IFS=' ' builtin read -r __cordon_op __cordon_id __cordon_si __cordon_so __cordon_rc; do
  if ! [[ $__cordon_op == R && $__cordon_id =~ ^[0-9]+$ && $__cordon_si =~ ^([01]|-)$ && $__cordon_so =~ ^[01]$ && $__cordon_rc =~ ^[0-9]+$ ]]; then
    builtin printf 'E bad-request\n' >&6
    continue
  fi
  # Job control only while forking: the subshell becomes its own process group (which a timeout
  # kills as a whole); off again at once so bash prints no job notifications.
  builtin set -m
  (
    exec </dev/null >"$__cordon_dir/o$__cordon_id" 2>"$__cordon_dir/e$__cordon_id" 8>|"/dev/shm/.cordon-state.$__cordon_so" || builtin exit 125
    # Runs inside eval, after expansion, so the command sees none of our variables; `$?` starts
    # as the previous command's status; the command file is sourced (real line numbers, `return`).
    __cordon_cmd="builtin unset -v __cordon_cmd; . $__cordon_dir/ret $__cordon_rc; . $__cordon_dir/c$__cordon_id"
    if [[ $__cordon_si == - ]]; then
      exec 9</dev/null
    else
      exec 9<"/dev/shm/.cordon-state.$__cordon_si"
      builtin unset -v "${__cordon_keep[@]}"
    fi
    builtin unset -v __cordon_keep __cordon_op __cordon_id __cordon_si __cordon_so __cordon_rc __cordon_pid __cordon_dir
    # Before the restore, so that $SHELLOPTS matches a snapshot that did not change options.
    builtin set +m
    . /dev/fd/9 >/dev/null 2>&1
    exec 9<&-
    { builtin eval "$__cordon_cmd"; } 6>&- 8>&-
    # The snapshot. Order matters on restore: cwd and variables first, options late (errexit
    # must not abort the restore), functions last (a function named like a builtin used above
    # must not run during the restore).
    {
      __cordon_rc=$? __cordon_f=$- __cordon_so=$SHELLOPTS
      builtin set +eu
      if builtin shopt -q extglob; then __cordon_x=-s; else __cordon_x=-u; fi
      builtin shopt -s extglob
      builtin compgen -v -X '@(BASH_*|GROUPS|__cordon_*)' >|/dev/shm/.cordon-names
      builtin shopt "$__cordon_x" extglob
      builtin mapfile -t __cordon_n </dev/shm/.cordon-names
      builtin read -r __cordon_x __cordon_y </dev/shm/.cordon-defaults
      builtin printf 'builtin cd -- %q\n' "$PWD"
      builtin declare -p "${__cordon_n[@]}"
      builtin umask -p
      builtin alias -p
      # Options only when they differ from the shell's defaults (which the restoring subshell has).
      if [[ $BASHOPTS != "$__cordon_x" ]]; then
        builtin printf 'if [[ $BASHOPTS != %q ]]; then\n' "$BASHOPTS"
        builtin shopt -p
        builtin printf 'fi\n'
      fi
      if [[ $__cordon_so != "$__cordon_y" ]]; then
        builtin printf 'if [[ $SHELLOPTS != %q ]]; then\n' "$__cordon_so"
        builtin set +o
        builtin printf 'builtin set +m\n'
        [[ $__cordon_f == *e* ]] && builtin printf 'builtin set -e\n'
        [[ $__cordon_f == *u* ]] && builtin printf 'builtin set -u\n'
        builtin printf 'fi\n'
      fi
      builtin declare -f
      builtin declare -F
    } >&8 2>/dev/null
    builtin printf 'C\n' >&6
    builtin exit "$__cordon_rc"
  ) &
  __cordon_pid=$!
  builtin set +m
  builtin printf 'S %s %s\n' "$__cordon_id" "$__cordon_pid" >&6
  builtin wait "$__cordon_pid"
  builtin printf 'D %s %s\n' "$__cordon_id" "$?" >&6
done
