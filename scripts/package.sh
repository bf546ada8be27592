#!/bin/sh
# Builds the Debian package (cpack -G DEB) from ./build, the Release build scripts/build.sh makes
# and scripts/test.sh tests (built first if it is not up to date), and checks it, as CI does
# (.ci/run), so that a broken package cannot land:
#   - lintian finds no error in it;
#   - it holds what packaging/CMakeLists.txt says: every command with its man page and bash
#     completion, the OCF agent, the systemd unit naming /usr/bin, the docs;
#   - unpacked into a scratch root, every program in it answers --help and --version, and its
#     oinstall, oserv, odadmin and wlookup run a live instance on loopback;
#   - apt would install it on this machine (its dependencies resolve).
# Prints the package's path last.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
rm -f build/openoserv_*.deb
(cd build && cpack -G DEB >/dev/null)
deb=$(ls "$PWD"/build/openoserv_*.deb)

echo "== lintian"
lintian --fail-on error --tag-display-limit 0 "$deb"

echo "== contents"
root=$(mktemp -d /tmp/oo-package.XXXXXX)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
fail() { echo "package: $*" >&2; exit 1; }
commands=$(sed -n 's/^ *"\([a-z-]*\):.*/\1/p' packaging/CMakeLists.txt)
[ -n "$commands" ] || fail "no commands listed in packaging/CMakeLists.txt"
for c in $commands; do
  [ -x "$root/usr/bin/$c" ] || fail "/usr/bin/$c is missing"
  [ -s "$root/usr/share/man/man1/$c.1.gz" ] || fail "the man page of $c is missing"
  zcat "$root/usr/share/man/man1/$c.1.gz" | grep -q '^\.SH DESCRIPTION' ||
    fail "the man page of $c has no DESCRIPTION"
  [ -e "$root/usr/share/bash-completion/completions/$c" ] || fail "no bash completion for $c"
  "$root/usr/bin/$c" --help >/dev/null 2>&1 || fail "$c --help failed"
  "$root/usr/bin/$c" --version | head -n 1 | grep -q "openoserv\|$PWD" || fail "$c --version"
done
for f in usr/lib/ocf/resource.d/openoserv/oserv usr/share/openoserv/oserv-status.sh \
  usr/share/doc/openoserv/copyright usr/share/doc/openoserv/changelog.gz \
  usr/share/doc/openoserv/README.md usr/share/openoserv/supervisord/openoserv.conf \
  usr/share/openoserv/runit/oserv/run; do
  [ -e "$root/$f" ] || fail "/$f is missing"
done
unit=$(find "$root" -name 'oserv@.service')
[ -n "$unit" ] || fail "no systemd unit"
grep -q '^ExecStart=/usr/bin/oserv ' "$unit" || fail "the unit does not run /usr/bin/oserv"
grep -q 'OCF_RESKEY_bindir:=/usr/bin}' "$root/usr/lib/ocf/resource.d/openoserv/oserv" ||
  fail "the OCF agent's default bindir is not /usr/bin"
bash -c ". '$root/usr/share/bash-completion/completions/openoserv' && complete -p odadmin" \
  >/dev/null || fail "the bash completion does not load"

echo "== the unpacked programs run an instance"
port=$(shuf -i 20000-40000 -n 1)
export OSERV_ETC_ROOT="$root/etc"
"$root/usr/bin/oinstall" --dbdir "$root/db" --hostname 127.0.0.1 --port "$port" --nosync \
  >/dev/null || fail "oinstall from the package failed"
"$OSERV_ETC_ROOT/oserv/oserv.rc" start >/dev/null || fail "oserv from the package did not start"
trap '"$OSERV_ETC_ROOT/oserv/oserv.rc" stop >/dev/null 2>&1; rm -rf "$root"' EXIT
"$root/usr/bin/odadmin" odlist | grep -q "127.0.0.1" || fail "odadmin odlist from the package"
"$root/usr/bin/wlookup" -r ManagedNode 127.0.0.1 >/dev/null || fail "wlookup from the package"
"$OSERV_ETC_ROOT/oserv/oserv.rc" stop >/dev/null || fail "oserv.rc stop"

echo "== apt would install it"
apt-get install --simulate --no-install-recommends "$deb" >/dev/null || fail "apt cannot install $deb"
echo "$deb"
