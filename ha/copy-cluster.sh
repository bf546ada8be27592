#!/bin/sh
# copy-cluster.sh ID TARGET_ETC_ROOT [--etc-root SRC] [--registry SRC.reg] [--target-registry FILE]
#
# Copies instance ID's configuration to another cluster node's etc root (appendix A.5.1 of the
# seed): its instances line (or registry key), its ETCDIR when that lies under the etc root,
# and the start/stop scripts. TARGET_ETC_ROOT is a path on this machine: the other node's etc
# root mounted here, or a staging directory to copy over (rsync -a); it is created if missing.
# Idempotent: running it again changes nothing. The database is not copied: it belongs on the
# shared disk. This is ocopyinst ($OCOPYINST, else on the PATH, else beside this script).
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
OCOPYINST=${OCOPYINST:-$(command -v ocopyinst || echo "$(dirname "$0")/ocopyinst")}
exec "$OCOPYINST" "$@"
