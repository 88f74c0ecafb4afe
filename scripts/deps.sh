#!/bin/sh
# Install the Debian packages postern needs to build and test, when run as
# root on Debian; otherwise only report what is missing.
set -e
PKGS="gcc clang make pkg-config libevent-dev libc-ares-dev libssl-dev libcmocka-dev
libcrypt-dev openssl python3 python3-pytest python3-aiosmtpd dnsmasq-base swaks"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "deps: missing Debian packages:$missing (run make as root, or apt-get install them)" >&2
	exit 1
fi
