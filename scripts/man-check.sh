#!/bin/sh
# Fail when a configuration keyword or a posternctl command is missing
# from its man page (STYLE 14).  The keywords are the rows of the
# parameter tables in src/conf/conf_params.c, conf_vserver.c, conf_auth.c, conf_milter.c and conf_cluster.c (a row
# starts with `{ "NAME", CONF_T_...` or `{ "NAME", FN(...`); the commands
# are the rows of the command table in src/posternctl.c.
set -e
cd "$(dirname "$0")/.."
status=0
keywords=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", \(CONF_T_\|FN(\).*/\1/p' \
	src/conf/conf_params.c src/conf/conf_vserver.c src/conf/conf_auth.c src/conf/conf_milter.c src/conf/conf_cluster.c | sort -u)
[ -n "$keywords" ] || { echo "man-check: no keywords found" >&2; exit 1; }
for k in $keywords; do
	if ! grep -q "^\.It Ic $k\( \|$\)" man/postern.conf.5; then
		echo "man-check: keyword \"$k\" is not in man/postern.conf.5" >&2
		status=1
	fi
done
commands=$(sed -n 's/^[[:space:]]*{ "\([a-z]*\)", CTL_REQ_.*/\1/p' src/posternctl.c)
[ -n "$commands" ] || { echo "man-check: no commands found" >&2; exit 1; }
for c in $commands; do
	if ! grep -q "^\.It Cm $c\( \|$\)" man/posternctl.8; then
		echo "man-check: command \"$c\" is not in man/posternctl.8" >&2
		status=1
	fi
done
[ $status = 0 ] && echo "man-check: $(echo $keywords | wc -w) keywords," \
	"$(echo $commands | wc -w) commands documented"
exit $status
