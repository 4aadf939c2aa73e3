#!/usr/bin/env bash
# Start a real single-node Slurm (Debian's slurm-wlm + munge) on localhost for the tests.
# Installs the packages when missing (needs root and apt), writes /etc/slurm/slurm.conf,
# starts munged, slurmctld and slurmd by hand (no systemd), and waits until the node is
# idle.  With RGPIPE_SLURM_ACCOUNTING=1 (the default) it also sets up job accounting
# (Debian's slurmdbd + MariaDB) so that `sacct`, the Slurm plugin's default status
# command, works; RGPIPE_SLURM_ACCOUNTING=0 gives a cluster without accounting, where only
# `squeue` sees jobs.  Idempotent: a running test cluster with the same configuration is
# reused; one started by this script with another configuration (e.g. the other accounting
# mode, or another CPU count) is restarted; a cluster this script did not write is never
# touched (exit 4).  Stop with stop_slurm.sh.
set -euo pipefail

log() { echo "[start_slurm] $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (installs packages and starts daemons)"; exit 3
fi

accounting=${RGPIPE_SLURM_ACCOUNTING:-1}
packages="slurm-wlm munge"
[ "$accounting" = 1 ] && packages="$packages slurmdbd mariadb-server"
missing=0
for cmd in slurmctld munged; do command -v $cmd >/dev/null || missing=1; done
if [ "$accounting" = 1 ]; then
  for cmd in slurmdbd mariadbd; do command -v $cmd >/dev/null || [ -x /usr/sbin/$cmd ] || missing=1; done
fi
if [ "$missing" = 1 ]; then
  log "installing $packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
fi

start_munge() {
  # munge: key created by the package; socket directory owned by munge
  install -d -o munge -g munge -m 0755 /run/munge
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
  fi
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null
}

# nproc honours OMP_NUM_THREADS (set to 1 for the tests): ask without it
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
mem_mb=$(( mem_kb / 1024 * 9 / 10 ))
install -d -o slurm -g slurm /var/lib/slurm/slurmctld /var/log/slurm /var/spool/slurmd
install -d /etc/slurm

storage="AccountingStorageType=accounting_storage/none"
if [ "$accounting" = 1 ]; then
  storage="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost"
fi
marker="# written by rgpipe tests/slurm/start_slurm.sh: a single-node test cluster"
conf=$(cat <<CONF
${marker}
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
${storage}
JobAcctGatherType=jobacct_gather/none
NodeName=localhost CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
)

start_munge  # sinfo authenticates through munge
if sinfo -h -n localhost -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' \
  && [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" = "$conf" ]; then
  log "already running with the same configuration"; exit 0
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  if [ "$(head -1 /etc/slurm/slurm.conf 2>/dev/null)" != "$marker" ]; then
    log "a Slurm cluster this script did not configure is running; not touching it"; exit 4
  fi
  log "a test cluster with another configuration (or not answering) is running: restarting it"
  "$(dirname "$0")/stop_slurm.sh"
  start_munge
fi
printf '%s\n' "$conf" > /etc/slurm/slurm.conf

if [ "$accounting" = 1 ]; then
  # after slurm.conf, which sacctmgr reads: MariaDB (no systemd: started by hand,
  # detached) with a database user for slurmdbd, then slurmdbd and the cluster record
  install -d -o mysql -g mysql /run/mysqld
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
  if ! mariadb-admin ping >/dev/null 2>&1; then
    setsid /usr/sbin/mariadbd --user=mysql >/var/log/slurm/mariadb.log 2>&1 </dev/null &
  fi
  for _ in $(seq 150); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'rgpipe-test';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > /etc/slurm/slurmdbd.conf <<CONF
# written by rgpipe tests/slurm/start_slurm.sh: accounting for the test cluster
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=rgpipe-test
StorageLoc=slurm_acct_db
CONF
  chown slurm:slurm /etc/slurm/slurmdbd.conf
  chmod 600 /etc/slurm/slurmdbd.conf
  pgrep -x slurmdbd >/dev/null || /usr/sbin/slurmdbd
  for _ in $(seq 150); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  sacctmgr -n list cluster >/dev/null || { log "slurmdbd did not answer"; tail -20 /var/log/slurm/slurmdbd.log >&2; exit 1; }
  sacctmgr -n -P list cluster format=cluster | grep -qx rgpipe-test \
    || sacctmgr -i add cluster rgpipe-test >/dev/null
fi
/usr/sbin/slurmctld
/usr/sbin/slurmd -N localhost
for _ in $(seq 150); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then
    log "node idle ($cpus CPUs, ${mem_mb} MB, accounting $accounting)"; exit 0
  fi
  sleep 0.2
done
log "node did not become idle (state: ${state:-none})"
tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
