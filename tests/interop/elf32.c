/* SPDX-License-Identifier: MIT */
/* Reading the i386 objects of the interop tests: see elf32.h. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf32.h"

/* The contents of section `name` of a 32-bit x86 relocatable object, which
 * must carry no relocations (the blob holds no pointers). */
const unsigned char *elf32_section(const unsigned char *f, size_t n, const char *name, size_t *len)
{
	Elf32_Ehdr eh;
	Elf32_Shdr strs, sh;
	const unsigned char *found = NULL;
	unsigned found_idx = 0;

	if (n < sizeof(eh))
		return NULL;
	memcpy(&eh, f, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386 ||
	    eh.e_shentsize != sizeof(Elf32_Shdr) || eh.e_shoff > n ||
	    eh.e_shnum > (n - eh.e_shoff) / sizeof(Elf32_Shdr) || eh.e_shstrndx >= eh.e_shnum)
		return NULL;
	memcpy(&strs, f + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(sh), sizeof(strs));
	if (strs.sh_offset > n || strs.sh_size > n - strs.sh_offset)
		return NULL;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		memcpy(&sh, f + eh.e_shoff + (size_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_name < strs.sh_size &&
		    strnlen((const char *)f + strs.sh_offset + sh.sh_name,
			    strs.sh_size - sh.sh_name) == strlen(name) &&
		    memcmp(f + strs.sh_offset + sh.sh_name, name, strlen(name)) == 0 &&
		    sh.sh_type == SHT_PROGBITS && sh.sh_offset <= n &&
		    sh.sh_size <= n - sh.sh_offset) {
			found = f + sh.sh_offset;
			found_idx = i;
			*len = sh.sh_size;
		}
	}
	for (unsigned i = 0; found && i < eh.e_shnum; i++) {
		memcpy(&sh, f + eh.e_shoff + (size_t)i * sizeof(sh), sizeof(sh));
		if ((sh.sh_type == SHT_REL || sh.sh_type == SHT_RELA) && sh.sh_info == found_idx)
			return NULL;
	}
	return found;
}

unsigned char *elf32_read_file(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf;

	if (!fp)
		return NULL;
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(fp);
		return NULL;
	}
	*n = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}
