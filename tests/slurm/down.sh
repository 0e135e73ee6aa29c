#!/bin/bash
# Stop what tests/slurm/up.sh started, by pidfile (never pkill/killall by name). Idempotent:
# a daemon that is not running is skipped. Leaves packages, config and spool in place.
stop_pidfile() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"   # a stale /run/slurmctld.pid makes slurmctld's prerm (apt remove) call scancel and fail
}
# Jobs still running on the node would outlive slurmd (slurmstepd is its own process): cancel them.
if [ -f /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null && command -v scancel >/dev/null; then
  timeout 10 scancel --user "$(id -un)" 2>/dev/null || true
  for _ in $(seq 50); do
    [ -z "$(timeout 5 squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ] && break
    sleep 0.2
  done
fi
stop_pidfile /run/slurmd.pid
stop_pidfile /run/slurmctld.pid
stop_pidfile /run/slurmdbd.pid
if [ -S /run/mysqld/mysqld.sock ] && command -v mysqladmin >/dev/null; then
  mysqladmin shutdown 2>/dev/null || true      # mysqld_safe exits after a clean shutdown
fi
stop_pidfile /run/munge/munged.pid
# Set the test cluster's slurm.conf aside (up.sh writes it again). With a slurm.conf that names a
# controller that is not running, every Slurm client command waits ~9 s before it fails, and so does
# every snakemake start: the slurm executor plugin runs `scontrol show config` when it loads.
if [ -f /etc/slurm/slurm.conf ] && head -n 1 /etc/slurm/slurm.conf | grep -qF "# Written by tests/slurm/up.sh"; then
  mv -f /etc/slurm/slurm.conf /etc/slurm/slurm.conf.tests-slurm-down
fi
echo "slurm down"
