/* plan_values.c — checks of instruction values that are known only after
 * variable substitution: RUN --mount fields, platforms, STOPSIGNAL and
 * EXPOSE.  BuildKit checks these when it dispatches a stage, so the plan
 * does too, and only for the stages it keeps. */
#define BUILDER_INTERNAL
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "builder/dockerfile_private.h"

/* ---------------------------------------------------------------------
 * Numbers as Go's strconv parses them
 * ------------------------------------------------------------------- */

/* ParseUint(S, BASE, 32): digits of BASE only, no sign, no prefix. */
static bool
parse_u32 (const char *s, int base, long long *out)
{
  unsigned long long v = 0;

  if (*s == '\0')
    return false;
  for (; *s; s++)
    {
      int d = *s - '0';
      if (*s < '0' || d >= base)
        return false;
      v = v * (unsigned) base + (unsigned) d;
      if (v > 0xFFFFFFFFull)
        return false;
    }
  *out = (long long) v;
  return true;
}

static bool
parse_bool (const char *s, bool *out)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

  for (size_t i = 0; i < 6; i++)
    {
      if (strcmp (s, yes[i]) == 0)
        return (*out = true);
      if (strcmp (s, no[i]) == 0)
        return !(*out = false);
    }
  return false;
}

/* go-units RAMInBytes: a number, an optional space, then b or k/m/g/t/p
 * optionally followed by b or ib, binary multiples. */
static bool
parse_ram (const char *s, long long *out)
{
  static const char prefixes[] = "kmgtp";
  const char *sep = NULL, *sfx;
  cleanup_free char *num = NULL;
  char *end;
  double v;
  size_t sl;

  for (const char *p = s; *p; p++)
    if (strchr ("0123456789. ", *p) != NULL)
      sep = p;
  if (sep == NULL)
    return false;
  num = hoist_xstrndup (s, (size_t) (sep - s) + (*sep != ' '));
  sfx = sep + 1;
  if (num[0] == '\0' || num[0] == ' ' || num[0] == '\t')
    return false;
  errno = 0;
  v = strtod (num, &end);
  if (*end != '\0' || v < 0 || isnan (v))
    return false;
  sl = strlen (sfx);
  if (sl > 3)
    return false;
  if (sl > 0 && (sfx[0] | 0x20) == 'b')
    {
      if (sl > 1)
        return false;
    }
  else if (sl > 0)
    {
      const char *m = strchr (prefixes, sfx[0] | 0x20);
      if (m == NULL || (sfx[0] | 0x20) == '\0')
        return false;
      v *= ldexp (1.0, 10 * (int) (m - prefixes + 1));
      if ((sl == 2 && (sfx[1] | 0x20) != 'b') || (sl == 3 && ((sfx[1] | 0x20) != 'i' || (sfx[2] | 0x20) != 'b')))
        return false;
    }
  *out = v >= 9.2e18 ? LLONG_MAX : (long long) v;
  return true;
}

/* ---------------------------------------------------------------------
 * RUN --mount
 * ------------------------------------------------------------------- */

static const char *const mount_type_names[] = { "bind", "cache", "tmpfs", "secret", "ssh" };

char *
builder_heredoc_chomp (const char *body)
{
  char *out = hoist_xmalloc (strlen (body) + 1), *o = out;
  bool line_start = true;

  for (const char *p = body; *p != '\0'; p++)
    {
      if (line_start && *p == '\t')
        continue;
      *o++ = *p;
      line_start = *p == '\n';
    }
  *o = '\0';
  return out;
}

const char *
builder_mount_type_name (enum builder_mount_type t)
{
  return (size_t) t < sizeof mount_type_names / sizeof *mount_type_names ? mount_type_names[t] : "unknown";
}

void
df_mount_release (struct builder_mount *m)
{
  free (m->from);
  free (m->source);
  free (m->target);
  free (m->id);
  free (m->env);
  memset (m, 0, sizeof (*m));
}

/* A field without '=': ro, rw, required. */
static int
mount_flag_field (struct builder_mount *m, const char *key, const char *field, bool *ro_auto, struct hoist_error **err)
{
  if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0)
    m->readonly = true;
  else if (strcmp (key, "readwrite") == 0 || strcmp (key, "rw") == 0)
    m->readonly = false;
  else if (strcmp (key, "required") == 0)
    {
      if (m->type != BUILDER_MOUNT_SECRET && m->type != BUILDER_MOUNT_SSH)
        return hoist_error_set (err, 0, "unexpected key 'required' for mount type '%s'", mount_type_names[m->type]);
      m->required = true;
      return 0;
    }
  else
    return hoist_error_set (err, 0, "invalid mount field '%s' (it must be a key=value pair)", field);
  *ro_auto = false;
  return 0;
}

static int
mount_enum (const char *value, const char *const *names, size_t n, int *out)
{
  for (size_t i = 0; i < n; i++)
    if (strcasecmp (value, names[i]) == 0)
      {
        *out = (int) i;
        return 0;
      }
  return -1;
}

static void
set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = hoist_xstrdup (v);
}

/* A key=value field; VALUE is already substituted. */
static int
mount_kv_field (struct builder_mount *m, const char *key, const char *value, const char *field, bool *ro_auto,
                struct hoist_error **err)
{
  static const char *const sharing[] = { "shared", "private", "locked" };
  bool b;
  int e;

  if (strcmp (key, "type") == 0)
    {
      if (mount_enum (value, mount_type_names, 5, &e) < 0)
        return hoist_error_set (err, 0, "unsupported mount type '%s'", value);
      m->type = (enum builder_mount_type) e;
    }
  else if (strcmp (key, "from") == 0)
    set_str (&m->from, value);
  else if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
    set_str (&m->source, value);
  else if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
    set_str (&m->target, value);
  else if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0 || strcmp (key, "readwrite") == 0
           || strcmp (key, "rw") == 0)
    {
      if (!parse_bool (value, &b))
        return hoist_error_set (err, 0, "invalid value '%s' for mount field '%s'", value, key);
      bool ro_key = strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0;
      m->readonly = ro_key ? b : !b;
      *ro_auto = false;
    }
  else if (strcmp (key, "required") == 0)
    {
      if (m->type != BUILDER_MOUNT_SECRET && m->type != BUILDER_MOUNT_SSH)
        return hoist_error_set (err, 0, "unexpected key 'required' for mount type '%s'", mount_type_names[m->type]);
      if (!parse_bool (value, &m->required))
        return hoist_error_set (err, 0, "invalid value '%s' for mount field '%s'", value, key);
    }
  else if (strcmp (key, "size") == 0)
    {
      if (m->type != BUILDER_MOUNT_TMPFS)
        return hoist_error_set (err, 0, "unexpected key 'size' for mount type '%s'", mount_type_names[m->type]);
      if (!parse_ram (value, &m->size))
        return hoist_error_set (err, 0, "invalid value '%s' for mount field 'size'", value);
    }
  else if (strcmp (key, "id") == 0)
    set_str (&m->id, value);
  else if (strcmp (key, "sharing") == 0)
    {
      if (mount_enum (value, sharing, 3, &e) < 0)
        return hoist_error_set (err, 0, "unsupported sharing value '%s'", value);
      m->sharing = (enum builder_mount_sharing) (e + 1);
    }
  else if (strcmp (key, "mode") == 0 || strcmp (key, "uid") == 0 || strcmp (key, "gid") == 0)
    {
      long long *dst = key[0] == 'm' ? &m->mode : key[0] == 'u' ? &m->uid : &m->gid;
      if (!parse_u32 (value, key[0] == 'm' ? 8 : 10, dst))
        return hoist_error_set (err, 0, "invalid value '%s' for mount field '%s'", value, key);
    }
  else if (strcmp (key, "env") == 0)
    set_str (&m->env, value);
  else
    return hoist_error_set (err, 0, "unexpected key '%s' in mount field '%s'", key, field);
  return 0;
}

/* The checks BuildKit makes once every field is read. */
static int
mount_finish (struct builder_mount *m, bool ro_auto, struct hoist_error **err)
{
  const char *t = mount_type_names[m->type];
  bool file_info = m->type == BUILDER_MOUNT_SECRET || m->type == BUILDER_MOUNT_SSH || m->type == BUILDER_MOUNT_CACHE;

  if (!file_info && m->mode >= 0)
    return hoist_error_set (err, 0, "mode is not allowed for '%s' mounts", t);
  if (!file_info && m->uid >= 0)
    return hoist_error_set (err, 0, "uid is not allowed for '%s' mounts", t);
  if (!file_info && m->gid >= 0)
    return hoist_error_set (err, 0, "gid is not allowed for '%s' mounts", t);
  if (ro_auto)
    m->readonly = !(m->type == BUILDER_MOUNT_CACHE || m->type == BUILDER_MOUNT_TMPFS);
  if (m->type == BUILDER_MOUNT_SECRET)
    {
      if (m->from != NULL && m->from[0] != '\0')
        return hoist_error_set (err, 0, "a secret mount can not have from");
      if (m->sharing != BUILDER_SHARING_DEFAULT)
        return hoist_error_set (err, 0, "a secret mount can not have sharing");
      if (!(m->source && *m->source) && !(m->target && *m->target) && !(m->id && *m->id))
        return hoist_error_set (err, 0, "a secret mount needs one of source, target or id");
      if ((m->source && *m->source) && (m->id && *m->id))
        return hoist_error_set (err, 0, "a secret mount can not have both source and id");
    }
  if (m->sharing != BUILDER_SHARING_DEFAULT && m->type != BUILDER_MOUNT_CACHE)
    return hoist_error_set (err, 0, "sharing is only for cache mounts, not '%s'", t);
  return 0;
}

int
df_mount_decode (char *const *fields, struct builder_mount *m, struct hoist_error **err)
{
  bool ro_auto = true;

  memset (m, 0, sizeof (*m));
  m->type = BUILDER_MOUNT_BIND;
  m->from_stage = -1;
  m->mode = m->uid = m->gid = -1;
  for (size_t i = 0; fields[i] != NULL; i++)
    {
      const char *eq = strchr (fields[i], '=');
      cleanup_free char *key = hoist_xstrndup (fields[i], eq != NULL ? (size_t) (eq - fields[i]) : strlen (fields[i]));
      int r;

      for (char *c = key; *c; c++)
        *c = (char) ((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
      r = eq == NULL ? mount_flag_field (m, key, fields[i], &ro_auto, err)
                     : mount_kv_field (m, key, eq + 1, fields[i], &ro_auto, err);
      if (r < 0)
        {
          df_mount_release (m);
          return r;
        }
    }
  if (mount_finish (m, ro_auto, err) < 0)
    {
      df_mount_release (m);
      return -1;
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * Platforms (containerd's platforms.Parse + Normalize)
 * ------------------------------------------------------------------- */

static const char *const known_os[]
    = { "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios",     "js",
        "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "wasip1",  "windows", "zos" };
static const char *const known_arch[]
    = { "386",     "amd64",  "amd64p32", "arm",      "armbe",     "arm64",       "arm64be", "loong64",
        "mips",    "mipsle", "mips64",   "mips64le", "mips64p32", "mips64p32le", "ppc",     "ppc64",
        "ppc64le", "riscv",  "riscv64",  "s390",     "s390x",     "sparc",       "sparc64", "wasm" };

static bool
in_list (const char *s, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (s, list[i]) == 0)
      return true;
  return false;
}

static void
lower (char *s)
{
  for (; *s; s++)
    *s = (char) ((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
}

/* normalizeArch: *ARCH and *VARIANT are owned and may be replaced. */
static void
normalize_arch (char **arch, char **variant)
{
  const char *a = *arch, *v = *variant;
  const char *na = NULL, *nv = NULL;

  if (strcmp (a, "i386") == 0)
    na = "386", nv = "";
  else if (strcmp (a, "x86_64") == 0 || strcmp (a, "x86-64") == 0 || strcmp (a, "amd64") == 0)
    na = "amd64", nv = strcmp (v, "v1") == 0 ? "" : v;
  else if (strcmp (a, "aarch64") == 0 || strcmp (a, "arm64") == 0)
    {
      na = "arm64";
      if (strcmp (v, "8") == 0 || strcmp (v, "v8") == 0)
        nv = "";
    }
  else if (strcmp (a, "armhf") == 0)
    na = "arm", nv = "v7";
  else if (strcmp (a, "armel") == 0)
    na = "arm", nv = "v6";
  else if (strcmp (a, "arm") == 0)
    {
      if (*v == '\0' || strcmp (v, "7") == 0)
        nv = "v7";
      else if (strcmp (v, "5") == 0 || strcmp (v, "6") == 0 || strcmp (v, "8") == 0)
        nv = v[0] == '5' ? "v5" : v[0] == '6' ? "v6" : "v8";
    }
  if (nv != NULL && nv != *variant)
    set_str (variant, nv);
  if (na != NULL)
    set_str (arch, na);
}

/* specifierRe: [A-Za-z0-9_.-]+; the OS part allows no '.' (hoist takes
 * no "(osversion)" suffix, which only Windows uses). */
static bool
valid_specifier (const char *s, size_t n, bool os)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'
          || s[i] == '-' || (s[i] == '.' && !os)))
      return false;
  return true;
}

static char *
platform_format (const char *os, const char *arch, const char *variant)
{
  return *variant != '\0' ? hoist_xasprintf ("%s/%s/%s", os, arch, variant) : hoist_xasprintf ("%s/%s", os, arch);
}

char *
df_platform_host (void)
{
  struct utsname u;
  cleanup_free char *arch = NULL;
  cleanup_free char *variant = hoist_xstrdup ("");

  if (uname (&u) < 0)
    return hoist_xstrdup ("linux/amd64");
  if (strncmp (u.machine, "armv", 4) == 0)
    {
      arch = hoist_xstrdup ("arm");
      set_str (&variant, (char[]){ u.machine[4], '\0' });
    }
  else if (strcmp (u.machine, "i686") == 0 || strcmp (u.machine, "i586") == 0)
    arch = hoist_xstrdup ("386");
  else
    arch = hoist_xstrdup (u.machine);
  lower (arch);
  normalize_arch (&arch, &variant);
  return platform_format ("linux", arch, variant);
}

/* The parts of SPEC, split at '/', checked and lowercased; 0 on error. */
static size_t
platform_split (const char *spec, char *parts[3])
{
  const char *p = spec;
  size_t n = 0;

  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t len = slash != NULL ? (size_t) (slash - p) : strlen (p);
      if (n == 3 || !valid_specifier (p, len, n == 0))
        return 0;
      parts[n] = hoist_xstrndup (p, len);
      lower (parts[n++]);
      if (slash == NULL)
        return n;
      p = slash + 1;
    }
}

static void
parts_free (char *(*parts)[3])
{
  for (size_t i = 0; i < 3; i++)
    free ((*parts)[i]);
}

int
df_platform_normalize (const char *spec, bool target, char **out, struct hoist_error **err)
{
  __attribute__ ((cleanup (parts_free))) char *parts[3] = { NULL, NULL, NULL };
  size_t n = platform_split (spec, parts);

  if (n == 0)
    return hoist_error_set (err, 0, "invalid platform '%s'", spec);
  if (strcmp (parts[0], "macos") == 0)
    set_str (&parts[0], "darwin");
  if (n == 1 && in_list (parts[0], known_os, sizeof known_os / sizeof known_os[0]))
    {
      /* A lone OS takes the host's architecture. */
      cleanup_free char *host = df_platform_host ();
      *out = hoist_xasprintf ("%s%s", parts[0], strchr (host, '/'));
      return 0;
    }
  if (n == 1)
    {
      /* A lone architecture takes the OS hoist runs on. */
      parts[1] = parts[0];
      parts[0] = hoist_xstrdup ("linux");
    }
  if (parts[2] == NULL)
    parts[2] = hoist_xstrdup ("");
  normalize_arch (&parts[1], &parts[2]);
  /* containerd's Parse: arm/v7 is plain arm unless the variant was given;
   * a given arm64 variant that normalizes away is v8. */
  if (n < 3 && strcmp (parts[1], "arm") == 0 && strcmp (parts[2], "v7") == 0)
    set_str (&parts[2], "");
  if (n == 3 && strcmp (parts[1], "arm64") == 0 && parts[2][0] == '\0')
    set_str (&parts[2], "v8");
  if (n == 1 && !in_list (parts[1], known_arch, sizeof known_arch / sizeof known_arch[0]))
    return hoist_error_set (err, 0, "unknown operating system or architecture in platform '%s'", spec);
  /* The target platform is normalized once more, as BuildKit's front end
   * does with the --platform it is given. */
  if (target)
    normalize_arch (&parts[1], &parts[2]);
  *out = platform_format (parts[0], parts[1], parts[2]);
  return 0;
}

/* ---------------------------------------------------------------------
 * STOPSIGNAL and EXPOSE
 * ------------------------------------------------------------------- */

static bool
signal_name (const char *s)
{
  static const char *const names[]
      = { "ABRT", "ALRM",   "BUS",  "CHLD", "CLD",  "CONT",   "FPE",    "HUP",  "ILL",  "INT",   "IO",   "IOT",  "KILL",
          "PIPE", "POLL",   "PROF", "PWR",  "QUIT", "SEGV",   "STKFLT", "STOP", "SYS",  "TERM",  "TRAP", "TSTP", "TTIN",
          "TTOU", "UNUSED", "URG",  "USR1", "USR2", "VTALRM", "WINCH",  "XCPU", "XFSZ", "RTMIN", "RTMAX" };
  long long n;

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (s, names[i]) == 0)
      return true;
  /* RTMIN+1 .. RTMIN+15 and RTMAX-14 .. RTMAX-1 */
  if ((strncmp (s, "RTMIN+", 6) == 0 || strncmp (s, "RTMAX-", 6) == 0) && s[6] != '0' && parse_u32 (s + 6, 10, &n))
    return s[3] == 'I' ? n >= 1 && n <= 15 : n >= 1 && n <= 14;
  return false;
}

int
df_signal_check (const char *sig, struct hoist_error **err)
{
  cleanup_free char *up = hoist_xstrdup (sig);
  const char *name = up;
  const char *digits = (*sig == '+' || *sig == '-') ? sig + 1 : sig;
  char *end;
  long long n;

  if (*digits >= '0' && *digits <= '9')
    {
      errno = 0;
      n = strtoll (sig, &end, 10);
      if (*end == '\0' && errno == 0)
        {
          if (n == 0)
            return hoist_error_set (err, 0, "invalid signal '%s'", sig);
          return 0;
        }
    }
  for (char *c = up; *c; c++)
    *c = (char) ((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
  if (strncmp (name, "SIG", 3) == 0)
    name += 3;
  if (!signal_name (name))
    return hoist_error_set (err, 0, "invalid signal '%s'", sig);
  return 0;
}

/* "N" or "N-M", each 0..65535, M >= N.  *COUNT gets the range length. */
static bool
port_range (const char *s, size_t len, long long *count)
{
  const char *dash = memchr (s, '-', len);
  cleanup_free char *a = hoist_xstrndup (s, dash != NULL ? (size_t) (dash - s) : len);
  cleanup_free char *b = dash != NULL ? hoist_xstrndup (dash + 1, len - (size_t) (dash - s) - 1) : NULL;
  long long lo, hi;

  if (len == 0 || !parse_u32 (a[0] == '+' ? a + 1 : a, 10, &lo) || lo > 65535)
    return false;
  hi = lo;
  if (b != NULL && strcmp (a, b) != 0 && (!parse_u32 (b[0] == '+' ? b + 1 : b, 10, &hi) || hi > 65535 || hi < lo))
    return false;
  *count = hi - lo;
  return true;
}

static bool
valid_ip (const char *ip)
{
  unsigned char buf[16];
  cleanup_free char *bare = NULL;
  size_t n = strlen (ip);

  if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']')
    ip = bare = hoist_xstrndup (ip + 1, n - 2);
  return inet_pton (AF_INET, ip, buf) == 1 || inet_pton (AF_INET6, ip, buf) == 1;
}

int
df_port_check (const char *port, struct hoist_error **err)
{
  const char *last = strrchr (port, ':');
  const char *cport = last != NULL ? last + 1 : port;
  const char *slash = strchr (cport, '/');
  size_t plen = slash != NULL ? (size_t) (slash - cport) : strlen (cport);
  long long ccount, hcount;

  if (plen == 0)
    return hoist_error_set (err, 0, "invalid port '%s': no port given", port);
  if (slash != NULL && slash[1] != '\0' && strcasecmp (slash + 1, "tcp") != 0 && strcasecmp (slash + 1, "udp") != 0
      && strcasecmp (slash + 1, "sctp") != 0)
    return hoist_error_set (err, 0, "invalid port '%s': unknown protocol '%s'", port, slash + 1);
  if (!port_range (cport, plen, &ccount))
    return hoist_error_set (err, 0, "invalid port '%s'", port);
  if (last != NULL)
    {
      const char *host = port;
      const char *prev = last;
      while (prev > port && prev[-1] != ':')
        prev--;
      if (prev > port)
        {
          cleanup_free char *ip = hoist_xstrndup (port, (size_t) (prev - 1 - port));
          if (*ip != '\0' && !valid_ip (ip))
            return hoist_error_set (err, 0, "invalid IP address '%s' in port '%s'", ip, port);
          host = prev;
        }
      if (!port_range (host, (size_t) (last - host), &hcount))
        return hoist_error_set (err, 0, "invalid host port in '%s'", port);
      if (hcount != ccount && ccount != 0)
        return hoist_error_set (err, 0, "port ranges of '%s' differ in length", port);
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * ADD and COPY: --chmod and --checksum
 * ------------------------------------------------------------------- */

/* A symbolic mode as chmod(1) takes it: clauses [ugoa]*([+-=]([rwxXst]*|[ugo]))+
 * separated by commas. */
static bool
symbolic_mode (const char *s)
{
  for (;;)
    {
      while (*s != '\0' && strchr ("ugoa", *s) != NULL)
        s++;
      if (*s == '\0' || strchr ("+-=", *s) == NULL)
        return false;
      while (*s != '\0' && strchr ("+-=", *s) != NULL)
        {
          s++;
          if (*s != '\0' && strchr ("ugo", *s) != NULL)
            s++;
          else
            while (*s != '\0' && strchr ("rwxXst", *s) != NULL)
              s++;
        }
      if (*s == '\0')
        return true;
      if (*s++ != ',')
        return false;
    }
}

int
df_chmod_check (const char *mode, struct hoist_error **err)
{
  long long v;

  if (parse_u32 (mode, 8, &v))
    {
      if (v > 07777)
        return hoist_error_set (err, 0, "invalid --chmod '%s' (an octal mode is at most 07777)", mode);
      return 0;
    }
  if (strpbrk (mode, "0123456789") != NULL || !symbolic_mode (mode))
    return hoist_error_set (err, 0, "invalid --chmod '%s' (it must be an octal or a symbolic mode)", mode);
  return 0;
}

/* ADD --checksum verifies one download: an HTTP(S) URL or a Git source. */
int
df_checksum_check (char *const *sources, size_t n, struct hoist_error **err)
{
  const char *s = sources[0];

  if (n != 1)
    return hoist_error_set (err, 0, "ADD --checksum takes exactly one source, not %zu", n);
  if (strncmp (s, "http://", 7) == 0 || strncmp (s, "https://", 8) == 0 || strncmp (s, "git@", 4) == 0
      || strncmp (s, "git://", 6) == 0 || strncmp (s, "ssh://", 6) == 0 || strncmp (s, "github.com/", 11) == 0)
    return 0;
  return hoist_error_set (err, 0, "ADD --checksum needs an HTTP(S) or Git source, not '%s'", s);
}
