# SPDX-License-Identifier: MIT
# The netif codec (libsplitdrv/netif.c): its Check suite, its interop test
# against Xen's own netif.h (libxen-dev), and its fuzz harness. The same
# pattern as tests/blkif.mk.

if HAVE_CHECK
check_PROGRAMS += tests/unit/check-netif
TESTS += tests/unit/check-netif
tests_unit_check_netif_SOURCES = tests/unit/check-netif.c
tests_unit_check_netif_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_netif_LDADD = $(sdrv_test_ldadd) $(CHECK_LIBS)
tests_unit_check_netif_LDFLAGS = $(sdrv_test_ldflags)
endif

# Interop with Xen's netif.h. netif has one layout on every ABI; the i386
# part proves it: netif-xen-i386.elf is the same source compiled with -m32
# (never linked nor run, so no 32-bit C library is needed), where it
# asserts at compile time that every sdrv_netif_* field sits where Xen's
# i386 structures put it, and holds frames written with Xen's i386
# structures, which the test decodes. A compiler that cannot target i386 at
# all leaves a SKIP note there instead (a failure in CI); any other compile
# error fails the build.
if HAVE_XEN_HEADERS
check_PROGRAMS += tests/interop/netif-xen
TESTS += tests/interop/netif-xen
tests_interop_netif_xen_SOURCES = tests/interop/netif-xen.c tests/interop/xen-compat.h \
	tests/interop/elf32.c tests/interop/elf32.h
tests_interop_netif_xen_LDADD = $(sdrv_test_ldadd)
tests_interop_netif_xen_LDFLAGS = $(sdrv_test_ldflags)
EXTRA_tests_interop_netif_xen_DEPENDENCIES = tests/interop/netif-xen-i386.elf
CLEANFILES += tests/interop/netif-xen-i386.elf

tests/interop/netif-xen-i386.elf: $(top_srcdir)/tests/interop/netif-xen.c \
		$(top_srcdir)/include/splitdrv/proto/netif.h
	@$(MKDIR_P) tests/interop
	$(AM_V_GEN)printf '#if !defined(__i386__)\n#error not i386\n#endif\n' > $@.probe.c; \
	if $(CC) -m32 -ffreestanding -fsyntax-only $@.probe.c 2> $@.err; then \
		rm -f $@.probe.c $@.err; \
		$(CC) -m32 -std=gnu11 -ffreestanding -O0 -Wall -Wextra -Werror \
			-DSDRV_NETIF_XEN_I386 $(CPPFLAGS) -I$(top_srcdir)/include \
			-c $(top_srcdir)/tests/interop/netif-xen.c -o $@; \
	else \
		{ echo "SKIP: $(CC) cannot compile for -m32 (i386):"; head -n 3 $@.err; } > $@; \
		rm -f $@.probe.c $@.err; \
	fi
endif

# The fuzz harness over the decoders (tests/fuzz/fuzz-netif.c: its header
# comment says what it checks). make check runs it as a plain program: the
# seed corpus, generated valid packets and mutations from a fixed seed.
# `make fuzz-netif [FUZZ_SECONDS=60]` builds it with clang's libFuzzer and
# ASan+UBSan (the codec compiled in) and fuzzes on a scratch copy of the
# seeds; a crash input is left as tests/fuzz/netif-crash-*: replay it with
#   tests/fuzz/fuzz-netif-run FILE   (or the libFuzzer binary).
# Regenerate the seeds with
#   tests/fuzz/fuzz-netif-run --gen-corpus $(top_srcdir)/tests/fuzz/corpus/netif
check_PROGRAMS += tests/fuzz/fuzz-netif-run
TESTS += tests/fuzz/fuzz-netif-run
tests_fuzz_fuzz_netif_run_SOURCES = tests/fuzz/fuzz-netif.c tests/fuzz/fz-corpus.c tests/fuzz/fz-corpus.h
tests_fuzz_fuzz_netif_run_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_netif_run_LDADD = $(sdrv_test_ldadd)
tests_fuzz_fuzz_netif_run_LDFLAGS = $(sdrv_test_ldflags)

FUZZ_NETIF_SEEDS = \
	tests/fuzz/corpus/netif/ctrl-0 \
	tests/fuzz/corpus/netif/ctrl-1 \
	tests/fuzz/corpus/netif/frame-0 \
	tests/fuzz/corpus/netif/frame-1 \
	tests/fuzz/corpus/netif/rx-0 \
	tests/fuzz/corpus/netif/rx-1 \
	tests/fuzz/corpus/netif/rx-badgso-0 \
	tests/fuzz/corpus/netif/rx-badgso-1 \
	tests/fuzz/corpus/netif/rx-gso-0 \
	tests/fuzz/corpus/netif/rx-gso-1 \
	tests/fuzz/corpus/netif/rx-long-0 \
	tests/fuzz/corpus/netif/rx-long-1 \
	tests/fuzz/corpus/netif/tx-0 \
	tests/fuzz/corpus/netif/tx-1 \
	tests/fuzz/corpus/netif/tx-badgso-0 \
	tests/fuzz/corpus/netif/tx-badgso-1 \
	tests/fuzz/corpus/netif/tx-gso-0 \
	tests/fuzz/corpus/netif/tx-gso-1 \
	tests/fuzz/corpus/netif/tx-long-0 \
	tests/fuzz/corpus/netif/tx-long-1 \
	tests/fuzz/corpus/netif/tx-max-0 \
	tests/fuzz/corpus/netif/tx-max-1 \
	tests/fuzz/corpus/netif/tx-mcast-0 \
	tests/fuzz/corpus/netif/tx-mcast-1
# doc/net.md documents the codec; it is distributed with it.
EXTRA_DIST += $(FUZZ_NETIF_SEEDS) doc/net.md

FUZZ_NETIF_BIN = tests/fuzz/fuzz-netif
FUZZ_NETIF_WORK = tests/fuzz/corpus-work/netif
CLEANFILES += $(FUZZ_NETIF_BIN) tests/fuzz/netif.log

fuzz-netif:
	@if test -z "$(CLANG)"; then \
		echo "make fuzz-netif: no clang found by configure (CLANG is empty)."; \
		echo "  Install clang (Debian: apt-get install clang libclang-rt-14-dev)"; \
		echo "  and re-run configure, or run: make fuzz-netif CLANG=/path/to/clang"; \
		exit 1; \
	fi
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CFLAGS) -DSDRV_LIBFUZZER -I$(top_srcdir)/include \
		$(top_srcdir)/tests/fuzz/fuzz-netif.c $(top_srcdir)/libsplitdrv/netif.c \
		-o $(FUZZ_NETIF_BIN) || { \
		echo "make fuzz-netif: $(CLANG) cannot build with -fsanitize=fuzzer;"; \
		echo "  the libFuzzer runtime is missing (Debian 12: apt-get install libclang-rt-14-dev)"; \
		exit 1; }
	rm -rf $(FUZZ_NETIF_WORK) && $(MKDIR_P) $(FUZZ_NETIF_WORK)
	cp $(top_srcdir)/tests/fuzz/corpus/netif/* $(FUZZ_NETIF_WORK)/
	@echo "  FUZZ     netif codec for $(FUZZ_SECONDS) s (log: tests/fuzz/netif.log)"
	@$(FUZZ_NETIF_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
		-max_len=1024 -print_final_stats=1 \
		-artifact_prefix=$(abs_top_builddir)/tests/fuzz/netif- \
		$(FUZZ_NETIF_WORK) > tests/fuzz/netif.log 2>&1 || { \
		tail -n 60 tests/fuzz/netif.log; \
		echo "make fuzz-netif: the netif harness failed (see above)"; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' \
		tests/fuzz/netif.log || true
	rm -rf $(FUZZ_NETIF_WORK)

fuzz: fuzz-netif
PHONY_TARGETS += fuzz-netif
