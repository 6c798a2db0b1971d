/* sbom_go.c — Go executables: the build information the Go linker writes
 * (the main module and every dependency, with versions), found in a
 * stream of the file's bytes.
 *
 * Go 1.18 and later write, 16-byte aligned in the data segment, a 32-byte
 * header: the 14-byte magic "\xff Go buildinf:", the pointer size, and
 * flags, of which 2 means the two strings (the Go version, then the module
 * information) follow the header inline, each as a uvarint length and its
 * bytes.  The module information is framed by 16 bytes at each end and
 * holds tab-separated lines: "path", "mod PATH VERSION SUM", "dep PATH
 * VERSION SUM", "=> PATH VERSION SUM" (a replacement of the line before),
 * "build ...".  Older executables (Go 1.17 and before) have pointers to
 * the strings instead, which mean nothing without the segment layout: the
 * finder skips them, as it would any header it cannot read.
 *
 * A tar is read once, front to back, so the finder cannot seek: it keeps a
 * window of the stream from the next aligned candidate on.  A candidate
 * whose header is not sound (a copy of the magic in read-only data, say)
 * is passed over and the search goes on 16 bytes later, so every byte is
 * looked at a bounded number of times and memory stays under the window's
 * limit.  For a file on disk, sbom_elf_go_section finds the section from
 * the ELF section headers, so only it is read. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/sbom_private.h"

#define MAGIC "\xff Go buildinf:"
#define MAGIC_LEN 14
#define HEADER_LEN 32
#define ALIGN 16
#define FLAG_INLINE 2u
#define VERSION_LEN_MAX 1024
#define MODINFO_LEN_MAX (1u << 20)
#define FRAME_LEN 16
#define UVARINT_LEN_MAX 10
/* A candidate with both strings at their longest fits. */
#define WINDOW_MAX (HEADER_LEN + 2 * UVARINT_LEN_MAX + VERSION_LEN_MAX + MODINFO_LEN_MAX)
/* Bytes appended to the window at a time. */
#define FEED_STEP (64u << 10)

enum verdict
{
  BAD = 0,
  MORE, /* cannot tell yet */
  GOOD,
};

void
sbom_go_init (struct sbom_go *g)
{
  memset (g, 0, sizeof *g);
  hoist_buf_init (&g->win, WINDOW_MAX);
}

void
sbom_go_reset (struct sbom_go *g, uint64_t start, bool check_elf)
{
  free (g->version);
  free (g->modinfo);
  g->version = g->modinfo = NULL;
  hoist_buf_reset (&g->win);
  g->base = start;
  g->pos = (size_t) ((ALIGN - start % ALIGN) % ALIGN);
  g->fed = 0;
  g->check_elf = check_elf;
  g->state = SBOM_GO_SEARCHING;
}

void
sbom_go_release (struct sbom_go *g)
{
  free (g->version);
  free (g->modinfo);
  hoist_buf_release (&g->win);
  memset (g, 0, sizeof *g);
}

/* A uvarint at P (AVAIL bytes): its length, or 0 when more bytes are
 * needed (*BAD false) or it is longer than any length here (*BAD true). */
static size_t
uvarint (const unsigned char *p, size_t avail, uint64_t *v, bool *bad)
{
  *v = 0;
  *bad = false;
  for (size_t i = 0; i < UVARINT_LEN_MAX; i++)
    {
      if (i == avail)
        return 0;
      if (i == 4 && p[i] != 0)
        break; /* past 2^28: longer than any string taken */
      *v |= (uint64_t) (p[i] & 0x7f) << (7 * i);
      if ((p[i] & 0x80) == 0)
        return i + 1;
    }
  *bad = true;
  return 0;
}

/* One length-prefixed string at *OFF of the candidate H (AVAIL bytes),
 * no longer than MAX. */
static enum verdict
inline_string (const unsigned char *h, size_t avail, size_t *off, size_t max, size_t *s_off, size_t *s_len)
{
  uint64_t len;
  bool bad;
  size_t w = uvarint (h + *off, avail - *off, &len, &bad);

  if (w == 0)
    return bad ? BAD : MORE;
  if (len > max)
    return BAD;
  *s_off = *off + w;
  *s_len = (size_t) len;
  if (avail - *s_off < len)
    return MORE;
  *off = *s_off + (size_t) len;
  return GOOD;
}

static bool
printable (const unsigned char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] >= 0x7f)
      return false;
  return true;
}

/* Read the candidate at H (AVAIL bytes, starting with the magic). */
static enum verdict
decode (struct sbom_go *g, const unsigned char *h, size_t avail)
{
  size_t off = HEADER_LEN, v_off, v_len, m_off, m_len;
  enum verdict r;

  if (avail < HEADER_LEN)
    return MORE;
  if ((h[14] != 4 && h[14] != 8) || (h[15] & ~3u) != 0 || (h[15] & FLAG_INLINE) == 0)
    return BAD;
  r = inline_string (h, avail, &off, VERSION_LEN_MAX, &v_off, &v_len);
  if (r != GOOD)
    return r;
  /* "go1.22.1", "devel go1.23-abc...": anything else is not a version. */
  if (v_len < 3 || !printable (h + v_off, v_len)
      || (memcmp (h + v_off, "go", 2) != 0 && (v_len < 5 || memcmp (h + v_off, "devel", 5) != 0)))
    return BAD;
  r = inline_string (h, avail, &off, MODINFO_LEN_MAX, &m_off, &m_len);
  if (r != GOOD)
    return r;
  g->version = hoist_xstrndup ((const char *) h + v_off, v_len);
  /* Framed: 16 bytes, the lines, "\n", 16 bytes.  Unframed or empty
   * (built outside a module): no modules. */
  if (m_len >= 2 * FRAME_LEN + 1 && h[m_off + m_len - FRAME_LEN - 1] == '\n')
    g->modinfo = hoist_xstrndup ((const char *) h + m_off + FRAME_LEN, m_len - 2 * FRAME_LEN);
  else
    g->modinfo = hoist_xstrdup ("");
  return GOOD;
}

/* Look at the candidates in the window from POS on. */
static void
search (struct sbom_go *g)
{
  const unsigned char *w = (const unsigned char *) g->win.data;

  if (g->check_elf && g->base == 0 && g->win.len >= 4)
    {
      g->check_elf = false;
      if (memcmp (w, "\177ELF", 4) != 0)
        {
          g->state = SBOM_GO_NONE;
          return;
        }
    }
  while (g->win.len - g->pos >= ALIGN)
    {
      if (w[g->pos] == 0xff && memcmp (w + g->pos, MAGIC, MAGIC_LEN) == 0)
        {
          enum verdict r = decode (g, w + g->pos, g->win.len - g->pos);

          if (r == MORE)
            return;
          if (r == GOOD)
            {
              g->state = SBOM_GO_FOUND;
              return;
            }
        }
      g->pos += ALIGN;
    }
}

/* Drop the window's bytes before POS (a multiple of 16 from an aligned
 * base, or less than 16 at the start: alignment is kept either way). */
static void
compact (struct sbom_go *g)
{
  size_t keep;

  if (g->pos == 0)
    return;
  if (g->pos >= g->win.len)
    {
      /* The next candidate is past what was fed: it starts the window. */
      size_t skip = g->pos - g->win.len;

      g->base += g->win.len;
      hoist_buf_reset (&g->win);
      g->pos = skip;
      return;
    }
  keep = g->win.len - g->pos;
  memmove (g->win.data, g->win.data + g->pos, keep);
  g->win.len = keep;
  g->win.data[keep] = '\0';
  g->base += g->pos;
  g->pos = 0;
}

bool
sbom_go_feed (struct sbom_go *g, const void *data, size_t n)
{
  const char *p = data;

  while (n > 0 && g->state == SBOM_GO_SEARCHING)
    {
      size_t room, step;

      compact (g);
      /* Bytes before the first aligned position (a section that does not
       * start aligned) are not looked at. */
      if (g->pos > 0 && g->win.len == 0 && !g->check_elf)
        {
          step = g->pos < n ? g->pos : n;
          g->pos -= step;
          g->base += step;
          g->fed += step;
          p += step;
          n -= step;
          continue;
        }
      room = WINDOW_MAX - g->win.len;
      if (room == 0)
        {
          /* Cannot happen: a candidate decides within WINDOW_MAX bytes. */
          g->pos += ALIGN;
          continue;
        }
      step = n < FEED_STEP ? n : FEED_STEP;
      step = step < room ? step : room;
      if (hoist_buf_add (&g->win, p, step, NULL) < 0)
        abort ();
      p += step;
      n -= step;
      g->fed += step;
      search (g);
      if (g->state == SBOM_GO_SEARCHING && g->fed >= SBOM_GO_SCAN_MAX)
        g->state = SBOM_GO_NONE;
    }
  return g->state != SBOM_GO_SEARCHING;
}

/* ---- Module lines -------------------------------------------------------------- */

/* The tab-separated fields of LINE (N bytes), at most MAX of them. */
static size_t
split_tabs (const char *line, size_t n, const char **f, size_t *len, size_t max)
{
  size_t count = 0;
  const char *p = line, *end = line + n;

  while (count < max)
    {
      const char *tab = memchr (p, '\t', (size_t) (end - p));

      f[count] = p;
      len[count] = (size_t) ((tab != NULL ? tab : end) - p);
      count++;
      if (tab == NULL)
        break;
      p = tab + 1;
    }
  return count;
}

static bool
add_module (struct sbom_pkgs *out, const char *path, size_t path_len, const char *version, size_t version_len)
{
  char *v = version_len > 0 ? sbom_field (version, version_len, SBOM_VERSION_MAX) : hoist_xstrdup ("(devel)");

  return sbom_pkgs_add (out, SBOM_GOLANG, sbom_field (path, path_len, SBOM_NAME_MAX), v, NULL, NULL, NULL);
}

/* "=> PATH VERSION SUM" replaces LAST, the module of the line before.  A
 * local directory ("=> ../x (devel)") keeps the module's path: the code
 * was built from that directory, at no version. */
static void
replace (struct sbom_pkg *last, const char **f, const size_t *len, size_t nf)
{
  char *path, *version;

  if (len[1] == 0 || f[1][0] == '.' || f[1][0] == '/' || nf < 3 || len[2] == 0)
    {
      free (last->version);
      last->version = hoist_xstrdup ("(devel)");
      return;
    }
  path = sbom_field (f[1], len[1], SBOM_NAME_MAX);
  version = sbom_field (f[2], len[2], SBOM_VERSION_MAX);
  if (path == NULL || version == NULL)
    {
      free (path);
      free (version);
      return;
    }
  free (last->name);
  free (last->version);
  last->name = path;
  last->version = version;
}

void
sbom_go_packages (const struct sbom_go *g, struct sbom_pkgs *out)
{
  const char *p = g->modinfo, *end;
  bool added = false; /* the line before added a module */

  if (g->state != SBOM_GO_FOUND || p == NULL)
    return;
  end = p + strlen (p);
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p)), *f[4];
      size_t n = (size_t) ((nl != NULL ? nl : end) - p), len[4];
      size_t nf = split_tabs (p, n, f, len, 4);

      if (nf >= 2 && len[0] == 3 && (memcmp (f[0], "mod", 3) == 0 || memcmp (f[0], "dep", 3) == 0))
        added = add_module (out, f[1], len[1], nf >= 3 ? f[2] : "", nf >= 3 ? len[2] : 0);
      else
        {
          if (added && nf >= 2 && len[0] == 2 && memcmp (f[0], "=>", 2) == 0)
            replace (&out->v[out->n - 1], f, len, nf);
          added = false;
        }
      p = nl != NULL ? nl + 1 : end;
    }
}

void
sbom_parse_go (const char *data, size_t n, struct sbom_pkgs *out)
{
  struct sbom_go g;

  sbom_go_init (&g);
  sbom_go_reset (&g, 0, true);
  (void) sbom_go_feed (&g, data, n);
  sbom_go_packages (&g, out);
  sbom_go_release (&g);
}

/* ---- ELF section headers ---------------------------------------------------- */

#define SHT_NOBITS_ 8u
#define SECTION_TABLE_MAX (4u << 20)
#define SECTION_NAMES_MAX (1u << 20)

static bool
read_at (int fd, void *buf, size_t n, uint64_t off)
{
  for (size_t done = 0; done < n;)
    {
      ssize_t r = pread (fd, (char *) buf + done, n - done, (off_t) (off + done));

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return false;
      done += (size_t) r;
    }
  return true;
}

/* An N-byte integer at P, big-endian when BE. */
static uint64_t
get (const unsigned char *p, size_t n, bool be)
{
  uint64_t v = 0;

  for (size_t i = 0; i < n; i++)
    v |= (uint64_t) p[be ? i : n - 1 - i] << (8 * (n - 1 - i));
  return v;
}

struct elf
{
  bool wide, be; /* ELFCLASS64, ELFDATA2MSB */
  uint64_t shoff, shentsize, shnum, shstrndx;
};

/* 1: E is the header of a file with a usable section table; 0: not ELF;
 * -1: ELF, but no usable table. */
static int
elf_header (int fd, uint64_t size, struct elf *e)
{
  unsigned char h[64];

  if (size < sizeof h || !read_at (fd, h, sizeof h, 0) || memcmp (h, "\177ELF", 4) != 0)
    return 0;
  if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2))
    return -1;
  e->wide = h[4] == 2;
  e->be = h[5] == 2;
  e->shoff = e->wide ? get (h + 0x28, 8, e->be) : get (h + 0x20, 4, e->be);
  e->shentsize = get (h + (e->wide ? 0x3a : 0x2e), 2, e->be);
  e->shnum = get (h + (e->wide ? 0x3c : 0x30), 2, e->be);
  e->shstrndx = get (h + (e->wide ? 0x3e : 0x32), 2, e->be);
  /* No table, extended numbering (shnum 0), or one out of the file. */
  return e->shoff != 0 && e->shnum != 0 && e->shentsize == (e->wide ? 64u : 40u) && e->shstrndx < e->shnum
                 && e->shoff <= size && e->shnum * e->shentsize <= size - e->shoff
             ? 1
             : -1;
}

/* Section I of the table T: its name offset, type, file offset, size. */
static void
section (const struct elf *e, const unsigned char *t, uint64_t i, uint64_t *name, uint64_t *type, uint64_t *off,
         uint64_t *len)
{
  const unsigned char *s = t + i * e->shentsize;

  *name = get (s, 4, e->be);
  *type = get (s + 4, 4, e->be);
  *off = e->wide ? get (s + 0x18, 8, e->be) : get (s + 0x10, 4, e->be);
  *len = e->wide ? get (s + 0x20, 8, e->be) : get (s + 0x14, 4, e->be);
}

static bool
name_is (const char *names, uint64_t n, uint64_t at, const char *want)
{
  size_t len = strlen (want);

  return at < n && n - at > len && memcmp (names + at, want, len + 1) == 0;
}

int
sbom_elf_go_section (int fd, uint64_t size, uint64_t *off, uint64_t *len)
{
  cleanup_free unsigned char *table = NULL;
  cleanup_free char *names = NULL;
  uint64_t name, type, names_off, names_len;
  struct elf e;
  bool go = false;
  int r = elf_header (fd, size, &e);

  if (r <= 0)
    return r;
  if (e.shnum * e.shentsize > SECTION_TABLE_MAX)
    return -1;
  table = hoist_xmalloc (e.shnum * e.shentsize);
  if (!read_at (fd, table, e.shnum * e.shentsize, e.shoff))
    return -1;
  section (&e, table, e.shstrndx, &name, &type, &names_off, &names_len);
  if (names_len == 0 || names_len > SECTION_NAMES_MAX || names_off > size || names_len > size - names_off)
    return -1;
  names = hoist_xmalloc (names_len);
  if (!read_at (fd, names, names_len, names_off))
    return -1;
  for (uint64_t i = 0; i < e.shnum; i++)
    {
      section (&e, table, i, &name, &type, off, len);
      if (name_is (names, names_len, name, ".go.buildinfo") && type != SHT_NOBITS_ && *off <= size
          && *len <= size - *off)
        return 1;
      go = go || name_is (names, names_len, name, ".gopclntab") || name_is (names, names_len, name, ".note.go.buildid");
    }
  /* A Go executable whose build information is not in a section of its
   * own: search it all. */
  return go ? -1 : 0;
}
