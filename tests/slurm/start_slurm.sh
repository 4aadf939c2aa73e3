#!/usr/bin/env bash
# Start a real single-node Slurm (Debian's slurm-wlm + munge) on localhost for the tests.
# Installs the packages when missing (needs root and apt), writes /etc/slurm/slurm.conf,
# starts munged, slurmctld and slurmd by hand (no systemd), and waits until the node is
# idle.  Idempotent: a running cluster is left alone.  Stop it with stop_slurm.sh.
set -euo pipefail

log() { echo "[start_slurm] $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (installs packages and starts daemons)"; exit 3
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

if sinfo -h -n localhost -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
  log "already running"; exit 0
fi

# munge: key created by the package; socket directory owned by munge
install -d -o munge -g munge -m 0755 /run/munge
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null

# nproc honours OMP_NUM_THREADS (set to 1 for the tests): ask without it
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
mem_mb=$(( mem_kb / 1024 * 9 / 10 ))
install -d -o slurm -g slurm /var/lib/slurm/slurmctld /var/log/slurm /var/spool/slurmd
install -d /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
# written by rgpipe tests/slurm/start_slurm.sh: a single-node test cluster
ClusterName=rgpipe-test
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=pmi2
EnforcePartLimits=ALL
MinJobAge=300
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

/usr/sbin/slurmctld
/usr/sbin/slurmd -N localhost
for _ in $(seq 150); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then log "node idle ($cpus CPUs, ${mem_mb} MB)"; exit 0; fi
  sleep 0.2
done
log "node did not become idle (state: ${state:-none})"
tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
