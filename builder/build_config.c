/* build_config.c — the metadata instructions: what each does to the image
 * config, and the history line it leaves, worded as BuildKit's Dockerfile
 * frontend words it (fmt.Sprintf with Go's %q and %v), so `docker
 * history` reads a hoist image as it reads a BuildKit one:
 *   ENV a=1 b=2          LABEL k=v              ARG NAME=value
 *   CMD ["/bin/sh" "-c" "run"]                  ENTRYPOINT ["app"]
 *   EXPOSE map[80/tcp:{}]   VOLUME [/data]      SHELL [/bin/bash -c]
 *   USER app   STOPSIGNAL SIGTERM   MAINTAINER me
 *   HEALTHCHECK &{["CMD-SHELL" "check"] "30s" "0s" "0s" "0s" '\x03'}
 * ONBUILD is stored in the config and leaves no history line (BuildKit's
 * dispatchOnbuild commits nothing). */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"

#define PORT_MAX 65535
/* One EXPOSE range may name at most this many ports. */
#define PORT_RANGE_MAX 10000


/* ---- Unlimited buffers ------------------------------------------------------------ */

/* Allocation fails only by abort, so appending to a buffer without a
 * limit cannot fail: these say so once instead of at every call. */
void
build_buf_add (struct hoist_buf *b, const void *p, size_t n)
{
  if (hoist_buf_add (b, p, n, NULL) < 0)
    abort ();
}

void
build_buf_addstr (struct hoist_buf *b, const char *s)
{
  build_buf_add (b, s, strlen (s));
}

void
build_buf_addch (struct hoist_buf *b, char c)
{
  build_buf_add (b, &c, 1);
}

void
build_buf_addf (struct hoist_buf *b, const char *fmt, ...)
{
  cleanup_free char *s = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  build_buf_addstr (b, s);
}

/* ---- Go's formatting ----------------------------------------------------------- */

void
build_go_quote (struct hoist_buf *b, const char *s)
{
  /* strconv.Quote: printable UTF-8 kept, the rest escaped. */
  build_buf_addch (b, '"');
  for (size_t i = 0; s[i] != '\0';)
    {
      unsigned char c = (unsigned char) s[i];
      uint32_t cp;
      size_t n;

      switch (c)
        {
        case '\a': build_buf_addstr (b, "\\a"); i++; continue;
        case '\b': build_buf_addstr (b, "\\b"); i++; continue;
        case '\f': build_buf_addstr (b, "\\f"); i++; continue;
        case '\n': build_buf_addstr (b, "\\n"); i++; continue;
        case '\r': build_buf_addstr (b, "\\r"); i++; continue;
        case '\t': build_buf_addstr (b, "\\t"); i++; continue;
        case '\v': build_buf_addstr (b, "\\v"); i++; continue;
        case '"': build_buf_addstr (b, "\\\""); i++; continue;
        case '\\': build_buf_addstr (b, "\\\\"); i++; continue;
        default: break;
        }
      if (c >= 0x20 && c < 0x7f)
        {
          build_buf_addch (b, (char) c);
          i++;
          continue;
        }
      n = hoist_utf8_decode (s + i, strnlen (s + i, 4), &cp);
      if (c < 0x80 || n == 0)
        {
          build_buf_addf (b, "\\x%02x", c);
          i++;
        }
      else if (cp < 0xa0)
        {
          build_buf_addf (b, "\\u%04x", (unsigned) cp);
          i += n;
        }
      else
        {
          build_buf_add (b, s + i, n);
          i += n;
        }
    }
  build_buf_addch (b, '"');
}

/* Go's %q of a []string: ["a" "b"]. */
static void
go_quote_strv (struct hoist_buf *b, char *const *v)
{
  build_buf_addch (b, '[');
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    {
      if (i > 0)
        build_buf_addch (b, ' ');
      build_go_quote (b, v[i]);
    }
  build_buf_addch (b, ']');
}

/* Go's %v of a []string: [a b]. */
static void
go_strv (struct hoist_buf *b, char *const *v)
{
  build_buf_addch (b, '[');
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    {
      if (i > 0)
        build_buf_addch (b, ' ');
      build_buf_addstr (b, v[i]);
    }
  build_buf_addch (b, ']');
}

/* Go's fmtFrac: the PREC digits of V below the point, trailing zeros
 * dropped, written backwards ending at *W. */
static uint64_t
go_frac (char *buf, int *w, uint64_t v, int prec)
{
  bool print = false;

  for (int i = 0; i < prec; i++)
    {
      int digit = (int) (v % 10);
      print = print || digit != 0;
      if (print)
        buf[--*w] = (char) ('0' + digit);
      v /= 10;
    }
  if (print)
    buf[--*w] = '.';
  return v;
}

static void
go_int (char *buf, int *w, uint64_t v)
{
  if (v == 0)
    buf[--*w] = '0';
  for (; v > 0; v /= 10)
    buf[--*w] = (char) ('0' + v % 10);
}

/* time.Duration.String: "0s", "1.5s", "1m30s", "1h0m0s", "500ms". */
static void
go_duration (struct hoist_buf *b, long long d)
{
  char buf[40];
  int w = (int) sizeof buf;
  uint64_t u = d < 0 ? -(uint64_t) d : (uint64_t) d;

  buf[--w] = 's';
  if (u < 1000000000ull)
    {
      int prec = 0;
      if (u == 0)
        {
          build_buf_addstr (b, "0s");
          return;
        }
      if (u < 1000ull)
        buf[--w] = 'n';
      else if (u < 1000000ull)
        {
          prec = 3;
          buf[--w] = (char) 0xb5; /* U+00B5, the micro sign */
          buf[--w] = (char) 0xc2;
        }
      else
        {
          prec = 6;
          buf[--w] = 'm';
        }
      u = go_frac (buf, &w, u, prec);
      go_int (buf, &w, u);
    }
  else
    {
      u = go_frac (buf, &w, u, 9);
      go_int (buf, &w, u % 60);
      u /= 60;
      if (u > 0)
        {
          buf[--w] = 'm';
          go_int (buf, &w, u % 60);
          u /= 60;
          if (u > 0)
            {
              buf[--w] = 'h';
              go_int (buf, &w, u);
            }
        }
    }
  if (d < 0)
    buf[--w] = '-';
  build_buf_add (b, buf + w, sizeof buf - (size_t) w);
}

/* strconv.QuoteRune of a small int, as %q prints Retries. */
static void
go_quote_rune (struct hoist_buf *b, int r)
{
  static const char esc[] = "abtnvfr"; /* for 7..13 */

  if (r >= 7 && r <= 13)
    build_buf_addf (b, "'\\%c'", esc[r - 7]);
  else if (r == '\'' || r == '\\')
    build_buf_addf (b, "'\\%c'", r);
  else if (r >= 0x20 && r < 0x7f)
    build_buf_addf (b, "'%c'", r);
  else if (r >= 0 && r < 0x80)
    build_buf_addf (b, "'\\x%02x'", (unsigned) r);
  else
    build_buf_addf (b, "'\\u%04x'", (unsigned) r);
}

/* ---- Instructions ------------------------------------------------------------------ */

/* "K=V" into its key and value (the key borrowed up to '='). */
static void
split_kv (const char *kv, char **key, const char **value)
{
  const char *eq = strchr (kv, '=');

  *key = eq != NULL ? hoist_xstrndup (kv, (size_t) (eq - kv)) : hoist_xstrdup (kv);
  *value = eq != NULL ? eq + 1 : "";
}

/* KEYWORD then each argument after a space: ENV, LABEL, ARG. */
static char *
joined (const char *keyword, char *const *args)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, keyword);
  for (size_t i = 0; args != NULL && args[i] != NULL; i++)
    build_buf_addf (&b, " %s", args[i]);
  return hoist_buf_detach (&b, NULL);
}

/* The command of CMD, ENTRYPOINT: the exec form as is, the shell form
 * behind the image's SHELL (default /bin/sh -c). */
static char **
command_of (const struct builder_image_config *cfg, const struct builder_instruction *in)
{
  char **v = NULL;

  if (in->exec_form)
    {
      for (size_t i = 0; i < in->n_args; i++)
        hoist_strv_push (&v, in->args[i]);
      if (v == NULL)
        v = hoist_xcalloc (1, sizeof (char *)); /* [] stays an empty array */
      return v;
    }
  if (cfg->config.shell != NULL)
    for (size_t i = 0; cfg->config.shell[i] != NULL; i++)
      hoist_strv_push (&v, cfg->config.shell[i]);
  else
    {
      hoist_strv_push (&v, "/bin/sh");
      hoist_strv_push (&v, "-c");
    }
  hoist_strv_push (&v, in->n_args > 0 ? in->args[0] : "");
  return v;
}

static char *
go_call (const char *keyword, char *const *v, bool quote)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addf (&b, "%s ", keyword);
  if (quote)
    go_quote_strv (&b, v);
  else
    go_strv (&b, v);
  return hoist_buf_detach (&b, NULL);
}

static bool
parse_port_num (const char *s, size_t len, long *out)
{
  long v = 0;

  if (len == 0 || len > 5)
    return false;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return false;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return v <= PORT_MAX;
}

/* nat.ParsePortSpecs as EXPOSE uses it: [[ip:]host:]port[-end][/proto]. */
static int
expose_one (char ***ports, const char *spec, struct hoist_error **err)
{
  const char *slash = strrchr (spec, '/');
  const char *colon;
  cleanup_free char *proto = hoist_xstrdup (slash != NULL ? slash + 1 : "tcp");
  size_t end = slash != NULL ? (size_t) (slash - spec) : strlen (spec);
  cleanup_free char *port = hoist_xstrndup (spec, end);
  const char *dash;
  long lo, hi;

  for (char *p = proto; *p != '\0'; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char) (*p - 'A' + 'a');
  if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
    return hoist_error_set_status (err, EINVAL, "EXPOSE: invalid proto '%s'", proto);
  colon = strrchr (port, ':');
  if (colon != NULL)
    memmove (port, colon + 1, strlen (colon + 1) + 1);
  dash = strchr (port, '-');
  if (!parse_port_num (port, dash != NULL ? (size_t) (dash - port) : strlen (port), &lo)
      || (dash != NULL && !parse_port_num (dash + 1, strlen (dash + 1), &hi)))
    return hoist_error_set_status (err, EINVAL, "EXPOSE: invalid port '%s'", spec);
  if (dash == NULL)
    hi = lo;
  if (hi < lo || hi - lo >= PORT_RANGE_MAX)
    return hoist_error_set_status (err, EINVAL, "EXPOSE: invalid port range '%s'", spec);
  for (long p = lo; p <= hi; p++)
    {
      char buf[32];
      snprintf (buf, sizeof buf, "%ld/%s", p, proto);
      hoist_strv_push (ports, buf);
    }
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
apply_expose (struct build_stage *s, const struct builder_instruction *in, char **created_by, struct hoist_error **err)
{
  cleanup_strv char **ports = NULL;
  struct hoist_buf b;
  size_t n;

  for (size_t i = 0; i < in->n_args; i++)
    if (expose_one (&ports, in->args[i], err) < 0)
      return -1;
  n = hoist_strv_len (ports);
  if (n > 0)
    qsort (ports, n, sizeof (char *), cmp_str);
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, "EXPOSE map[");
  for (size_t i = 0; i < n; i++)
    {
      if (i > 0 && strcmp (ports[i], ports[i - 1]) == 0)
        continue;
      builder_image_config_add_port (s->cfg, ports[i]);
      build_buf_addf (&b, "%s%s:{}", i > 0 ? " " : "", ports[i]);
    }
  build_buf_addch (&b, ']');
  *created_by = hoist_buf_detach (&b, NULL);
  return 0;
}

static void
apply_healthcheck (struct build_stage *s, const struct builder_instruction *in, char **created_by)
{
  struct builder_image_healthcheck *h = hoist_xcalloc (1, sizeof (*h));
  struct hoist_buf b;

  for (size_t i = 0; i < in->n_args; i++)
    hoist_strv_push (&h->test, in->args[i]);
  if (in->n_args > 0 && strcmp (in->args[0], "NONE") != 0)
    {
      h->interval = in->health.interval;
      h->timeout = in->health.timeout;
      h->start_period = in->health.start_period;
      h->start_interval = in->health.start_interval;
      h->retries = in->health.retries;
    }
  if (s->cfg->config.healthcheck != NULL)
    {
      hoist_strv_free (s->cfg->config.healthcheck->test);
      free (s->cfg->config.healthcheck);
    }
  s->cfg->config.healthcheck = h;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, "HEALTHCHECK &{");
  go_quote_strv (&b, h->test);
  for (int i = 0; i < 4; i++)
    {
      int64_t d = i == 0 ? h->interval : i == 1 ? h->timeout : i == 2 ? h->start_period : h->start_interval;
      build_buf_addstr (&b, " \"");
      go_duration (&b, d);
      build_buf_addch (&b, '"');
    }
  build_buf_addch (&b, ' ');
  go_quote_rune (&b, h->retries);
  build_buf_addch (&b, '}');
  *created_by = hoist_buf_detach (&b, NULL);
}

static void
apply_env (struct build_stage *s, const struct builder_instruction *in, char **created_by)
{
  for (size_t i = 0; i < in->n_args; i++)
    {
      char *key;
      const char *value;
      split_kv (in->args[i], &key, &value);
      builder_image_config_set_env (s->cfg, key, value);
      free (key);
    }
  *created_by = joined ("ENV", in->args);
}

static void
apply_label (struct build_stage *s, const struct builder_instruction *in, char **created_by)
{
  for (size_t i = 0; i < in->n_args; i++)
    {
      char *key;
      const char *value;
      split_kv (in->args[i], &key, &value);
      builder_map_set (&s->cfg->config.labels, key, value);
      free (key);
    }
  *created_by = joined ("LABEL", in->args);
}

static int
apply_volume (struct build_stage *s, const struct builder_instruction *in, char **created_by, struct hoist_error **err)
{
  for (size_t i = 0; i < in->n_args; i++)
    {
      if (in->args[i][0] == '\0')
        return hoist_error_set_status (err, EINVAL, "VOLUME specified can not be an empty string");
      builder_image_config_add_volume (s->cfg, in->args[i]);
    }
  *created_by = go_call ("VOLUME", in->args, false);
  return 0;
}

static void
apply_command (struct build_stage *s, const struct builder_instruction *in, char **created_by)
{
  char **cmd = command_of (s->cfg, in);

  if (in->keyword == BUILDER_KW_CMD)
    {
      hoist_strv_free (s->cfg->config.cmd);
      s->cfg->config.cmd = cmd;
      s->cmd_set = true;
      *created_by = go_call ("CMD", cmd, true);
      return;
    }
  hoist_strv_free (s->cfg->config.entrypoint);
  s->cfg->config.entrypoint = cmd;
  /* Docker's rule: a new ENTRYPOINT drops the CMD of the base image, but
   * not one set earlier in this stage. */
  if (!s->cmd_set)
    {
      hoist_strv_free (s->cfg->config.cmd);
      s->cfg->config.cmd = NULL;
    }
  *created_by = go_call ("ENTRYPOINT", cmd, true);
}

static void
set_string (char **field, const char *value)
{
  free (*field);
  *field = hoist_xstrdup (value);
}

int
build_config_apply (struct build *b, struct build_stage *s, const struct builder_instruction *in, char **created_by,
                    struct hoist_error **err)
{
  const char *arg0 = in->n_args > 0 ? in->args[0] : "";

  (void) b;
  *created_by = NULL;
  switch (in->keyword)
    {
    case BUILDER_KW_ENV:
      apply_env (s, in, created_by);
      return 0;
    case BUILDER_KW_LABEL:
      apply_label (s, in, created_by);
      return 0;
    case BUILDER_KW_ARG:
      for (size_t i = 0; i < in->n_args; i++)
        hoist_strv_push (&s->args, in->args[i]);
      *created_by = joined ("ARG", in->args);
      return 0;
    case BUILDER_KW_USER:
      set_string (&s->cfg->config.user, arg0);
      *created_by = hoist_xasprintf ("USER %s", arg0);
      return 0;
    case BUILDER_KW_EXPOSE:
      return apply_expose (s, in, created_by, err);
    case BUILDER_KW_VOLUME:
      return apply_volume (s, in, created_by, err);
    case BUILDER_KW_CMD:
    case BUILDER_KW_ENTRYPOINT:
      apply_command (s, in, created_by);
      return 0;
    case BUILDER_KW_STOPSIGNAL:
      set_string (&s->cfg->config.stop_signal, arg0);
      *created_by = hoist_xasprintf ("STOPSIGNAL %s", arg0);
      return 0;
    case BUILDER_KW_HEALTHCHECK:
      apply_healthcheck (s, in, created_by);
      return 0;
    case BUILDER_KW_SHELL:
      builder_strv_replace (&s->cfg->config.shell, in->args);
      *created_by = go_call ("SHELL", in->args, false);
      return 0;
    case BUILDER_KW_ONBUILD:
      hoist_strv_push (&s->cfg->config.on_build, in->onbuild != NULL ? in->onbuild : arg0);
      return 0;
    case BUILDER_KW_MAINTAINER:
      {
        cleanup_free char *who = joined ("", in->args);
        set_string (&s->cfg->author, who + (who[0] == ' ' ? 1 : 0));
        *created_by = hoist_xasprintf ("MAINTAINER %s", s->cfg->author);
        return 0;
      }
    default:
      return hoist_error_set_status (err, EINVAL, "%s is not a metadata instruction",
                                     builder_keyword_name (in->keyword));
    }
}

void
build_key_add_insn (struct build_key *k, const struct builder_instruction *in)
{
  build_key_add (k, "keyword", builder_keyword_name (in->keyword));
  build_key_add_int (k, "exec", in->exec_form);
  for (size_t i = 0; i < in->n_args; i++)
    build_key_add (k, "arg", in->args[i]);
  for (size_t i = 0; i < in->n_flags; i++)
    {
      build_key_add (k, "flag", in->flags[i].name);
      build_key_add (k, "value", in->flags[i].value);
    }
  for (size_t i = 0; i < in->n_heredocs; i++)
    {
      build_key_add (k, "heredoc", in->heredocs[i].name);
      build_key_add (k, "body", in->heredocs[i].body);
      build_key_add_int (k, "expand", in->heredocs[i].expand);
      build_key_add_int (k, "chomp", in->heredocs[i].chomp);
    }
  if (in->onbuild != NULL)
    build_key_add (k, "onbuild", in->onbuild);
  if (in->keyword == BUILDER_KW_HEALTHCHECK)
    {
      build_key_add_int (k, "interval", in->health.interval);
      build_key_add_int (k, "timeout", in->health.timeout);
      build_key_add_int (k, "start-period", in->health.start_period);
      build_key_add_int (k, "start-interval", in->health.start_interval);
      build_key_add_int (k, "retries", in->health.retries);
    }
}
