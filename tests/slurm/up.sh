#!/bin/bash
# Bring up a single-node SLURM cluster on localhost for the tests in tests/test_slurm.py.
# Root only, non-interactive, no systemd: every daemon is started directly and stopped by
# tests/slurm/down.sh through its pidfile. Installs the Debian packages when they are missing.
#
#   SLURM_ACCOUNTING=none (default): no database; `sacct` does NOT work, so the snakemake slurm
#                                    plugin must poll with squeue (`slurm-status-command: squeue`,
#                                    tests/slurm/profile) and MinJobAge below keeps finished jobs
#                                    visible to squeue.
#   SLURM_ACCOUNTING=dbd           : MariaDB + slurmdbd; sacct/sacctmgr work (slower to start).
#   SLURM_PROCTRACK=auto (default) : cgroup (enforces --mem) if slurmd starts with it, else linuxproc.
#   SLURM_PROCTRACK=cgroup|linuxproc: force one.
#   SLURM_FAKE_GPUS=1 (default)    : advertise one "gpu" GRES on the node (/dev/null behind it), so
#                                    that jobs asking for --gpus=1 (profiles/slurm-gpu) are accepted
#                                    and scheduled (they compute on the CPU); 0 to advertise none.
# Always (re)starts the daemons so that a changed slurm.conf takes effect. Prints one line per step
# with the seconds since start; the last line is `slurm up: ...` with proctrack/accounting in use.
# Exit status: 0 up; 2 not root; 3 packages missing and no apt-get; 4 /etc/slurm/slurm.conf belongs
# to another Slurm installation (left alone); 5 apt-get failed; 1 the daemons did not come up.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)
ACCT=${SLURM_ACCOUNTING:-none}
PROCTRACK=${SLURM_PROCTRACK:-auto}
FAKE_GPUS=${SLURM_FAKE_GPUS:-1}
T0=$(date +%s.%N)
ts() { printf '[%6.2fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }

[ "$(id -u)" = 0 ] || { echo "tests/slurm/up.sh must run as root" >&2; exit 2; }

PKGS="slurmctld slurmd slurm-client munge"
[ "$ACCT" = dbd ] && PKGS="$PKGS slurmdbd mariadb-server"
missing=$(for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null || { echo "missing packages ($(echo $missing)) and no apt-get" >&2; exit 3; }
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; }; then
    echo "could not install $(echo $missing) with apt-get" >&2; exit 5
  fi
  ts "installed: $(echo $missing)"
fi

MARK="# Written by tests/slurm/up.sh"
CONF=/etc/slurm/slurm.conf
# Never clobber the configuration of a real Slurm installation: only a config written by this script
# (live, or set aside by down.sh) is replaced.
if [ -e "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
  echo "$CONF exists and was not written by tests/slurm/up.sh: refusing to replace it" >&2; exit 4
fi

"$HERE/down.sh" >/dev/null     # stop anything a previous run left, by pidfile

HOST=$(hostname -s)
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts

# ---- munge -----------------------------------------------------------------------------
[ -s /etc/munge/munge.key ] || mungekey --create --force
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- /usr/sbin/munged                 # daemonizes, writes /run/munge/munged.pid
for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n </dev/null | unmunge >/dev/null
ts "munged up (pid $(cat /run/munge/munged.pid))"

# ---- slurm.conf --------------------------------------------------------------------------
mkdir -p /etc/slurm
NODELINE=$(slurmd -C | head -1)                      # NodeName=... CPUs=... RealMemory=...
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODELINE")
NODELINE=$(sed "s/RealMemory=[0-9]*/RealMemory=$((MEM - 512))/" <<<"$NODELINE")
if [ "$FAKE_GPUS" != 0 ]; then
  FAKE_GPUS=1
  GRESCONF="GresTypes=gpu"
  NODELINE="$NODELINE Gres=gpu:1"
  printf 'AutoDetect=off\nNodeName=%s Name=gpu File=/dev/null Count=1\n' "$HOST" > /etc/slurm/gres.conf.new
else
  GRESCONF=""
fi
if [ "$ACCT" = dbd ]; then
  ACCTCONF=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\nAccountingStoragePort=6819'
else
  ACCTCONF='AccountingStorageType=accounting_storage/none'
fi
write_conf() {   # $1 = cgroup | linuxproc
  if [ "$1" = cgroup ]; then
    PT='ProctrackType=proctrack/cgroup'; TP='TaskPlugin=task/cgroup,task/affinity'
    GATHER='JobAcctGatherFrequency=30'   # --mem is enforced by the memory cgroup (ConstrainRAMSpace)
    printf 'CgroupPlugin=autodetect\nConstrainCores=yes\nConstrainRAMSpace=yes\nConstrainSwapSpace=no\n' \
      > /etc/slurm/cgroup.conf
  else
    PT='ProctrackType=proctrack/linuxproc'; TP='TaskPlugin=task/affinity'
    # no cgroups: enforce --mem by polling (kills a step above its memory within ~1 s)
    GATHER=$'JobAcctGatherFrequency=task=1\nJobAcctGatherParams=OverMemoryKill'
    rm -f /etc/slurm/cgroup.conf
  fi
  cat > "$CONF" <<CONF
${MARK}: a one-node test cluster on localhost (down.sh sets it aside).
ClusterName=localcluster
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MpiDefault=none
${PT}
${TP}
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# jobs without --mem get 1000 MB per CPU, instead of the whole node
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/linux
${GATHER}
${ACCTCONF}
JobCompType=jobcomp/none
# Keep finished jobs in slurmctld (squeue/scontrol) for 10 min. The snakemake slurm plugin only
# trusts squeue if MinJobAge >= 3 * slurm-init-seconds-before-status-checks, and a job that has
# vanished from squeue is taken for a success.
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
${GRESCONF}
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
}
if [ -f /etc/slurm/gres.conf.new ]; then mv /etc/slurm/gres.conf.new /etc/slurm/gres.conf; else rm -f /etc/slurm/gres.conf; fi
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm
install -d -m 0755 /var/spool/slurmd
if [ "$PROCTRACK" = auto ]; then PT_TRY=cgroup; else PT_TRY=$PROCTRACK; fi
write_conf "$PT_TRY"
rm -f /etc/slurm/slurm.conf.tests-slurm-down      # the copy down.sh set aside

# ---- accounting database (optional) ------------------------------------------------------
if [ "$ACCT" = dbd ]; then
  /etc/init.d/mariadb start >/dev/null                 # mysqld_safe + mariadbd, no systemd needed
  for _ in $(seq 100); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.1; done
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  ts "mariadb up"
  cat > /etc/slurm/slurmdbd.conf <<'CONF'
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmdbpass
StorageLoc=slurm_acct_db
CONF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf
  /usr/sbin/slurmdbd                                   # daemonizes
  for _ in $(seq 150); do sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.2; done
  sacctmgr -n show cluster >/dev/null
  ts "slurmdbd up (pid $(cat /run/slurmdbd.pid))"
fi

# ---- slurmctld + slurmd --------------------------------------------------------------------
node_ready() {
  local state; state=$(timeout 5 sinfo -h -n "$HOST" -o '%t' 2>/dev/null || true)
  # a drain left in the saved state by an earlier configuration (e.g. another GRES count) is lifted
  case "$state" in drain*|drng*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;; esac
  grep -qE '^(idle|mix|alloc)$' <<<"$state"
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
start_ctld_slurmd() {
  /usr/sbin/slurmctld                                  # daemonizes, drops to SlurmUser
  /usr/sbin/slurmd || return 1                         # daemonizes, stays root
  for _ in $(seq 100); do
    node_ready && return 0
    alive /run/slurmctld.pid && alive /run/slurmd.pid || return 1    # one died: see its log
    sleep 0.2
  done
  return 1
}
fail() { echo "node not ready: $(sinfo -h -o %t 2>&1)"; tail -n 20 /var/log/slurm/*.log; exit 1; }
if ! start_ctld_slurmd; then
  if [ "$PROCTRACK" = auto ] && [ "$PT_TRY" = cgroup ]; then
    ts "cgroup proctrack failed, falling back to linuxproc: $(tail -n 3 /var/log/slurm/slurmd.log | tr '\n' ' ')"
    "$HERE/down.sh" >/dev/null
    runuser -u munge -- /usr/sbin/munged
    PT_TRY=linuxproc; write_conf linuxproc
    start_ctld_slurmd || fail
  else
    fail
  fi
fi
ts "slurm up: slurmctld (pid $(cat /run/slurmctld.pid)) + slurmd (pid $(cat /run/slurmd.pid))," \
   "proctrack=$PT_TRY accounting=$ACCT gpus=$FAKE_GPUS: $(sinfo -h -o '%P %a %D %t %N')"
