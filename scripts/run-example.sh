#!/bin/sh
# `make run`: start posternd in the foreground on the example configuration
# (loopback addresses, unprivileged ports, spool under ./run).  Without a
# certificate under run/tls/, make a self-signed one for loopback first, so
# that STARTTLS and implicit TLS work out of the box.
set -e
cd "$(dirname "$0")/.."
mkdir -p run/spool
if [ ! -f run/tls/cert.pem ] || [ ! -f run/tls/key.pem ]; then
	mkdir -p run/tls
	( umask 077
	  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 825 -subj "/CN=gateway.winery-co.co" \
	    -addext "subjectAltName=DNS:gateway.winery-co.co,DNS:localhost,IP:127.0.0.1,IP:::1" \
	    -keyout run/tls/key.pem -out run/tls/cert.pem 2>/dev/null )
	echo "postern: made a self-signed certificate in run/tls/ (for loopback only)"
fi
echo "postern: Internet-facing server on 127.0.0.1:2525 and [::1]:2525,"
echo "         intranet server on 127.0.0.1:2587 and, implicit TLS, :2465;"
echo "         STARTTLS on both.  Ctrl-C stops it."
echo "try:     swaks --server 127.0.0.1:2525 --to ericm@winery-co.co --from a@example.org --tls"
echo "         swaks --server 127.0.0.1:2465 --tlsc --to someone@example.org --from ericm@winery-co.co"
exec "${1:-build}/posternd" -f etc/postern.conf.example
