#!/bin/sh
# cluster_node.sh NAME DIR SBIN OCF ETC: the body of one cluster node, run as
#   ip netns exec NS unshare -m -u -p -f --mount-proc cluster_node.sh ...
# so that the node has its own network, mounts, host name and processes. It gives the node its
# own Pacemaker and corosync state (tmpfs), its logs in DIR/log, the test's fence agent (SBIN)
# and resource agents (OCF) beside the system's, and its own etc root (DIR/etc) at the common
# path ETC, as every node of a real cluster has /etc/Tivoli. Then it idles as the namespace's
# init: killing it powers the node off.
set -eu
name=$1 dir=$2 sbin=$3 ocf=$4 etc=$5
hostname "$name"
mount --make-rprivate /
for d in /var/lib/pacemaker /var/lib/corosync /dev/shm /run; do mount -t tmpfs tmpfs "$d"; done
for sub in cib pengine blackbox cores; do mkdir -p "/var/lib/pacemaker/$sub"; done
chown -R hacluster:haclient /var/lib/pacemaker
chmod 750 /var/lib/pacemaker/*
mkdir -p /run/crm /run/corosync "$dir/log" "$dir/etc" /var/log/pacemaker
chown hacluster:haclient /run/crm "$dir/log"
mount --bind "$dir/log" /var/log/pacemaker
mount -t overlay overlay -o "lowerdir=$sbin:/usr/sbin" /usr/sbin
mount -t overlay overlay -o "lowerdir=$ocf:/usr/lib/ocf/resource.d" /usr/lib/ocf/resource.d
mount --bind "$dir/etc" "$etc"
echo up >"$dir/booted"
exec sleep infinity
