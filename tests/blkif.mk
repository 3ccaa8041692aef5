# SPDX-License-Identifier: MIT
# The blkif codec (libsplitdrv/blkif.c): its Check suite, its interop test
# against Xen's own blkif.h (libxen-dev), and its fuzz harness.

if HAVE_CHECK
check_PROGRAMS += tests/unit/check-blkif
TESTS += tests/unit/check-blkif
tests_unit_check_blkif_SOURCES = tests/unit/check-blkif.c
tests_unit_check_blkif_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_blkif_LDADD = $(sdrv_test_ldadd) $(CHECK_LIBS)
tests_unit_check_blkif_LDFLAGS = $(sdrv_test_ldflags)
endif

# Interop with Xen's blkif.h. The x86_32 part reads Xen's own structures
# under the i386 ABI from blkif-xen-i386.elf: the same source compiled with
# -m32 (never linked nor run, so no 32-bit C library is needed). A compiler
# that cannot target i386 at all leaves a SKIP note there instead, which
# the test turns into a skip (a failure in CI); any other compile error
# fails the build.
if HAVE_XEN_HEADERS
check_PROGRAMS += tests/interop/blkif-xen
TESTS += tests/interop/blkif-xen
tests_interop_blkif_xen_SOURCES = tests/interop/blkif-xen.c tests/interop/xen-compat.h \
	tests/interop/elf32.c tests/interop/elf32.h
tests_interop_blkif_xen_LDADD = $(sdrv_test_ldadd)
tests_interop_blkif_xen_LDFLAGS = $(sdrv_test_ldflags)
EXTRA_tests_interop_blkif_xen_DEPENDENCIES = tests/interop/blkif-xen-i386.elf
CLEANFILES += tests/interop/blkif-xen-i386.elf

tests/interop/blkif-xen-i386.elf: $(top_srcdir)/tests/interop/blkif-xen.c
	@$(MKDIR_P) tests/interop
	$(AM_V_GEN)printf '#if !defined(__i386__)\n#error not i386\n#endif\n' > $@.probe.c; \
	if $(CC) -m32 -ffreestanding -fsyntax-only $@.probe.c 2> $@.err; then \
		rm -f $@.probe.c $@.err; \
		$(CC) -m32 -std=gnu11 -ffreestanding -O0 -Wall -Wextra -Werror \
			-DSDRV_BLKIF_XEN_I386 $(CPPFLAGS) \
			-c $(top_srcdir)/tests/interop/blkif-xen.c -o $@; \
	else \
		{ echo "SKIP: $(CC) cannot compile for -m32 (i386):"; head -n 3 $@.err; } > $@; \
		rm -f $@.probe.c $@.err; \
	fi
endif

# The fuzz harness over the decoders (tests/fuzz/fuzz-blkif.c: its header
# comment says what it checks). make check runs it as a plain program: the
# seed corpus, generated valid requests and mutations from a fixed seed.
# `make fuzz-blkif [FUZZ_SECONDS=60]` builds it with clang's libFuzzer and
# ASan+UBSan (the codec compiled in) and fuzzes on a scratch copy of the
# seeds; a crash input is left as tests/fuzz/blkif-crash-*: replay it with
#   tests/fuzz/fuzz-blkif-run FILE   (or the libFuzzer binary).
# Regenerate the seeds with
#   tests/fuzz/fuzz-blkif-run --gen-corpus $(top_srcdir)/tests/fuzz/corpus/blkif
check_PROGRAMS += tests/fuzz/fuzz-blkif-run
TESTS += tests/fuzz/fuzz-blkif-run
tests_fuzz_fuzz_blkif_run_SOURCES = tests/fuzz/fuzz-blkif.c tests/fuzz/fz-corpus.c tests/fuzz/fz-corpus.h
tests_fuzz_fuzz_blkif_run_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_blkif_run_LDADD = $(sdrv_test_ldadd)
tests_fuzz_fuzz_blkif_run_LDFLAGS = $(sdrv_test_ldflags)

FUZZ_BLKIF_SEEDS = \
	tests/fuzz/corpus/blkif/barrier-0 \
	tests/fuzz/corpus/blkif/barrier-1 \
	tests/fuzz/corpus/blkif/discard-0 \
	tests/fuzz/corpus/blkif/discard-1 \
	tests/fuzz/corpus/blkif/flush-0 \
	tests/fuzz/corpus/blkif/flush-1 \
	tests/fuzz/corpus/blkif/flush-empty-0 \
	tests/fuzz/corpus/blkif/flush-empty-1 \
	tests/fuzz/corpus/blkif/indirect-read-0 \
	tests/fuzz/corpus/blkif/indirect-read-1 \
	tests/fuzz/corpus/blkif/indirect-write-0 \
	tests/fuzz/corpus/blkif/indirect-write-1 \
	tests/fuzz/corpus/blkif/read-0 \
	tests/fuzz/corpus/blkif/read-1 \
	tests/fuzz/corpus/blkif/write-0 \
	tests/fuzz/corpus/blkif/write-1
EXTRA_DIST += $(FUZZ_BLKIF_SEEDS)

FUZZ_BLKIF_BIN = tests/fuzz/fuzz-blkif
FUZZ_BLKIF_WORK = tests/fuzz/corpus-work/blkif
CLEANFILES += $(FUZZ_BLKIF_BIN) tests/fuzz/blkif.log

fuzz-blkif:
	@if test -z "$(CLANG)"; then \
		echo "make fuzz-blkif: no clang found by configure (CLANG is empty)."; \
		echo "  Install clang (Debian: apt-get install clang libclang-rt-14-dev)"; \
		echo "  and re-run configure, or run: make fuzz-blkif CLANG=/path/to/clang"; \
		exit 1; \
	fi
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CFLAGS) -DSDRV_LIBFUZZER -I$(top_srcdir)/include \
		$(top_srcdir)/tests/fuzz/fuzz-blkif.c $(top_srcdir)/libsplitdrv/blkif.c \
		-o $(FUZZ_BLKIF_BIN) || { \
		echo "make fuzz-blkif: $(CLANG) cannot build with -fsanitize=fuzzer;"; \
		echo "  the libFuzzer runtime is missing (Debian 12: apt-get install libclang-rt-14-dev)"; \
		exit 1; }
	rm -rf $(FUZZ_BLKIF_WORK) && $(MKDIR_P) $(FUZZ_BLKIF_WORK)
	cp $(top_srcdir)/tests/fuzz/corpus/blkif/* $(FUZZ_BLKIF_WORK)/
	@echo "  FUZZ     blkif codec for $(FUZZ_SECONDS) s (log: tests/fuzz/blkif.log)"
	@$(FUZZ_BLKIF_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
		-max_len=33000 -print_final_stats=1 \
		-artifact_prefix=$(abs_top_builddir)/tests/fuzz/blkif- \
		$(FUZZ_BLKIF_WORK) > tests/fuzz/blkif.log 2>&1 || { \
		tail -n 60 tests/fuzz/blkif.log; \
		echo "make fuzz-blkif: the blkif harness failed (see above)"; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' \
		tests/fuzz/blkif.log || true
	rm -rf $(FUZZ_BLKIF_WORK)

fuzz: fuzz-blkif
PHONY_TARGETS += fuzz-blkif
