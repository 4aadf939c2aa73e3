#!/usr/bin/env bash
# Stop the test cluster started by start_slurm.sh: cancel jobs, then SIGTERM each daemon
# (slurmd, slurmctld, slurmdbd, MariaDB, munged) by its PID file and wait for it to exit.
set -uo pipefail
log() { echo "[stop_slurm] $*" >&2; }

if command -v scancel >/dev/null; then
  scancel --user=root 2>/dev/null || true
  for _ in $(seq 100); do
    [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1
  done
fi
for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/slurmdbd.pid /run/mysqld/mysqld.pid \
  /run/munge/munged.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { log "killing $pid"; kill -KILL "$pid"; }
done
log "stopped"
