# postern — GNU make build.  `make` builds build/posternd and
# build/posternctl; `make check` installs what is missing (as root), builds
# the normal and the ASan+UBSan variants and runs every test against both;
# `make run` starts the gateway on the example configuration.

CC	?= cc
MAKEFLAGS += --no-print-directory
PKGS	 = libevent libevent_pthreads libevent_openssl libcares openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

BUILD	?= build
OPT	?= -O2
SANFLAGS ?=
CFLAGS_ALL = -std=gnu17 -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) \
	-D_GNU_SOURCE -iquote src -iquote src/lib $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lcrypt $(LDLIBS)

LIB_SRC	 = $(wildcard src/lib/*.c)
MAINS	 = src/posternd.c src/posternctl.c
CORE_SRC = $(filter-out $(MAINS),$(wildcard src/*.c))
OBJS	 = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC) $(CORE_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
PYTEST	 = /usr/bin/python3 -m pytest

.PHONY: all asan deps run check unit unit-bins unit-asan integration layering clean

all: $(BUILD)/posternd $(BUILD)/posternctl

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libpostern.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/posternd: $(BUILD)/obj/posternd.o $(BUILD)/libpostern.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/posternctl: $(BUILD)/obj/posternctl.o $(BUILD)/libpostern.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpostern.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote tests/unit -o $@ $< $(BUILD)/libpostern.a \
		$(LDLIBS_ALL) -lcmocka

# The sanitizer build uses clang, so that every `make check` also proves
# the tree clean under the second compiler.
ASAN_CC	 = clang
asan:
	$(MAKE) CC=$(ASAN_CC) BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_FLAGS)" all unit-bins

unit-bins: $(UNIT_BIN)

deps:
	@sh scripts/deps.sh

run: deps all
	@sh scripts/run-example.sh

# Unit tests of one build variant.
unit: unit-bins
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
		(cd tests/unit && ../../$$t); done

unit-asan:
	$(MAKE) CC=$(ASAN_CC) BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_FLAGS)" unit

# src/lib is general purpose: it must never include mail headers (STYLE 2).
layering:
	@if grep -n '#include "' src/lib/*.c src/lib/*.h | \
		grep -v -E '#include "(log|xmalloc|buf|netaddr|strmap|workpool)\.h"'; then \
		echo "layering: src/lib includes a header from outside src/lib"; \
		exit 1; fi

integration:
	POSTERND_BINS="$(CURDIR)/build/posternd $(CURDIR)/build/asan/posternd" \
		$(PYTEST) -q -p no:cacheprovider tests/integration

check: deps
	$(MAKE) all unit-bins
	$(MAKE) asan
	$(MAKE) layering
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) integration

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/lib/*.d $(BUILD)/tests/*.d)
