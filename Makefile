# panne: plain Makefile with pkg-config.  See README.md.
#   make            build ./panne
#   make check      install missing packages (as root), build with ASan/UBSan, run every test
#   make demo       install missing packages (as root), build, diagnose a bundled capture
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS

PKG_CONFIG ?= pkg-config
PKGS       := libpcap ldns libssl libcrypto jansson libpsl
CC         ?= cc
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DESTDIR    ?=

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT      ?= -O2 -g
CFLAGS   ?=
CFLAGS   += -std=gnu11 $(OPT) $(WARN) -Iinclude $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LDLIBS   += -pthread $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -lpcap -lldns -lssl -lcrypto -ljansson -lpsl) -lm

ifeq ($(SANITIZE),1)
BUILD    ?= build/san
OPT      := -O1 -g
HARDEN   := -fPIE
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer: the look-ahead threads (tests/suites/threads.sh)
BUILD    ?= build/tsan
OPT      := -O1 -g
HARDEN   := -fPIE
CFLAGS   += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=thread
else
BUILD    ?= build/rel
endif
CFLAGS += $(HARDEN)

SRCS     := $(wildcard src/*.c)
LIBSRCS  := $(filter-out src/main.c,$(SRCS))
LIBOBJS  := $(LIBSRCS:src/%.c=$(BUILD)/%.o)
UNITSRCS := $(wildcard tests/unit/test_*.c)
UNITBINS := $(UNITSRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZNAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAYBINS := $(FUZZNAMES:%=$(BUILD)/tests/replay_%)
FUZZCC   ?= clang
FUZZFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -std=gnu11 -Iinclude $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZOBJS := $(LIBSRCS:src/%.c=build/fuzz/%.o)

.PHONY: all check demo install clean deps deps-build unit fuzz fuzz-build bench
all: panne

panne: $(BUILD)/panne
	@if [ "$(SANITIZE)" != 1 ]; then cp $(BUILD)/panne panne; fi

$(BUILD)/%.o: src/%.c $(wildcard include/panne/*.h) | $(BUILD)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/tests

$(BUILD)/libpanne.a: $(LIBOBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/panne: $(BUILD)/main.o $(BUILD)/libpanne.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpanne.a $(wildcard tests/unit/*.h)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libpanne.a $(LDLIBS) -lcmocka

unit: $(UNITBINS) $(REPLAYBINS)

# Each fuzz target's entry point over files, with the sanitizers: `make check`
# replays the kept corpora and past crashes (tests/fuzz/crashes) with these.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_common.h $(BUILD)/libpanne.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(BUILD)/libpanne.a $(LDLIBS)

build/fuzz/%.o: src/%.c $(wildcard include/panne/*.h)
	@mkdir -p build/fuzz
	$(FUZZCC) $(FUZZFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZOBJS)
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZOBJS) $(LDLIBS)

fuzz-build: $(FUZZNAMES:%=build/fuzz/fuzz_%)

# Set-up: the packages a fresh Debian/Ubuntu machine lacks (apt-get as root).
deps:
	@sh tools/deps.sh check
deps-build:
	@sh tools/deps.sh build

demo: deps-build
	$(MAKE) panne
	./panne -r captures/demo.pcap || [ $$? -le 1 ]

# Every test under ASan/UBSan: units, golden captures, corpus, man pages,
# fuzz corpora replay, namespace integration (as root).
check: deps
	$(MAKE) SANITIZE=1 build/san/panne unit
	$(MAKE) panne
	sh tests/run.sh build/san

# Runs every libFuzzer target for FUZZ_SECONDS (default 60) each.
fuzz: fuzz-build
	sh tests/fuzz/run.sh $${FUZZ_SECONDS:-60} $(FUZZNAMES)

bench: panne
	$(MAKE) -C bench run

install: panne
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 panne $(DESTDIR)$(SBINDIR)/panne
	install -m 0644 man/panne.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/panne-services.5 $(DESTDIR)$(MANDIR)/man5/
	for f in man/*.7; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(MANDIR)/man7/; done; true

clean:
	rm -rf build panne tests/out
