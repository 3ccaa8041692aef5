/* SPDX-License-Identifier: MIT */
/*
 * Isolation mode of the POSIX transport (SDRV_XPORT_ISOLATE): a mapper gets
 * only the pages granted to it, one descriptor each, and a read-only grant
 * cannot be written through any descriptor.
 *
 * Phase 1: granter A (isolated) shares 2 writable and 2 read-only pages
 * with B (a normal domain using the library) and with R (a "compromised
 * backend" speaking the broker protocol by hand, so it holds the very
 * descriptors the broker hands out), and one page with C. B maps and
 * writes, maps what is not its own (per-element EPERM, nothing mapped),
 * faults writing a read-only mapping, copies through the broker; R attacks
 * its read-only descriptor in every way and checks it holds nothing else.
 * Phase 2: B is SIGKILLed while mapping: the broker undoes exactly its pins
 * (C's stay), the granter leaks no descriptor. Phase 3: share/map/unmap/end
 * cycles without descriptor growth anywhere.
 */
#include "posix-common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../../transports/posix/proto.h"

#define PAGE 4096

struct shm {
	uint32_t a_domid, b_domid, c_domid, r_domid;
	uint32_t stage_a, stage_b, stage_c, stage_r;
	sdrv_grant_ref_t rw[2], ro[2], r_rw[2], r_ro[2], c_ref;
	uint32_t cycle, ack;
};

static unsigned char pattern(uint32_t page, uint32_t i)
{
	return (unsigned char)(page * 31 + i * 7 + 1);
}

/* ------------------------------ raw client ------------------------------ */

static int raw_connect(struct pt_env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = tu_under_valgrind() ? 120 : 10};

	CHECK(fd >= 0);
	strcpy(sa.sun_path, e->path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	return fd;
}

/* One request; the reply's payload in `rep` (`*rlen` bytes), its
 * descriptors in `fds` (`*nfds`). Returns the reply's status. */
static int raw_call(int sock, uint16_t type, uint32_t seq, const void *p, size_t len,
		    const int *sfds, unsigned nsfds, void *rep, size_t *rlen, int *fds,
		    unsigned *nfds)
{
	union {
		unsigned char b[SDRV_PM_MAX_MSG];
		uint64_t align;
	} buf;
	struct sdrv_pm_hdr h;
	bool framing;
	unsigned got;
	int rfds[SDRV_PM_MAX_FDS];
	int32_t status;
	long n;
	size_t sz = sdrv_pm_encode(buf.b, type, seq, p, len);
	struct pollfd pfd = {.fd = sock, .events = POLLIN};

	CHECK(sdrv_pm_send(sock, buf.b, sz, sfds, nsfds) == 0);
	CHECK(poll(&pfd, 1, tu_under_valgrind() ? 120000 : 10000) == 1);
	n = sdrv_pm_recv(sock, buf.b, rfds, &got, &framing);
	CHECK(n > 0 && !framing);
	CHECK(sdrv_pm_validate(buf.b, (size_t)n, got, SDRV_PM_TO_CLIENT, &h) == 0);
	CHECK(h.seq == seq && h.type == (type | SDRV_PM_REPLY));
	memcpy(&status, buf.b + SDRV_PM_HDR_SIZE, sizeof(status));
	if (rep) {
		memcpy(rep, buf.b + SDRV_PM_HDR_SIZE, h.len);
		*rlen = h.len;
	}
	if (fds) {
		memcpy(fds, rfds, got * sizeof(int));
		*nfds = got;
	} else {
		CHECK(got == 0);
	}
	return status;
}

static int sealed(size_t size, ino_t *ino)
{
	int fd = memfd_create("raw-own", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct stat st;

	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
	CHECK(fstat(fd, &st) == 0);
	*ino = st.st_ino;
	return fd;
}

/* MAP one batch by hand: the statuses in st, descriptors in fds. */
static int raw_map(int sock, uint32_t seq, sdrv_domid_t granter, const uint32_t *refs, uint32_t n,
		   bool writable, int32_t *st, int *fds, unsigned *nfds)
{
	unsigned char buf[256], rep[SDRV_PM_MAX_PAYLOAD];
	struct sdrv_pm_map m = {
	    .granter = granter, .count = n, .flags = writable ? SDRV_PM_MAP_WRITABLE : 0};
	size_t rlen = 0;
	int r;

	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), refs, n * 4);
	r = raw_call(sock, SDRV_PM_MAP, seq, buf, sizeof(m) + n * 4, NULL, 0, rep, &rlen, fds,
		     nfds);
	if (r == 0) {
		CHECK(rlen == sizeof(struct sdrv_pm_map_rep) + n * 4);
		memcpy(st, rep + sizeof(struct sdrv_pm_map_rep), n * 4);
	}
	return r;
}

static int raw_copy(int sock, uint32_t seq, sdrv_domid_t granter, uint32_t ref, uint16_t off,
		    uint16_t len, bool to_grant, unsigned char *data)
{
	unsigned char buf[SDRV_PM_MAX_PAYLOAD], rep[SDRV_PM_MAX_PAYLOAD];
	struct sdrv_pm_copy m = {.granter = granter,
				 .ref = ref,
				 .offset = off,
				 .len = len,
				 .flags = to_grant ? SDRV_PM_COPY_TO_GRANT : 0};
	size_t rlen = 0;
	int r;

	memcpy(buf, &m, sizeof(m));
	if (to_grant)
		memcpy(buf + sizeof(m), data, len);
	r = raw_call(sock, SDRV_PM_COPY, seq, buf, sizeof(m) + (to_grant ? len : 0), NULL, 0, rep,
		     &rlen, NULL, NULL);
	if (r == 0 && !to_grant) {
		CHECK(rlen == 8u + len);
		memcpy(data, rep + 8, len);
	}
	return r;
}

/* Every memfd this process holds, by inode; returns how many. */
static int memfd_inodes(ino_t *out, int cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char path[300], target[256];
		struct stat st;
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		k = readlink(path, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, "/memfd:", 7) != 0)
			continue;
		CHECK(stat(path, &st) == 0);
		CHECK(n < cap);
		out[n++] = st.st_ino;
	}
	closedir(d);
	return n;
}

/* Mappings of the granter's page memfds in this process (by their name). */
static int page_mappings(ino_t *inos, int cap)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;

		if (!strstr(line, "splitdrv-page"))
			continue;
		CHECK(sscanf(line, "%*s %*s %*s %*s %llu", &ino) == 1);
		CHECK(n < cap);
		inos[n++] = (ino_t)ino;
	}
	fclose(f);
	return n;
}

/* ------------------------------- phase 1 -------------------------------- */

static void granter_a(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, SDRV_XPORT_ISOLATE, SDRV_DOMID_ANY, 64);
	unsigned char *pw, *pr, *qw, *qr, *pc;
	int fds0;

	CHECK(x != NULL);
	CHECK(sdrv_xport_caps(x) & SDRV_XPORT_CAP_ISOLATE);
	fds0 = pt_count_fds();
	s->a_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_a, 1);
	pt_wait_flag(&s->stage_b, 1, "B domid");
	pt_wait_flag(&s->stage_c, 1, "C domid");
	pt_wait_flag(&s->stage_r, 1, "R domid");
	CHECK((pw = sdrv_gnt_share(x, (sdrv_domid_t)s->b_domid, 2, true, s->rw)) != NULL);
	CHECK((pr = sdrv_gnt_share(x, (sdrv_domid_t)s->b_domid, 2, false, s->ro)) != NULL);
	CHECK((qw = sdrv_gnt_share(x, (sdrv_domid_t)s->r_domid, 2, true, s->r_rw)) != NULL);
	CHECK((qr = sdrv_gnt_share(x, (sdrv_domid_t)s->r_domid, 2, false, s->r_ro)) != NULL);
	CHECK((pc = sdrv_gnt_share(x, (sdrv_domid_t)s->c_domid, 1, true, &s->c_ref)) != NULL);
	/* The granter's own mapping of a read-only grant stays writable. */
	for (uint32_t i = 0; i < 2 * PAGE; i++) {
		pr[i] = pattern(10 + i / PAGE, i % PAGE);
		qr[i] = pattern(20 + i / PAGE, i % PAGE);
		qw[i] = pattern(30 + i / PAGE, i % PAGE);
	}
	memset(pc, 0xCC, PAGE);
	/* Only the broker holds the page descriptors. */
	CHECK(pt_count_fds() == fds0);
	pt_set_flag(&s->stage_a, 2);

	pt_wait_flag(&s->stage_b, 2, "B mapped");
	CHECK(pw[0] == 0xB1 && pw[PAGE] == 0xB2);
	CHECK(pw[100] == 0x11 && pw[PAGE + 4095] == 0x22); /* B's copies */
	CHECK(sdrv_gnt_end(x, s->rw[0]) == -EBUSY);
	CHECK(sdrv_gnt_end(x, s->ro[1]) == -EBUSY);
	CHECK(sdrv_gnt_unshare(x, pw, 2) == -EBUSY);
	pt_set_flag(&s->stage_a, 3);
	pt_wait_flag(&s->stage_b, 3, "B unmapped");
	pt_wait_flag(&s->stage_r, 2, "R done");
	/* R's attacks changed nothing it was not allowed to write. */
	for (uint32_t i = 0; i < 2 * PAGE; i++)
		CHECK(qr[i] == pattern(20 + i / PAGE, i % PAGE));
	CHECK(qw[0] == 0x77);
	for (int i = 0; i < 2; i++) {
		CHECK(sdrv_gnt_end(x, s->rw[i]) == 0);
		CHECK(sdrv_gnt_end(x, s->ro[i]) == 0);
		CHECK(sdrv_gnt_end(x, s->r_rw[i]) == 0);
		CHECK(sdrv_gnt_end(x, s->r_ro[i]) == 0);
	}
	CHECK(sdrv_gnt_end(x, s->c_ref) == 0);
	CHECK(sdrv_gnt_unshare(x, pw, 2) == 0);
	CHECK(sdrv_gnt_unshare(x, pr, 2) == 0);
	CHECK(sdrv_gnt_unshare(x, qw, 2) == 0);
	CHECK(sdrv_gnt_unshare(x, qr, 2) == 0);
	CHECK(sdrv_gnt_unshare(x, pc, 1) == 0);
	CHECK(pt_count_fds() == fds0);
	pt_set_flag(&s->stage_a, 4);
	pt_wait_flag(&s->stage_c, 2, "C done");
	sdrv_xport_close(x);
}

static void domain_c(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);

	CHECK(x != NULL);
	s->c_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_c, 1);
	pt_wait_flag(&s->stage_a, 4, "A done");
	pt_set_flag(&s->stage_c, 2);
	sdrv_xport_close(x);
}

/* A write to a read-only mapping must kill a child with SIGSEGV. */
static void expect_segv(volatile unsigned char *p)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {0, 0};

		(void)setrlimit(RLIMIT_CORE, &rl);
		signal(SIGSEGV, SIG_DFL);
		p[0] = 0x66;
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

static void mapper_b(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);
	sdrv_domid_t a;
	unsigned char *mw, *mr, buf[PAGE], big[PAGE];
	sdrv_grant_ref_t bad[3];
	int st[3], fds0;
	ino_t inos[16], own[16];

	CHECK(x != NULL);
	s->b_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_b, 1);
	pt_wait_flag(&s->stage_a, 2, "A shared");
	a = (sdrv_domid_t)s->a_domid;
	fds0 = pt_count_fds();

	mw = sdrv_gnt_map(x, a, 2, s->rw, true, st);
	CHECK(mw != NULL && st[0] == 0 && st[1] == 0);
	mw[0] = 0xB1;
	mw[PAGE] = 0xB2;
	mr = sdrv_gnt_map(x, a, 2, s->ro, false, st);
	CHECK(mr != NULL);
	for (uint32_t i = 0; i < 2 * PAGE; i++)
		CHECK(mr[i] == pattern(10 + i / PAGE, i % PAGE));
	expect_segv(mr);
	expect_segv(mr + PAGE + 17);

	/* Not ours: granted to C, granted to R, never granted, out of range. */
	bad[0] = s->rw[0];
	bad[1] = s->c_ref;
	bad[2] = s->r_rw[0];
	errno = 0;
	CHECK(sdrv_gnt_map(x, a, 3, bad, false, st) == NULL && errno == EPERM);
	CHECK(st[0] == 0 && st[1] == -EPERM && st[2] == -EPERM);
	bad[1] = 60; /* in range, never granted */
	bad[2] = 100000;
	errno = 0;
	CHECK(sdrv_gnt_map(x, a, 3, bad, false, st) == NULL);
	CHECK(st[0] == 0 && st[1] == -EPERM && st[2] == -EINVAL);
	/* A read-only grant mapped writable. */
	errno = 0;
	CHECK(sdrv_gnt_map(x, a, 1, &s->ro[0], true, st) == NULL && errno == EPERM);
	CHECK(st[0] == -EPERM);

	/* Nothing else is mapped or held: exactly our 4 pages, distinct, and
	 * no descriptor of the granter's at all (only our own table and
	 * pool memfds). */
	CHECK(page_mappings(inos, 16) == 4);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			CHECK(inos[i] != inos[j]);
	CHECK(memfd_inodes(own, 16) == 2);
	CHECK(pt_count_fds() == fds0);

	/* Copy through the broker. */
	{
		struct sdrv_gnt_copy_seg seg[4] = {
		    {.granter = a, .ref = s->ro[1], .offset = 0, .len = PAGE, .local = buf},
		    {.granter = a,
		     .ref = s->rw[0],
		     .offset = 100,
		     .len = 1,
		     .to_grant = true,
		     .local = (unsigned char[]){0x11}},
		    {.granter = a,
		     .ref = s->ro[0],
		     .offset = 0,
		     .len = 8,
		     .to_grant = true,
		     .local = buf},
		    {.granter = a, .ref = s->rw[1], .offset = 4000, .len = 200, .local = buf},
		};

		CHECK(sdrv_gnt_copy(x, seg, 4) == -EIO);
		CHECK(seg[0].status == 0 && seg[1].status == 0);
		CHECK(seg[2].status == -EPERM && seg[3].status == -EINVAL);
		for (uint32_t i = 0; i < PAGE; i++)
			CHECK(buf[i] == pattern(11, i));
		CHECK(mw[100] == 0x11);
		CHECK(mr[0] == pattern(10, 0));
		/* A whole page, in two broker messages, then read back. */
		for (uint32_t i = 0; i < PAGE; i++)
			big[i] = (unsigned char)(i ^ 0x5A);
		big[0] = 0xB2;
		big[4095] = 0x22;
		seg[0] = (struct sdrv_gnt_copy_seg){
		    .granter = a, .ref = s->rw[1], .len = PAGE, .to_grant = true, .local = big};
		CHECK(sdrv_gnt_copy(x, seg, 1) == 0 && seg[0].status == 0);
		CHECK(memcmp(mw + PAGE, big, PAGE) == 0);
		/* Not granted to us. */
		seg[0] = (struct sdrv_gnt_copy_seg){
		    .granter = a, .ref = s->c_ref, .len = 8, .local = buf};
		CHECK(sdrv_gnt_copy(x, seg, 1) == -EIO && seg[0].status == -EPERM);
	}
	pt_set_flag(&s->stage_b, 2);
	pt_wait_flag(&s->stage_a, 3, "A checked EBUSY");
	CHECK(sdrv_gnt_unmap(x, mw, 2) == 0);
	CHECK(sdrv_gnt_unmap(x, mr, 2) == 0);
	CHECK(page_mappings(inos, 16) == 0);
	CHECK(pt_count_fds() == fds0);
	pt_set_flag(&s->stage_b, 3);
	sdrv_xport_close(x);
}

/* Every way to write through a read-only page's descriptor must fail. */
static void attack_ro_fd(int fd, uint32_t page)
{
	char path[64];
	unsigned char *p;
	int rw;

	errno = 0;
	CHECK(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	CHECK(write(fd, "x", 1) < 0);
	CHECK(pwrite(fd, "x", 1, 0) < 0);
	CHECK(ftruncate(fd, 0) < 0);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE) < 0);
	CHECK(fcntl(fd, F_GET_SEALS) & F_SEAL_FUTURE_WRITE);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK(p[5] == pattern(page, 5));
	CHECK(mprotect(p, PAGE, PROT_READ | PROT_WRITE) < 0);
	munmap(p, PAGE);
	/* Reopen through /proc: as root this gives a read-write descriptor,
	 * which must be just as useless. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rw = open(path, O_RDWR | O_CLOEXEC);
	if (rw >= 0) {
		CHECK(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0) == MAP_FAILED);
		CHECK(write(rw, "x", 1) < 0);
		CHECK(pwrite(rw, "x", 1, 0) < 0);
		CHECK(fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE) < 0);
		/* Its seals are final: nothing can be added or removed. */
		CHECK(fcntl(rw, F_GET_SEALS) & F_SEAL_SEAL);
		CHECK(fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE) < 0);
		p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, rw, 0);
		CHECK(p != MAP_FAILED);
		CHECK(mprotect(p, PAGE, PROT_READ | PROT_WRITE) < 0);
		munmap(p, PAGE);
		close(rw);
	}
	/* A private copy may be written, but that is not the page. */
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED) {
		p[5] = 0;
		munmap(p, PAGE);
	}
}

static void raw_r(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_pm_hello hello = {
	    .version = SDRV_PM_VERSION, .domid = SDRV_DOMID_ANY, .grant_pages = 4};
	struct sdrv_pm_hello_rep hr;
	struct sdrv_pm_map_setup ms;
	unsigned char rep[SDRV_PM_MAX_PAYLOAD], data[PAGE];
	ino_t own[2], held[16], got_ino[8];
	int sock = raw_connect(e), fds[SDRV_PM_MAX_FDS], own_fds[2], n;
	int32_t st[4];
	unsigned nfds;
	size_t rlen;
	uint32_t seq = 1, refs[4];
	sdrv_domid_t a;

	own_fds[0] = sealed(PAGE, &own[0]);
	own_fds[1] = sealed(4 * PAGE, &own[1]);
	CHECK(raw_call(sock, SDRV_PM_HELLO, seq++, &hello, sizeof(hello), own_fds, 2, rep, &rlen,
		       NULL, NULL) == 0);
	memcpy(&hr, rep, sizeof(hr));
	s->r_domid = hr.domid;
	pt_set_flag(&s->stage_r, 1);
	pt_wait_flag(&s->stage_a, 2, "A shared");
	a = (sdrv_domid_t)s->a_domid;

	/* No table, no pool: the broker refuses to hand them out. */
	ms = (struct sdrv_pm_map_setup){.granter = a};
	CHECK(raw_call(sock, SDRV_PM_MAP_SETUP, seq++, &ms, sizeof(ms), NULL, 0, NULL, NULL, fds,
		       &nfds) == -EOPNOTSUPP &&
	      nfds == 0);
	/* Not ours: nothing pinned, no descriptor at all. */
	refs[0] = s->r_ro[0];
	refs[1] = s->rw[0]; /* B's */
	refs[2] = s->c_ref;
	CHECK(raw_map(sock, seq++, a, refs, 3, false, st, fds, &nfds) == 0);
	CHECK(nfds == 0 && st[0] == 0 && st[1] == -EPERM && st[2] == -EPERM);
	/* Read-only grant asked writable. */
	CHECK(raw_map(sock, seq++, a, &s->r_ro[0], 1, true, st, fds, &nfds) == 0);
	CHECK(nfds == 0 && st[0] == -EPERM);

	/* Our read-only pages: two descriptors, both useless for writing. */
	CHECK(raw_map(sock, seq++, a, s->r_ro, 2, false, st, fds, &nfds) == 0);
	CHECK(nfds == 2 && st[0] == 0 && st[1] == 0);
	CHECK((fcntl(fds[0], F_GETFL) & O_ACCMODE) == O_RDONLY);
	attack_ro_fd(fds[0], 20);
	attack_ro_fd(fds[1], 21);
	{
		struct stat sb;

		CHECK(fstat(fds[0], &sb) == 0);
		got_ino[0] = sb.st_ino;
		CHECK(fstat(fds[1], &sb) == 0);
		got_ino[1] = sb.st_ino;
	}
	/* A writable page: its descriptor works. */
	CHECK(raw_map(sock, seq++, a, &s->r_rw[0], 1, true, st, fds + 2, &nfds) == 0);
	CHECK(nfds == 1 && st[0] == 0);
	CHECK(pwrite(fds[2], "\x77", 1, 0) == 1);
	{
		struct stat sb;

		CHECK(fstat(fds[2], &sb) == 0);
		got_ino[2] = sb.st_ino;
	}
	/* Every memfd held: our own two and the three we were given. */
	n = memfd_inodes(held, 16);
	CHECK(n == 5);
	for (int i = 0; i < n; i++) {
		bool known = held[i] == own[0] || held[i] == own[1];

		for (int j = 0; j < 3; j++)
			known = known || held[i] == got_ino[j];
		CHECK(known);
	}
	/* Copy through the broker: bounds and direction. */
	CHECK(raw_copy(sock, seq++, a, s->r_ro[1], 0, 16, false, data) == 0);
	CHECK(data[3] == pattern(21, 3));
	CHECK(raw_copy(sock, seq++, a, s->r_ro[1], 0, 16, true, data) == -EPERM);
	CHECK(raw_copy(sock, seq++, a, s->r_rw[1], 4000, 200, false, data) == -EINVAL);
	CHECK(raw_copy(sock, seq++, a, s->r_rw[1], 4095, 2, true, data) == -EINVAL);
	CHECK(raw_copy(sock, seq++, a, s->c_ref, 0, 4, false, data) == -EPERM);
	CHECK(raw_copy(sock, seq++, a, 100000, 0, 4, false, data) == -EINVAL);
	CHECK(raw_copy(sock, seq++, a, s->r_rw[1], 4094, 2, true, data) == 0);
	/* Unpin what is not pinned: refused; then what is. */
	{
		struct sdrv_pm_map m = {.granter = a, .count = 2};
		unsigned char buf[64];

		memcpy(buf, &m, sizeof(m));
		refs[0] = s->r_ro[0];
		refs[1] = s->r_rw[1];
		memcpy(buf + sizeof(m), refs, 8);
		CHECK(raw_call(sock, SDRV_PM_UNMAP, seq++, buf, 16, NULL, 0, NULL, NULL, NULL,
			       NULL) == -EINVAL);
		memcpy(buf + sizeof(m), s->r_ro, 8);
		CHECK(raw_call(sock, SDRV_PM_UNMAP, seq++, buf, 16, NULL, 0, NULL, NULL, NULL,
			       NULL) == 0);
		m.flags = SDRV_PM_MAP_WRITABLE;
		m.count = 1;
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), s->r_rw, 4);
		CHECK(raw_call(sock, SDRV_PM_UNMAP, seq++, buf, 12, NULL, 0, NULL, NULL, NULL,
			       NULL) == 0);
	}
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	close(own_fds[0]);
	close(own_fds[1]);
	pt_set_flag(&s->stage_r, 2);
	pt_wait_flag(&s->stage_a, 4, "A done");
	close(sock);
}

static void phase1(void)
{
	struct pt_env e;
	struct shm *s = tu_shared_mem(4096);
	pid_t pids[4];

	pt_start(&e, NULL, 0);
	pids[0] = pt_fork(granter_a, &e, s, "posix-isolate A");
	pids[1] = pt_fork(mapper_b, &e, s, "posix-isolate B");
	pids[2] = pt_fork(domain_c, &e, s, "posix-isolate C");
	pids[3] = pt_fork(raw_r, &e, s, "posix-isolate R");
	CHECK(pt_serve_until_done(&e, pids, 4) == 0);
	pt_serve_for(&e, 20);
	CHECK(sdrv_broker_nr_domains(e.b) == 0);
	pt_stop(&e);
	tu_shared_free(s, 4096);
	printf("ok: share/map/ro descriptor/not granted/copy/end\n");
}

/* ------------------------------- phase 2 -------------------------------- */

static bool wait_died(struct sdrv_xport *x, sdrv_domid_t domid)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 300ull : 10ull) * 1000000000ull;

	for (;;) {
		struct pollfd pfd = {.fd = sdrv_xport_fd(x), .events = POLLIN};
		struct sdrv_xport_event ev[4];
		int n = sdrv_xport_process(x, ev, 4);

		CHECK(n >= 0);
		for (int i = 0; i < n; i++)
			if (ev[i].type == SDRV_XPORT_EV_PEER_DIED && ev[i].domid == domid)
				return true;
		CHECK(tu_now_ns() < end);
		(void)poll(&pfd, 1, 200);
	}
}

static void granter_a2(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, SDRV_XPORT_ISOLATE, SDRV_DOMID_ANY, 16);
	unsigned char *pb, *pc;
	int fds0;

	CHECK(x != NULL);
	fds0 = pt_count_fds();
	s->a_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_a, 1);
	pt_wait_flag(&s->stage_b, 1, "B domid");
	pt_wait_flag(&s->stage_c, 1, "C domid");
	CHECK((pb = sdrv_gnt_share(x, (sdrv_domid_t)s->b_domid, 2, true, s->rw)) != NULL);
	CHECK(sdrv_gnt_share(x, (sdrv_domid_t)s->b_domid, 2, false, s->ro) != NULL);
	CHECK((pc = sdrv_gnt_share(x, (sdrv_domid_t)s->c_domid, 1, false, &s->c_ref)) != NULL);
	pt_set_flag(&s->stage_a, 2);
	pt_wait_flag(&s->stage_b, 2, "B mapped");
	pt_wait_flag(&s->stage_c, 2, "C mapped");
	CHECK(sdrv_gnt_end(x, s->rw[0]) == -EBUSY);
	CHECK(sdrv_gnt_end(x, s->ro[1]) == -EBUSY);
	pt_set_flag(&s->stage_a, 3); /* the parent kills B */
	CHECK(wait_died(x, (sdrv_domid_t)s->b_domid));
	/* Exactly B's pins are gone; C's stays. */
	for (int i = 0; i < 2; i++) {
		CHECK(sdrv_gnt_end(x, s->rw[i]) == 0);
		CHECK(sdrv_gnt_end(x, s->ro[i]) == 0);
	}
	CHECK(sdrv_gnt_end(x, s->c_ref) == -EBUSY);
	CHECK(pb[0] == 0xB1);
	CHECK(sdrv_gnt_unshare(x, pb, 4) == 0);
	pt_set_flag(&s->stage_a, 4);
	pt_wait_flag(&s->stage_c, 3, "C unmapped");
	CHECK(sdrv_gnt_end(x, s->c_ref) == 0);
	CHECK(sdrv_gnt_unshare(x, pc, 1) == 0);
	CHECK(pt_count_fds() == fds0);
	sdrv_xport_close(x);
}

static void mapper_b2(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);
	unsigned char *m;
	int st[2];

	CHECK(x != NULL);
	s->b_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_b, 1);
	pt_wait_flag(&s->stage_a, 2, "A shared");
	CHECK((m = sdrv_gnt_map(x, (sdrv_domid_t)s->a_domid, 2, s->rw, true, st)) != NULL);
	m[0] = 0xB1;
	CHECK(sdrv_gnt_map(x, (sdrv_domid_t)s->a_domid, 2, s->ro, false, st) != NULL);
	CHECK(sdrv_gnt_map(x, (sdrv_domid_t)s->a_domid, 2, s->ro, false, st) != NULL);
	pt_set_flag(&s->stage_b, 2);
	for (;;)
		pause();
}

static void mapper_c2(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);
	unsigned char *m;
	int st[1];

	CHECK(x != NULL);
	s->c_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_c, 1);
	pt_wait_flag(&s->stage_a, 2, "A shared");
	CHECK((m = sdrv_gnt_map(x, (sdrv_domid_t)s->a_domid, 1, &s->c_ref, false, st)) != NULL);
	pt_set_flag(&s->stage_c, 2);
	pt_wait_flag(&s->stage_a, 4, "A checked");
	CHECK(sdrv_gnt_unmap(x, m, 1) == 0);
	pt_set_flag(&s->stage_c, 3);
	sdrv_xport_close(x);
}

static void phase2(void)
{
	struct pt_env e;
	struct shm *s = tu_shared_mem(4096);
	pid_t pids[2], pb;
	uint64_t end;
	int st, broker_fds;

	pt_start(&e, NULL, 0);
	broker_fds = pt_count_fds();
	pids[0] = pt_fork(granter_a2, &e, s, "posix-isolate A2");
	pb = pt_fork(mapper_b2, &e, s, "posix-isolate B2");
	pids[1] = pt_fork(mapper_c2, &e, s, "posix-isolate C2");
	end = tu_now_ns() + (tu_under_valgrind() ? 600ull : 30ull) * 1000000000ull;
	while (__atomic_load_n(&s->stage_a, __ATOMIC_ACQUIRE) < 3) {
		CHECK(sdrv_broker_run(e.b, 10) == 0);
		CHECK(tu_now_ns() < end);
	}
	CHECK(kill(pb, SIGKILL) == 0);
	CHECK(waitpid(pb, &st, 0) == pb && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(pt_serve_until_done(&e, pids, 2) == 0);
	pt_serve_for(&e, 20);
	CHECK(sdrv_broker_nr_domains(e.b) == 0);
	CHECK(pt_count_fds() == broker_fds);
	pt_stop(&e);
	tu_shared_free(s, 4096);
	printf("ok: SIGKILLed mapper: exactly its pins released, no descriptor leak\n");
}

/* ------------------------------- phase 3 -------------------------------- */

static void spin_wait(volatile uint32_t *flag, uint32_t v)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 600ull : 60ull) * 1000000000ull;

	for (unsigned k = 0; __atomic_load_n(flag, __ATOMIC_ACQUIRE) < v; k++) {
		if (k > 100)
			usleep(50);
		else
			sched_yield();
		CHECK(tu_now_ns() < end);
	}
}

static uint64_t nr_cycles(void)
{
	return tu_scaled(10000, 200);
}

static void granter_a3(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, SDRV_XPORT_ISOLATE, SDRV_DOMID_ANY, 8);
	int fds0 = -1;

	CHECK(x != NULL);
	s->a_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_a, 1);
	pt_wait_flag(&s->stage_b, 1, "B domid");
	for (uint32_t i = 1; i <= nr_cycles(); i++) {
		bool w = i & 1;
		unsigned char *p = sdrv_gnt_share(x, (sdrv_domid_t)s->b_domid, 2, w, s->rw);

		CHECK(p != NULL);
		p[0] = (unsigned char)i;
		pt_set_flag(&s->cycle, i);
		spin_wait(&s->ack, i);
		if (w)
			CHECK(p[1] == (unsigned char)~i);
		CHECK(sdrv_gnt_end(x, s->rw[0]) == 0 && sdrv_gnt_end(x, s->rw[1]) == 0);
		CHECK(sdrv_gnt_unshare(x, p, 2) == 0);
		if (i == 10)
			fds0 = pt_count_fds();
	}
	CHECK(pt_count_fds() == fds0);
	sdrv_xport_close(x);
}

static void mapper_b3(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);
	int fds0 = -1, st[2];

	CHECK(x != NULL);
	s->b_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_b, 1);
	for (uint32_t i = 1; i <= nr_cycles(); i++) {
		bool w = i & 1;
		unsigned char *m;

		spin_wait(&s->cycle, i);
		m = sdrv_gnt_map(x, (sdrv_domid_t)s->a_domid, 2, s->rw, w, st);
		CHECK(m != NULL);
		CHECK(m[0] == (unsigned char)i);
		if (w)
			m[1] = (unsigned char)~i;
		CHECK(sdrv_gnt_unmap(x, m, 2) == 0);
		if (i == 10)
			fds0 = pt_count_fds();
		pt_set_flag(&s->ack, i);
	}
	CHECK(pt_count_fds() == fds0);
	sdrv_xport_close(x);
}

static void phase3(void)
{
	struct pt_env e;
	struct shm *s = tu_shared_mem(4096);
	pid_t pids[2];
	int broker_fds;
	uint64_t t0 = tu_now_ns();

	pt_start(&e, NULL, 0);
	broker_fds = pt_count_fds();
	pids[0] = pt_fork(granter_a3, &e, s, "posix-isolate A3");
	pids[1] = pt_fork(mapper_b3, &e, s, "posix-isolate B3");
	CHECK(pt_serve_until_done(&e, pids, 2) == 0);
	pt_serve_for(&e, 20);
	CHECK(sdrv_broker_nr_domains(e.b) == 0);
	CHECK(pt_count_fds() == broker_fds);
	pt_stop(&e);
	tu_shared_free(s, 4096);
	printf("ok: %llu share/map/unmap/end cycles in %llu ms, no descriptor growth\n",
	       (unsigned long long)nr_cycles(), (unsigned long long)((tu_now_ns() - t0) / 1000000));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(120, "posix-isolate");
	phase1();
	phase2();
	phase3();
	printf("PASS: posix-isolate\n");
	return TU_PASS;
}
