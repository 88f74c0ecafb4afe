#!/bin/sh
# Install the Debian packages postern needs to build and test, when run as
# root on Debian; otherwise only report what is missing.  They are installed
# without their Recommends, so some are named here that Debian only
# recommends: libclang-rt-dev (the ASan+UBSan runtime of clang, for the
# sanitizer build), libnet-ssleay-perl (swaks --tls, as `make run`
# suggests), python3-nacl (Ed25519 in python3-dkim).  iproute2 is ip(8), for
# the IPv6 /64 tests (skipped without).
set -e
PKGS="gcc clang libclang-rt-dev make pkg-config libevent-dev libc-ares-dev
libssl-dev libcmocka-dev libcrypt-dev libjansson-dev libldap-dev openssl python3
python3-pytest python3-aiosmtpd dnsmasq-base slapd swaks libnet-ssleay-perl
mandoc strace iproute2 nftables libpsl-dev publicsuffix python3-yaml
python3-dkim python3-nacl python3-spf python3-authres libmail-dkim-perl
libmail-dmarc-perl rspamd clamav-daemon clamav-milter libhiredis-dev
redis-server"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	case " $missing " in *" slapd "*)
		# The LDAP tests run a private slapd of their own
		# (tests/integration/ldapfix.py): ask Debian for no system
		# database, so that no system slapd is configured or started.
		echo "slapd slapd/no_configuration boolean true" |
			debconf-set-selections 2>/dev/null || true
	esac
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
	# The tests run private peers of their own (slapd: ldapfix.py;
	# rspamd, clamd, clamav-milter: milterfix.py; redis-server:
	# redisfix.py): the system services
	# are stopped and kept off, and freshclam never runs (it downloads).
	for svc in slapd rspamd clamav-daemon clamav-milter clamav-freshclam \
	    redis-server; do
		if command -v systemctl >/dev/null 2>&1 &&
		    [ -d /run/systemd/system ]; then
			systemctl disable --now "$svc" >/dev/null 2>&1 || true
		else
			invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
			update-rc.d "$svc" disable >/dev/null 2>&1 || true
		fi
	done
else
	echo "deps: missing Debian packages:$missing (run make as root, or apt-get install them)" >&2
	exit 1
fi
