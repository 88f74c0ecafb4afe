# postern — GNU make build.  `make` builds build/posternd and
# build/posternctl; `make check` installs what is missing (as root), builds
# the normal and the ASan+UBSan variants and runs every test against both;
# `make run` starts the gateway on the example configuration.
#
# The pkg-config flags are computed when make reads this file.  So the
# targets that install the packages and then build (run, check) do not
# build themselves: they go through build-after-deps, which runs deps and
# then a new make that reads this file again, with the packages present
# (scripts/fresh-build-check.sh proves it, in `make check`).  A plain
# `make` without the packages stops at pkg-check, naming what is missing.

CC	?= cc
MAKEFLAGS += --no-print-directory
PKGS	 = libevent libevent_pthreads libevent_openssl libcares openssl ldap lber \
	  jansson libpsl hiredis
TEST_PKGS = cmocka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
pkg_missing = $(shell for p in $(1); do \
	pkg-config --exists $$p 2>/dev/null || echo $$p; done)
PKG_MISSING := $(call pkg_missing,$(PKGS))

BUILD	?= build
OPT	?= -O2
SANFLAGS ?=
# The folders of src/ by role (docs/architecture.md); which may include
# which is checked by `make layering` (scripts/layering.py).  Headers are
# included by name: every folder is on the quote path.
SRC_DIRS = lib conf proto tls dns directory queue msgauth milter cluster smtpd deliver ctl
INCLUDES = -iquote src $(patsubst %,-iquote src/%,$(SRC_DIRS))
CFLAGS_ALL = -std=gnu17 -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) \
	-D_GNU_SOURCE $(INCLUDES) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lcrypt $(LDLIBS)

MAINS	 = src/posternd.c src/posternctl.c
CORE_SRC = $(filter-out $(MAINS),$(wildcard src/*.c)) \
	$(foreach d,$(SRC_DIRS),$(wildcard src/$(d)/*.c))
OBJS	 = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Test drivers: small programs the integration tests run, against an
# independent implementation (python3-dkim, Mail::DKIM, Mail::DMARC, the
# RFC 7208 suite) on the fixtures of tests/unit (fake_dns.h), or against
# real peers (resolver_probe and dnsmasq).
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_TIME ?= 300

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
PYTEST	 = /usr/bin/python3 -m pytest

.PHONY: all asan deps build-after-deps run check unit unit-bins unit-asan \
	integration layering fuzz fuzz-replay clean bench install man-check \
	pkg-check pkg-check-tests fresh-build-check

all: $(BUILD)/posternd $(BUILD)/posternctl $(TOOL_BIN)

$(BUILD)/obj/%.o: src/%.c | pkg-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libpostern.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/posternd: $(BUILD)/obj/posternd.o $(BUILD)/libpostern.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/posternctl: $(BUILD)/obj/posternctl.o $(BUILD)/libpostern.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpostern.a | pkg-check-tests
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote tests/unit -o $@ $< $(BUILD)/libpostern.a \
		$(LDLIBS_ALL) -lcmocka

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libpostern.a | pkg-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote tests/unit -o $@ $< $(BUILD)/libpostern.a \
		$(LDLIBS_ALL)

# The sanitizer build uses clang, so that every `make check` also proves
# the tree clean under the second compiler.
ASAN_CC	 = clang
asan:
	$(MAKE) CC=$(ASAN_CC) BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_FLAGS)" all unit-bins

unit-bins: $(UNIT_BIN)

# Stop before compiling when pkg-config does not find the libraries (it
# gave no flags when make read this file), rather than fail to link.
pkg-check:
	@if [ -n "$(strip $(PKG_MISSING))" ]; then \
		command -v pkg-config >/dev/null || \
			echo "postern: pkg-config is not installed" >&2; \
		echo "postern: pkg-config does not find: $(strip $(PKG_MISSING))" >&2; \
		echo "postern: run \`make deps\` (as root) first, or \`make run\`" \
		"or \`make check\`, which run it themselves" >&2; \
		exit 1; fi

pkg-check-tests: pkg-check
	@missing="$(strip $(call pkg_missing,$(TEST_PKGS)))"; \
	if [ -n "$$missing" ]; then \
		echo "postern: pkg-config does not find: $$missing" >&2; \
		echo "postern: run \`make deps\` (as root) first" >&2; \
		exit 1; fi

# What installs the missing Debian packages (as root); a variable so that
# scripts/fresh-build-check.sh can watch it happen.
DEPS_CMD ?= sh scripts/deps.sh
deps:
	@$(DEPS_CMD)

# deps, then a new make, which reads this file again and so gets the flags
# of what deps installed; it builds AFTER_DEPS.
AFTER_DEPS ?= all
build-after-deps: deps
	$(MAKE) $(AFTER_DEPS)

# RUN_CMD is what runs once built (RUN_CMD=: builds only).
RUN_CMD	?= sh scripts/run-example.sh $(BUILD)
run: build-after-deps
	@$(RUN_CMD)

# Unit tests of one build variant.
unit: unit-bins
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
		(cd tests/unit && ../../$$t); done

unit-asan:
	$(MAKE) CC=$(ASAN_CC) BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_FLAGS)" unit

# Fuzz harnesses: `make fuzz` runs each under libFuzzer for FUZZ_TIME
# seconds (new findings land in tests/fuzz/findings/); `fuzz-replay` runs
# every corpus file once through the ASan+UBSan build, without libFuzzer.
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libpostern.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< tests/fuzz/replay_main.c \
		$(BUILD)/libpostern.a $(LDLIBS_ALL)

fuzz-replay-bins: $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES))

fuzz-replay:
	$(MAKE) CC=$(ASAN_CC) BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_FLAGS)" \
		fuzz-replay-bins
	@set -e; for n in $(FUZZ_NAMES); do \
		build/asan/fuzz/replay_$$n tests/fuzz/corpus/$$n/*; done

fuzz:
	$(MAKE) CC=clang BUILD=build/fuzz OPT=-O1 \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
		build/fuzz/libpostern.a
	@set -e; mkdir -p tests/fuzz/findings; for n in $(FUZZ_NAMES); do \
		clang -std=gnu17 -g -O1 -D_GNU_SOURCE $(INCLUDES) \
		-fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_$$n \
		tests/fuzz/fuzz_$$n.c build/fuzz/libpostern.a $(LDLIBS_ALL); \
		mkdir -p build/fuzz/corpus_$$n; \
		build/fuzz/fuzz_$$n -max_total_time=$(FUZZ_TIME) \
		-artifact_prefix=tests/fuzz/findings/$$n- \
		build/fuzz/corpus_$$n tests/fuzz/corpus/$$n; done

# src/lib is general purpose: it must never include mail headers (STYLE 2).
layering:
	@/usr/bin/python3 scripts/layering.py

# The gateway runs in both builds; the test drivers (tests/tools) in the
# ASan+UBSan one, where a leak or an overflow fails the test.
integration:
	POSTERND_BINS="$(CURDIR)/build/posternd $(CURDIR)/build/asan/posternd" \
	POSTERN_TOOLS="$(CURDIR)/build/asan/tests/tools" \
		$(PYTEST) -q -p no:cacheprovider tests/integration

# The integration runner's summary line stays the last line of check.
check: AFTER_DEPS = all unit-bins
check: build-after-deps
	$(MAKE) fresh-build-check
	$(MAKE) asan
	$(MAKE) layering
	$(MAKE) man-check
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) fuzz-replay
	$(MAKE) integration

# make run and make check on a fresh machine: the packages installed by
# deps after make read this file (scripts/fresh-build-check.sh).
fresh-build-check:
	@sh scripts/fresh-build-check.sh

# Benchmarks against a private Postfix (as root; never part of check):
# docs/performance.md.  Figures land in bench/results/.
bench: all
	bench/relay
	bench/connections

# Installation: `make install PREFIX=/usr/local DESTDIR=/tmp/stage`.
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
MANS	 = man/posternd.8 man/posternctl.8 man/postern.conf.5

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/postern \
		$(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/posternd $(BUILD)/posternctl $(DESTDIR)$(SBINDIR)
	install -m 644 man/posternd.8 man/posternctl.8 $(DESTDIR)$(MANDIR)/man8
	install -m 644 man/postern.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 etc/postern.conf.example etc/directory.example \
		$(DESTDIR)$(SYSCONFDIR)/postern
	sed 's|/usr/local/sbin|$(SBINDIR)|g' etc/postern.service > \
		$(DESTDIR)$(UNITDIR)/postern.service
	chmod 644 $(DESTDIR)$(UNITDIR)/postern.service

# Man pages lint clean, and name every configuration keyword and every
# posternctl command (STYLE 14); the unit file verifies where systemd is.
man-check:
	mandoc -Tlint -Wwarning $(MANS)
	sh scripts/man-check.sh
	@if command -v systemd-analyze >/dev/null 2>&1; then \
		sh scripts/unit-check.sh; fi

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d \
	$(foreach d,$(SRC_DIRS),$(BUILD)/obj/$(d)/*.d) $(BUILD)/tests/*.d $(BUILD)/tests/tools/*.d)
