#!/bin/sh
# Verify etc/postern.service with systemd-analyze (run by `make man-check`
# where systemd-analyze exists).  The unit names /usr/local/sbin/posternd;
# a copy pointing at the build tree is verified, so the check needs no
# installation.
set -e
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/sbin/posternd|$PWD/build/posternd|g" etc/postern.service \
	> "$tmp/postern.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify \
	--man=no "$tmp/postern.service" 2>&1) || {
	echo "$out" >&2
	exit 1
}
# verify warns rather than fails on some mistakes: treat any line about
# our unit as an error.
if echo "$out" | grep -i "postern.service" >&2; then
	exit 1
fi
echo "unit-check: etc/postern.service verified"
