#!/bin/sh
# `make run`: start posternd in the foreground on the example configuration
# (loopback addresses, unprivileged ports, spool under ./run).
set -e
cd "$(dirname "$0")/.."
mkdir -p run/spool
echo "postern: Internet-facing server on 127.0.0.1:2525 and [::1]:2525,"
echo "         intranet server on 127.0.0.1:2587; Ctrl-C stops it."
echo "try:     swaks --server 127.0.0.1:2525 --to ericm@winery-co.co --from a@example.org"
exec build/posternd -f etc/postern.conf.example
