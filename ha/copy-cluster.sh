#!/bin/sh
# copy-cluster.sh ID TARGET_ETC_ROOT [--etc-root SRC] [--registry SRC.reg] [--target-registry FILE]
#
# Copies instance ID's configuration to another cluster node's etc root (appendix A.5.1 of the
# seed): its instances line (or registry key), its ETCDIR when that lies under the etc root,
# and the start/stop scripts. TARGET_ETC_ROOT is a path on this machine: the other node's etc
# root mounted here, or a staging directory to copy over (rsync -a). Idempotent: running it
# again changes nothing. The database is not copied: it belongs on the shared disk.
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
ID=$1 TARGET=$2
shift 2
OINSTALL=${OINSTALL:-$(command -v oinstall || echo "$(dirname "$0")/oinstall")}
exec "$OINSTALL" --id "$ID" --copy-to "$TARGET" "$@"
