#!/bin/sh
# Installs the Debian 12 packages openoserv needs to build and test, if any is missing.
# Needs root (or sudo) only when something must be installed.
set -eu
PACKAGES="g++ cmake make pkg-config libomniorb4-dev omniidl omniorb liblmdb-dev lmdb-utils
libfmt-dev libboost-program-options-dev libgtest-dev libssl-dev util-linux iproute2 procps
resource-agents supervisor runit systemd iputils-arping tcl tcl-combat
pacemaker corosync crmsh kmod socat openssl help2man lintian dpkg-dev file
nlohmann-json3-dev jq curl chromium fonts-dejavu-core libnss3-tools tesseract-ocr tesseract-ocr-eng python3-pil"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "openoserv: installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
