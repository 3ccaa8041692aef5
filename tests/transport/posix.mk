# SPDX-License-Identifier: MIT
# The POSIX transport between real processes: the test process runs the
# broker on a socket in a temporary directory and forks the domains.

posix_tests = \
	tests/transport/posix-grants \
	tests/transport/posix-death \
	tests/transport/posix-cycles \
	tests/transport/posix-hostile \
	tests/transport/posix-isolate

check_PROGRAMS += $(posix_tests)
TESTS += $(posix_tests)

tests_transport_posix_grants_SOURCES = tests/transport/posix-grants.c tests/transport/posix-common.h
tests_transport_posix_grants_CFLAGS = $(AM_CFLAGS)
tests_transport_posix_grants_LDADD = $(sdrv_test_ldadd)
tests_transport_posix_grants_LDFLAGS = $(sdrv_test_ldflags)

tests_transport_posix_death_SOURCES = tests/transport/posix-death.c tests/transport/posix-common.h
tests_transport_posix_death_CFLAGS = $(AM_CFLAGS)
tests_transport_posix_death_LDADD = $(sdrv_test_ldadd)
tests_transport_posix_death_LDFLAGS = $(sdrv_test_ldflags)

tests_transport_posix_cycles_SOURCES = tests/transport/posix-cycles.c tests/transport/posix-common.h
tests_transport_posix_cycles_CFLAGS = $(AM_CFLAGS)
tests_transport_posix_cycles_LDADD = $(sdrv_test_ldadd)
tests_transport_posix_cycles_LDFLAGS = $(sdrv_test_ldflags)

# Links proto.c itself, to build raw messages the way the client does.
tests_transport_posix_hostile_SOURCES = tests/transport/posix-hostile.c \
	tests/transport/posix-common.h transports/posix/proto.c transports/posix/proto.h
tests_transport_posix_hostile_CFLAGS = $(AM_CFLAGS)
tests_transport_posix_hostile_LDADD = $(sdrv_test_ldadd)
tests_transport_posix_hostile_LDFLAGS = $(sdrv_test_ldflags)

# Isolation mode; links proto.c to speak the protocol as a hostile backend.
tests_transport_posix_isolate_SOURCES = tests/transport/posix-isolate.c \
	tests/transport/posix-common.h transports/posix/proto.c transports/posix/proto.h
tests_transport_posix_isolate_CFLAGS = $(AM_CFLAGS)
tests_transport_posix_isolate_LDADD = $(sdrv_test_ldadd)
tests_transport_posix_isolate_LDFLAGS = $(sdrv_test_ldflags)
