/* SPDX-License-Identifier: MIT */
/*
 * The interop tests compare the project's encodings with Xen's own
 * structures compiled for i386 (-m32, never linked nor run): they read the
 * blob such an object holds in a section of its own.
 */
#ifndef SDRV_TESTS_ELF32_H
#define SDRV_TESTS_ELF32_H

#include <stddef.h>

/* The contents of section `name` of a 32-bit x86 relocatable object in
 * f[0..n), which must carry no relocations; NULL if it has none such. */
const unsigned char *elf32_section(const unsigned char *f, size_t n, const char *name, size_t *len);
/* A file's first MiB, malloc'd (free() it); NULL if it cannot be read. */
unsigned char *elf32_read_file(const char *path, size_t *n);

#endif
