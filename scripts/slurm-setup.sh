#!/usr/bin/env bash
# Sets up a single-node Slurm cluster on this machine (slurmctld and slurmd on this host, every
# CPU of it one node in partition `debug`, munge for authentication), for the tests of
# `mlops run --executor slurm` and for anyone who wants to try the executor on a laptop.
#
# Idempotent and fast when already set up: if `sinfo` answers and the node is up, it only says
# so. Otherwise it installs Debian's slurm-wlm and munge when missing (needs root and apt),
# writes /etc/slurm/slurm.conf and cgroup.conf when missing (an existing configuration is kept:
# it may be someone's cluster), makes a munge key when missing, and starts munged, slurmctld and
# slurmd as plain daemons (containers have no systemd). Logs go to /var/log/slurm/.
#
# Usage: scripts/slurm-setup.sh [--check]   (--check: exit 0 if the cluster is up, 1 if not,
#                                            changing nothing)
# Env: SLURM_SETUP_WAIT (seconds to wait for the node to come up, default 30).
set -euo pipefail

up() {
    command -v sinfo >/dev/null 2>&1 || return 1
    local state
    state=$(timeout 3 sinfo -h -o '%T' 2>/dev/null | head -1) || return 1
    case "$state" in
        idle* | mixed* | allocated* | completing*) return 0 ;;
        *) return 1 ;;
    esac
}

if up; then
    echo "slurm: up ($(sinfo -h -o '%N %c CPUs, %T' | head -1))"
    exit 0
fi
[ "${1:-}" = "--check" ] && exit 1

if [ "$(id -u)" != 0 ]; then
    echo "slurm-setup: run as root (it installs packages and starts daemons)" >&2
    exit 2
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null || {
        apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null
    }
fi

host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
mkdir -p /etc/slurm /var/log/slurm /var/spool/slurmctld /var/spool/slurmd /run/munge /var/lib/munge /var/log/munge
if [ ! -f /etc/slurm/slurm.conf ]; then
    cat >/etc/slurm/slurm.conf <<EOF
# Single-node cluster written by mlops' scripts/slurm-setup.sh.
ClusterName=mlops
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
SchedulerParameters=sched_min_interval=100000,batch_sched_delay=0
SlurmctldParameters=enable_configless
MessageTimeout=20
# A job that names no memory gets its CPUs' share, not the whole node: jobs run side by side.
DefMemPerCPU=$((memory / cpus))
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
fi
[ -f /etc/slurm/cgroup.conf ] || echo "CgroupPlugin=cgroup/v1" >/etc/slurm/cgroup.conf
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge

# Starts each daemon that is not running (one stopped a moment ago may still be saving its
# state: it is started again on the next round).
start() {
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
}

deadline=$((SECONDS + ${SLURM_SETUP_WAIT:-30}))
while [ "$SECONDS" -lt "$deadline" ]; do
    start
    if up; then
        echo "slurm: started ($(sinfo -h -o '%N %c CPUs, %T' | head -1))"
        exit 0
    fi
    # A node left down or drained by an earlier run is resumed.
    timeout 5 scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 0.5
done
echo "slurm-setup: the node did not come up in ${SLURM_SETUP_WAIT:-30} s; see /var/log/slurm/" >&2
timeout 5 sinfo >&2 || true
exit 1
