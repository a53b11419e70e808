/* SPDX-License-Identifier: MIT */
/*
 * Backtraces of a crashed plugin, host-side. Init read the faulting
 * thread's registers and the top of its stack at the fault (CRASH,
 * runner/init.c); here they become frames named from the plugin's own
 * ELF symbols (.symtab if present, else .dynsym), read from the file the
 * user named.
 *
 * Everything here is hostile input and only ever labels text:
 *  - the registers and stack words are the plugin's own state at the
 *    fault, which it controls: they pick which addresses are shown and
 *    nothing else, and every frame walk is bounded (PH_BT_FRAMES_MAX,
 *    words inside the captured stack only);
 *  - the ELF file is read with pread() (never mapped: a file truncated
 *    under us must not SIGBUS the host) and every offset, size and count
 *    is checked against the file's size and a cap before it is used;
 *  - where the plugin was loaded comes from the kernel, not from the
 *    plugin: the host reads /proc/PID/maps once, right after LOADED, and
 *    keeps the plugin file's mappings (by device and inode) and a few
 *    other executable ones (libc, the loader) to name regions by.
 * The reader is self-contained: it needs only what a backtrace needs.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"
#include "strbuf.h"

#define PH_BT_FRAMES_MAX 16
#define BT_TEXT_MAX	 4096
#define MAPS_LINES_MAX	 8192
#define SHNUM_MAX	 4096
#define PHNUM_MAX	 256
#define SYMS_MAX	 (1u << 22) /* symbols looked at in one table */
#define SYM_NAME_MAX	 128
#define SYM_CHUNK	 256 /* symbols read per pread */

struct ph__region {
	uint64_t start, end;
	char name[48];
};

struct ph__load_map {
	uint64_t base; /* the start of the plugin file's mapping at offset 0 */
	unsigned int n_text;
	struct ph__region text[8]; /* the plugin's executable mappings */
	unsigned int n_other;
	struct ph__region other[16]; /* other executable mappings, by file name */
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Keep at most sizeof(dst) - 1 printable bytes of src. */
static void clean_name(char *dst, size_t dst_len, const char *src)
{
	ph__clean_copy(dst, dst_len, src, strnlen(src, dst_len - 1));
}

/* The plugin file's mappings, found one way. */
struct found {
	uint64_t base;
	unsigned int n_text;
	struct ph__region text[8];
};

static void found_add(struct found *f, uint64_t start, uint64_t end, uint64_t off, int exec)
{
	if (off == 0 && start < f->base)
		f->base = start;
	if (exec && f->n_text < ELEMENTSOF(f->text))
		f->text[f->n_text++] = (struct ph__region){start, end, ""};
}

/*
 * The plugin's mappings are those of its file: the very inode the host
 * opened when the runner loads it by fd, else (with a mount namespace the
 * runner loads a copy at /plugin/NAME, NAME the file's own name) the file
 * of that name. Other executable mappings (the loader, libc, the vDSO)
 * are kept by name, to label addresses in them.
 */
void ph__symbols_note_load(struct ph_plugin *p)
{
	struct found by_ino = {.base = UINT64_MAX}, by_name = {.base = UINT64_MAX};
	const char *want = base_name(p->path);
	struct ph__load_map *m;
	struct stat st;
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int lines = 0;

	free(p->load_map);
	p->load_map = NULL;
	if (p->plugin_pid <= 0 || stat(p->path, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->plugin_pid);
	f = fopen(path, "re");
	if (!f)
		return;
	m = calloc(1, sizeof(*m));
	if (!m) {
		fclose(f);
		return;
	}
	while (lines++ < MAPS_LINES_MAX && getline(&line, &cap, f) > 0) {
		unsigned long long start, end, off, ino;
		unsigned int maj, mn;
		char perms[5];
		int pos = 0, exec;
		const char *name;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &maj, &mn, &ino, &pos) != 7 ||
		    end <= start || pos <= 0)
			continue;
		name = line + pos;
		exec = strchr(perms, 'x') != NULL;
		if (ino == st.st_ino && makedev(maj, mn) == st.st_dev)
			found_add(&by_ino, start, end, off, exec);
		else if (*name == '/' && strcmp(base_name(name), want) == 0)
			found_add(&by_name, start, end, off, exec);
		else if (exec && *name && m->n_other < ELEMENTSOF(m->other)) {
			struct ph__region *r = &m->other[m->n_other++];

			r->start = start;
			r->end = end;
			clean_name(r->name, sizeof(r->name), base_name(name));
		}
	}
	free(line);
	fclose(f);
	{
		const struct found *use = by_ino.base != UINT64_MAX ? &by_ino : &by_name;

		/* Never found: name nothing as the plugin's. */
		if (use->base != UINT64_MAX) {
			m->base = use->base;
			m->n_text = use->n_text;
			memcpy(m->text, use->text, sizeof(m->text));
		}
	}
	p->load_map = m;
}

void ph__symbols_send_mem(struct ph_plugin *p)
{
	const struct ph_msg_mem mem = {0};
	char path[64];
	int fd;

	/* Only an init (or a zygote) on the other end reads it. The kernel
	 * checks our right to the plugin's memory here, at open; init, which
	 * holds no capability over the non-dumpable plugin, could not. */
	if (p->sup < 0 || p->plugin_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)p->plugin_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* then the backtrace has no stack: rip alone */
	ph__msg_send(p->sup, PH_MSG_MEM, 0, &mem, sizeof(mem), &fd, 1);
	close(fd);
}

/* ------------------------------------------------------------ the ELF */

/* pread exactly n bytes at off, inside a file of size bytes. */
static int read_at(int fd, uint64_t size, uint64_t off, void *buf, size_t n)
{
	ssize_t got;

	if (off > size || n > size - off)
		return -1;
	do
		got = pread(fd, buf, n, (off_t)off);
	while (got < 0 && errno == EINTR);
	return got == (ssize_t)n ? 0 : -1;
}

struct sym_hit {
	uint64_t value, size;
	uint32_t name; /* offset in the string table */
	int found, sized;
};

/*
 * Find, for each of n offsets from the plugin's load base (rel[], n at
 * most PH_BT_FRAMES_MAX), the function symbol that holds it (or, failing
 * that, the nearest one below it with no size), in the plugin's .symtab,
 * or .dynsym without one. Fills names[i] (empty when none) and offs[i]
 * (the address's offset in it). *ret_vaddr0 is the
 * first PT_LOAD's page-aligned p_vaddr: the address the mapping at file
 * offset 0 stands for. Returns 0, or -1 when the file is no ELF this
 * reader trusts (then nothing is named).
 */
static int elf_lookup(const char *file, uint64_t *ret_vaddr0, const uint64_t *rel, size_t n,
		      char names[][SYM_NAME_MAX], uint64_t *offs)
{
	struct sym_hit hit[PH_BT_FRAMES_MAX] = {{0}};
	uint64_t q[PH_BT_FRAMES_MAX];
	Elf64_Shdr *sh = NULL;
	Elf64_Ehdr eh;
	struct stat st;
	int fd, r = -1, tab = -1;

	for (size_t i = 0; i < n; i++)
		names[i][0] = '\0';
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    read_at(fd, (uint64_t)st.st_size, 0, &eh, sizeof(eh)) < 0)
		goto out;
	const uint64_t size = (uint64_t)st.st_size;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_shnum == 0 || eh.e_shnum > SHNUM_MAX || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > PHNUM_MAX)
		goto out;

	/* The address file offset 0 is loaded at. */
	*ret_vaddr0 = 0;
	if (eh.e_phoff > size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
		goto out;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (read_at(fd, size, eh.e_phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph)) < 0)
			goto out;
		if (ph.p_type == PT_LOAD) {
			*ret_vaddr0 = (ph.p_vaddr - ph.p_offset) & ~(uint64_t)0xfff;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		q[i] = rel[i] + *ret_vaddr0;

	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh || eh.e_shoff > size ||
	    read_at(fd, size, eh.e_shoff, sh, (size_t)eh.e_shnum * sizeof(*sh)) < 0)
		goto out;
	for (unsigned int i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && tab < 0))
			tab = (int)i;
	if (tab < 0)
		goto out;
	const Elf64_Shdr *syms = &sh[tab];
	if (syms->sh_entsize != sizeof(Elf64_Sym) || syms->sh_link >= eh.e_shnum ||
	    sh[syms->sh_link].sh_type != SHT_STRTAB || syms->sh_offset > size ||
	    syms->sh_size > size - syms->sh_offset)
		goto out;
	const Elf64_Shdr *strs = &sh[syms->sh_link];
	if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
		goto out;
	uint64_t count = syms->sh_size / sizeof(Elf64_Sym);
	if (count > SYMS_MAX)
		count = SYMS_MAX;

	for (uint64_t k = 0; k < count; k += SYM_CHUNK) {
		Elf64_Sym chunk[SYM_CHUNK];
		const size_t m = count - k < SYM_CHUNK ? (size_t)(count - k) : SYM_CHUNK;

		if (read_at(fd, size, syms->sh_offset + k * sizeof(Elf64_Sym), chunk,
			    m * sizeof(Elf64_Sym)) < 0)
			goto out;
		for (size_t j = 0; j < m; j++) {
			const Elf64_Sym *s = &chunk[j];
			const int type = ELF64_ST_TYPE(s->st_info);

			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    s->st_shndx == SHN_UNDEF || s->st_value == 0 ||
			    s->st_name >= strs->sh_size)
				continue;
			for (size_t i = 0; i < n; i++) {
				struct sym_hit *h = &hit[i];
				const uint64_t a = q[i];

				if (a < s->st_value)
					continue;
				if (s->st_size && a - s->st_value < s->st_size) {
					if (!h->sized || s->st_value > h->value)
						*h = (struct sym_hit){s->st_value, s->st_size,
								      s->st_name, 1, 1};
				} else if (!s->st_size && !h->sized &&
					   (!h->found || s->st_value > h->value))
					*h = (struct sym_hit){s->st_value, 0, s->st_name, 1, 0};
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		char raw[SYM_NAME_MAX];
		uint64_t left;
		size_t len;

		if (!hit[i].found)
			continue;
		left = strs->sh_size - hit[i].name;
		len = left < sizeof(raw) - 1 ? (size_t)left : sizeof(raw) - 1;
		if (read_at(fd, size, strs->sh_offset + hit[i].name, raw, len) < 0)
			continue;
		raw[len] = '\0';
		if (!raw[0])
			continue;
		clean_name(names[i], SYM_NAME_MAX, raw);
		offs[i] = q[i] - hit[i].value;
	}
	r = 0;
out:
	free(sh);
	close(fd);
	return r;
}

/* ---------------------------------------------------------- the frames */

static int in_plugin_text(const struct ph__load_map *m, uint64_t a)
{
	for (unsigned int i = 0; m && i < m->n_text; i++)
		if (a >= m->text[i].start && a < m->text[i].end)
			return 1;
	return 0;
}

static const struct ph__region *other_region(const struct ph__load_map *m, uint64_t a)
{
	for (unsigned int i = 0; m && i < m->n_other; i++)
		if (a >= m->other[i].start && a < m->other[i].end)
			return &m->other[i];
	return NULL;
}

struct frame {
	uint64_t pc;
	enum { FRAME_CHAIN, FRAME_AT_RSP, FRAME_SCAN } how;
};

static int have_frame(const struct frame *f, size_t n, uint64_t pc)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].pc == pc)
			return 1;
	return 0;
}

/*
 * The frames: #0 from rip; then the word at rsp if it points into code
 * (a function that made no frame of its own, such as a leaf built with
 * GCC's default -momit-leaf-frame-pointer, returns there); then the rbp
 * chain while it looks like one (each frame inside the captured stack,
 * word-aligned, above the last); then every stack word that points into
 * the plugin's text, as candidates. At most PH_BT_FRAMES_MAX in all.
 */
static size_t collect_frames(const struct ph__load_map *m, const struct ph_msg_crash *c,
			     const uint64_t *stack, size_t words, struct frame *f)
{
	const uint64_t rsp = c->regs[1], lo = rsp, hi = rsp + words * 8;
	uint64_t fp = c->regs[2];
	size_t n = 0;

	f[n++] = (struct frame){c->regs[0], FRAME_CHAIN};
	if (words && (in_plugin_text(m, stack[0]) || other_region(m, stack[0])) &&
	    stack[0] != c->regs[0])
		f[n++] = (struct frame){stack[0], FRAME_AT_RSP};
	while (n < PH_BT_FRAMES_MAX && words && hi > lo && fp >= lo && fp % 8 == 0 &&
	       fp <= hi - 16) {
		const size_t i = (size_t)((fp - lo) / 8);
		const uint64_t next = stack[i], ret = stack[i + 1];

		if (ret == 0)
			break;
		if (!have_frame(f, n, ret))
			f[n++] = (struct frame){ret, FRAME_CHAIN};
		if (next <= fp)
			break;
		fp = next;
	}
	for (size_t i = 0; i < words && n < PH_BT_FRAMES_MAX; i++)
		if (in_plugin_text(m, stack[i]) && !have_frame(f, n, stack[i]))
			f[n++] = (struct frame){stack[i], FRAME_SCAN};
	return n;
}

void ph__symbols_backtrace(struct ph_plugin *p, const struct ph_msg_crash *c,
			   const uint8_t *stack_bytes)
{
	const struct ph__load_map *m = p->load_map;
	const size_t words = c->stack_len / 8;
	uint64_t stack[PH_CRASH_STACK_MAX / 8];
	struct frame f[PH_BT_FRAMES_MAX];
	uint64_t rel[PH_BT_FRAMES_MAX], offs[PH_BT_FRAMES_MAX] = {0}, vaddr0 = 0;
	char names[PH_BT_FRAMES_MAX][SYM_NAME_MAX];
	const char *file = base_name(p->path);
	const char *sig = sigabbrev_np(c->signo);
	struct ph_strbuf sb;
	size_t n, n_plugin = 0;
	char *text;

	free(p->backtrace);
	p->backtrace = NULL;
	memcpy(stack, stack_bytes, words * 8);
	n = collect_frames(m, c, stack, words, f);

	/* The plugin's own frames, as addresses of its ELF file. A return
	 * address is one past its call: look up the byte before it. */
	for (size_t i = 0; i < n; i++)
		if (in_plugin_text(m, f[i].pc))
			rel[n_plugin++] = f[i].pc - (i > 0) - m->base;
	if (n_plugin && elf_lookup(p->path, &vaddr0, rel, n_plugin, names, offs) < 0)
		for (size_t i = 0; i < n_plugin; i++)
			names[i][0] = '\0';

	text = malloc(BT_TEXT_MAX);
	if (!text)
		return;
	ph__strbuf_init(&sb, text, BT_TEXT_MAX);
	ph__strbuf_printf(&sb,
			  "backtrace of thread %d (SIG%s), from the plugin's own registers and "
			  "stack:\n",
			  (int)c->tid, sig ? sig : "?");
	for (size_t i = 0, k = 0; i < n; i++) {
		const uint64_t pc = f[i].pc;
		const struct ph__region *r;

		ph__strbuf_printf(&sb, "#%-2zu 0x%016" PRIx64 "  ", i, pc);
		if (in_plugin_text(m, pc)) {
			const uint64_t at = pc - m->base + vaddr0;

			if (names[k][0])
				ph__strbuf_printf(&sb, "%s+0x%" PRIx64 " ", names[k],
						  offs[k] + (i > 0));
			else
				ph__strbuf_printf(&sb, "?? ");
			ph__strbuf_printf(&sb, "(%s+0x%" PRIx64 ")", file, at);
			k++;
		} else if ((r = other_region(m, pc)))
			ph__strbuf_printf(&sb, "?? (%s)", r->name);
		else
			ph__strbuf_printf(&sb, "??");
		ph__strbuf_printf(&sb, "%s\n",
				  f[i].how == FRAME_SCAN     ? " (stack scan)"
				  : f[i].how == FRAME_AT_RSP ? " (return address at rsp)"
							     : "");
	}
	if (!words)
		ph__strbuf_printf(&sb, "   (the stack at rsp 0x%" PRIx64 " could not be read)\n",
				  c->regs[1]);
	ph__strbuf_printf(&sb,
			  "   rip 0x%" PRIx64 " rsp 0x%" PRIx64 " rbp 0x%" PRIx64 " rax 0x%" PRIx64
			  " rdi 0x%" PRIx64 " rsi 0x%" PRIx64 "\n",
			  c->regs[0], c->regs[1], c->regs[2], c->regs[3], c->regs[8], c->regs[7]);
	p->backtrace = text;
}

void ph__symbols_free(struct ph_plugin *p)
{
	free(p->load_map);
	p->load_map = NULL;
	free(p->backtrace);
	p->backtrace = NULL;
}

PH_EXPORT const char *ph_plugin_backtrace(const struct ph_plugin *p)
{
	return p ? p->backtrace : NULL;
}
