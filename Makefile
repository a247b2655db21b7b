# mixproxy — plain Makefile.  Honours PREFIX, DESTDIR, CC, CFLAGS, LDFLAGS,
# PKG_CONFIG (cross-compiling: point PKG_CONFIG at the target's pkg-config).
#
#   make            build src/mixproxy
#   make check      install missing deps (tools/deps), unit + integration tests
#   make check SANITIZE=1   the same under ASan+UBSan
#   make fuzz       build the libFuzzer harnesses (clang)
#   make demo       run the real thing on a local mixnet on loopback
#   make bench      benchmarks (tools/bench)
#   make install    install binary, man pages, systemd units and example
#                   configs under $(DESTDIR)$(PREFIX); make uninstall

VERSION    = 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/mixproxy
# The units read $(SYSCONFDIR)/mixproxy/NAME.conf.  /etc whatever the
# PREFIX, as wg-quick reads /etc/wireguard: a /usr/local install is
# still configured where the box's other daemons are.
SYSCONFDIR ?= /etc
# systemd reads units from /usr/local/lib/systemd/system as well as
# /usr/lib/systemd/system, so both usual prefixes work as they are.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
PKG_CONFIG ?= pkg-config
CC        ?= cc
FUZZCC    ?= clang

CFLAGS    ?= -O2 -g
# make check builds and tests this many at a time (its sub-makes take -j).
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
WARN       = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wpointer-arith -Wformat=2 -Wvla -Wcast-align -Wundef -Wwrite-strings
# The libraries' flags are asked of pkg-config when a recipe uses them, not
# when this file is read: `make demo` and `make check` install what is
# missing (tools/deps) before the first compile of the same run.
DEPS_CFLAGS  = $(shell $(PKG_CONFIG) --cflags libsodium libxxhash 2>/dev/null)
DEPS_LIBS    = $(shell $(PKG_CONFIG) --libs libsodium libxxhash 2>/dev/null)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

ifeq ($(SANITIZE),1)
SANFLAGS   = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DMIXPROXY_VERSION=\"$(VERSION)\" $(WARN) \
             $(DEPS_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Every src/*.c except the entry point goes into a static library that the
# binary, the unit tests and the fuzz harnesses link unchanged.
LIB_SRC  = $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:.c=.o)
TEST_SRC = $(wildcard tests/unit/*.c)
TEST_OBJ = $(TEST_SRC:.c=.o)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:.c=)
TOOL_SRC = $(wildcard tools/*.c)
TOOL_BIN = $(TOOL_SRC:.c=)

all: src/mixproxy $(TOOL_BIN)

src/libmixproxy.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

src/mixproxy: src/main.o src/libmixproxy.a
	$(CC) $(ALL_LDFLAGS) -o $@ src/main.o src/libmixproxy.a $(DEPS_LIBS) -lm

tools/%: tools/%.c src/libmixproxy.a .build-flags
	$(CC) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< src/libmixproxy.a $(DEPS_LIBS) -lm

# Objects remember the build flags: switching SANITIZE or CFLAGS rebuilds
# everything instead of linking sanitized and plain objects together.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
# It is also where a plain `make` without the libraries stops with the
# command that installs them, instead of failing to link.
.build-flags: FORCE
	@$(PKG_CONFIG) --exists libsodium libxxhash 2>/dev/null || { \
	  echo "make: $(PKG_CONFIG) finds no libsodium or libxxhash: run 'make deps' (tools/deps) first" >&2; \
	  exit 1; }
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

%.o: %.c .build-flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/%.o: tests/unit/%.c .build-flags
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Wno-missing-prototypes -Isrc -Itests/unit -c -o $@ $<

# The suite list is generated from the test files' suite_NAME definitions.
tests/unit/suites.h: $(filter-out tests/unit/check_main.c,$(TEST_SRC))
	@{ for n in $$(sed -n 's/^Suite \*suite_\([a-z0-9_]*\)(void)$$/\1/p' $^ | sort); do \
	    echo "Suite *suite_$$n(void);"; done; \
	  echo 'static const struct { const char *name; Suite *(*fn)(void); } all_suites[] = {'; \
	  for n in $$(sed -n 's/^Suite \*suite_\([a-z0-9_]*\)(void)$$/\1/p' $^ | sort); do \
	    echo "	{ \"$$n\", suite_$$n },"; done; \
	  echo '};'; } > $@.tmp && mv $@.tmp $@
tests/unit/check_main.o: tests/unit/suites.h

tests/unit/check_mixproxy: $(TEST_OBJ) src/libmixproxy.a
	@$(PKG_CONFIG) --exists check 2>/dev/null || { \
	  echo "make: $(PKG_CONFIG) finds no check (the unit test library): run 'make deps' (tools/deps) first" >&2; \
	  exit 1; }
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) src/libmixproxy.a $(CHECK_LIBS) $(DEPS_LIBS) -lm

deps:
	@sh tools/deps

# The unit tests and the fuzz smoke (check-beside) take a core for a
# minute or two, while the light integration scripts mostly wait: run.sh
# runs the former beside the latter (INTEGRATION_BESIDE), and the volume
# scripts, which take a core each, after it and the quiet scripts.
# Two suites at a time: they too mostly wait on timers (42 s alone for
# 11 s of CPU; 21 s two at a time).
check: deps
	$(MAKE) -j$(JOBS) all tests/unit/check_mixproxy
	INTEGRATION_BESIDE='$(MAKE) --no-print-directory check-beside' sh tests/integration/run.sh

check-beside:
	CK_DEFAULT_TIMEOUT=60 tests/unit/check_mixproxy -j 2
	@if printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' | \
	    $(FUZZCC) -fsanitize=fuzzer -x c -o /dev/null - >/dev/null 2>&1; then \
	  $(MAKE) $(FUZZ_BIN) && FUZZ_JOBS=1 sh tests/fuzz/smoke.sh; \
	else echo "fuzz smoke: skipped, $(FUZZCC) with libFuzzer not installed (tools/deps)"; fi

# Fuzz harnesses link every library source, compiled once with clang for
# libFuzzer and the sanitizers (tests/fuzz/lib/).
FUZZ_FLAGS = -std=c11 -D_GNU_SOURCE -DMIXPROXY_VERSION=\"$(VERSION)\" -g -O1 \
             -fsanitize=fuzzer-no-link,address,undefined $(DEPS_CFLAGS) -Isrc
FUZZ_LIB_OBJ = $(patsubst src/%.c,tests/fuzz/lib/%.o,$(LIB_SRC))
fuzz: deps
	$(MAKE) $(FUZZ_BIN)
tests/fuzz/lib/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p tests/fuzz/lib
	$(FUZZCC) $(FUZZ_FLAGS) -c -o $@ $<
tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	$(FUZZCC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(DEPS_LIBS) -lm

# deps first, then a make of its own: with -j, nothing may compile before
# tools/deps has installed what is missing.
demo: deps
	$(MAKE) all
	bash tools/demo

bench: deps
	$(MAKE) all
	tools/bench all

lint:
	mandoc -T lint -W warning man/*.[1-9]

# What install puts where (uninstall removes exactly these).  The units
# are written from tools/systemd/*.in at install time, with the paths of
# this install in them.
UNITS    = $(notdir $(basename $(wildcard tools/systemd/*.service.in)))
EXAMPLES = $(wildcard tools/examples/*.conf)
MAN5     = $(wildcard man/*.5)
MAN7     = $(wildcard man/*.7)
MAN8     = $(wildcard man/*.8)
INSTALLED = $(BINDIR)/mixproxy \
            $(addprefix $(MANDIR)/man5/,$(notdir $(MAN5))) \
            $(addprefix $(MANDIR)/man7/,$(notdir $(MAN7))) \
            $(addprefix $(MANDIR)/man8/,$(notdir $(MAN8))) \
            $(addprefix $(SYSTEMDUNITDIR)/,$(UNITS)) \
            $(addprefix $(DOCDIR)/examples/,$(notdir $(EXAMPLES)))

install: src/mixproxy
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man7" \
	    "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(SYSTEMDUNITDIR)" "$(DESTDIR)$(DOCDIR)/examples"
	install -m 0755 src/mixproxy "$(DESTDIR)$(BINDIR)/mixproxy"
	install -m 0644 $(MAN5) "$(DESTDIR)$(MANDIR)/man5/"
	install -m 0644 $(MAN7) "$(DESTDIR)$(MANDIR)/man7/"
	install -m 0644 $(MAN8) "$(DESTDIR)$(MANDIR)/man8/"
	install -m 0644 $(EXAMPLES) "$(DESTDIR)$(DOCDIR)/examples/"
	for u in $(UNITS); do \
	  sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	      -e 's|@DOCDIR@|$(DOCDIR)|g' tools/systemd/$$u.in >"$(DESTDIR)$(SYSTEMDUNITDIR)/$$u" && \
	    chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$$u" || exit 1; \
	done

# The directories of this package go too, unless something else was put
# there; the shared ones (bin, man8, ...) stay.
uninstall:
	for f in $(INSTALLED); do rm -f "$(DESTDIR)$$f" || exit 1; done
	for d in "$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(DOCDIR)"; do \
	  [ ! -d "$$d" ] || rmdir "$$d" 2>/dev/null || echo "uninstall: $$d is not empty: left"; \
	done

clean:
	rm -f .build-flags src/*.o src/*.d src/libmixproxy.a src/mixproxy tests/unit/*.o \
	    tests/unit/*.d tests/unit/suites.h tests/unit/check_mixproxy $(FUZZ_BIN) $(TOOL_BIN)
	rm -rf tests/fuzz/lib

FORCE:
.PHONY: all deps check check-beside fuzz demo bench lint install uninstall clean FORCE
-include $(wildcard src/*.d tests/unit/*.d)
