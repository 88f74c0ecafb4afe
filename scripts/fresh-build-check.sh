#!/bin/sh
# The fresh-machine path of `make run` and `make check` (run by `make
# check`): on a fresh Debian machine pkg-config and the libraries are not
# there when make reads the Makefile; `deps` installs them, and only a make
# that reads the Makefile again gets their flags.  Nothing is removed to
# show it: a fake pkg-config first on PATH finds nothing until a fake deps
# step (DEPS_CMD: it marks the packages "installed", then runs the real
# scripts/deps.sh) has run; from then on it is the real pkg-config.
#
#  1. `make run` with RUN_CMD=: (build, do not start the daemon) into
#     build/fresh must succeed, and the binaries it links must run.
#  2. A plain `make` before deps must stop before compiling anything, with
#     a message that names what is missing and says to run `make deps`.
#
# The make is a new one, as a user would type it (MAKEFLAGS of a calling
# make dropped).  Its output goes to build/fresh.log.
set -eu
cd "$(dirname "$0")/.."
BUILD=build/fresh
LOG=build/fresh.log
MAKEFILE=${FRESH_MAKEFILE:-Makefile}	# another Makefile, to try the check
start=$(date +%s)

real=$(command -v pkg-config) || {
	echo "fresh-build-check: pkg-config is not installed (run make deps)" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
cat > "$tmp/bin/pkg-config" <<EOF
#!/bin/sh
if [ -e "$tmp/installed" ]; then
	echo "after \$*" >> "$tmp/calls"
	exec "$real" "\$@"
fi
echo "before \$*" >> "$tmp/calls"
exit 1
EOF
cat > "$tmp/deps" <<EOF
#!/bin/sh
touch "$tmp/installed"
exec sh scripts/deps.sh
EOF
chmod +x "$tmp/bin/pkg-config" "$tmp/deps"

fresh_make() {	# OUTPUT ARGS...: make as typed by a user, output to $LOG
	out=$1; shift
	rc=0
	echo "== make $*" > "$out"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$tmp/bin:$PATH" \
		make -f "$MAKEFILE" -j2 BUILD=$BUILD "$@" >> "$out" 2>&1 || rc=$?
	cat "$out" >> "$LOG"
	return $rc
}
fail() {
	echo "fresh-build-check: FAIL: $*" >&2
	echo "---- last lines of $LOG:" >&2
	tail -n 25 "$LOG" >&2
	exit 1
}

mkdir -p build
rm -rf $BUILD
: > "$LOG"

# 1. make run, as on a fresh machine.
fresh_make "$tmp/run.out" run DEPS_CMD="sh $tmp/deps" RUN_CMD=: ||
	fail "make run did not build when deps installed the packages"
grep -q '^before ' "$tmp/calls" 2>/dev/null ||
	fail "make never read the Makefile without the packages (check is void)"
grep -q '^after ' "$tmp/calls" ||
	fail "pkg-config was never asked after deps"
[ -x $BUILD/posternd ] && [ -x $BUILD/posternctl ] ||
	fail "make run succeeded but built no $BUILD/posternd, posternctl"
$BUILD/posternd -n -f etc/postern.conf.example >> "$LOG" 2>&1 ||
	fail "$BUILD/posternd -n -f etc/postern.conf.example failed"
st=0; $BUILD/posternctl >> "$LOG" 2>&1 || st=$?
[ $st = 2 ] || fail "$BUILD/posternctl without arguments exited $st, not 2"

# 2. A plain make before deps: a clear message, nothing compiled.
rm -rf $BUILD "$tmp/installed"
if fresh_make "$tmp/plain.out" all; then
	fail "make all succeeded without pkg-config finding the libraries"
fi
grep -q 'make deps' "$tmp/plain.out" && grep -q 'libevent' "$tmp/plain.out" ||
	fail "make all without the libraries did not say to run make deps"
[ -z "$(find $BUILD -name '*.o' 2>/dev/null)" ] ||
	fail "make all compiled before finding the libraries missing"

rm -rf $BUILD
echo "fresh-build-check: pkg-config and libraries missing when make read" \
	"the Makefile, installed by deps: make run built and linked;" \
	"plain make stopped early ($(($(date +%s) - start)) s)"
