/* dockerfile_insn.c — the instruction layer of the Dockerfile front end:
 * each instruction's flags and argument counts are checked as BuildKit's
 * frontend/dockerfile/instructions package checks them, and the
 * instructions are grouped into global ARGs and stages.  Checks that need
 * variable values (RUN --mount fields, STOPSIGNAL, platforms) wait for the
 * plan, as they do in BuildKit. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile_private.h"

/* ---------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------- */

enum flag_type
{
  FLAG_BOOL,
  FLAG_STRING,
  FLAG_STRINGS, /* may be repeated */
};

struct flag_spec
{
  const char *name;
  enum flag_type type;
};

static const struct flag_spec no_flags[] = { { NULL, 0 } };

static const struct flag_spec add_flags[] = {
  { "chown", FLAG_STRING },  { "chmod", FLAG_STRING },   { "link", FLAG_BOOL },     { "keep-git-dir", FLAG_BOOL },
  { "checksum", FLAG_STRING }, { "unpack", FLAG_BOOL }, { "exclude", FLAG_STRINGS }, { NULL, 0 },
};

static const struct flag_spec copy_flags[] = {
  { "chown", FLAG_STRING }, { "from", FLAG_STRING },     { "chmod", FLAG_STRING },
  { "link", FLAG_BOOL },    { "exclude", FLAG_STRINGS }, { "parents", FLAG_BOOL },
  { NULL, 0 },
};

static const struct flag_spec from_flags[] = { { "platform", FLAG_STRING }, { NULL, 0 } };

static const struct flag_spec run_flags[] = {
  { "mount", FLAG_STRINGS },
  { "network", FLAG_STRING },
  { "security", FLAG_STRING },
  { NULL, 0 },
};

static const struct flag_spec health_flags[] = {
  { "interval", FLAG_STRING },       { "timeout", FLAG_STRING }, { "start-period", FLAG_STRING },
  { "start-interval", FLAG_STRING }, { "retries", FLAG_STRING }, { NULL, 0 },
};

static const struct flag_spec *
find_spec (const struct flag_spec *specs, const char *name, size_t len)
{
  for (; specs->name != NULL; specs++)
    if (strlen (specs->name) == len && memcmp (specs->name, name, len) == 0)
      return specs;
  return NULL;
}

static bool
flag_given (const struct df_insn *in, const char *name)
{
  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, name) == 0)
      return true;
  return false;
}

/* The value a bool flag stands for, or NULL when it is not a bool. */
static const char *
bool_value (const char *value, bool has_value)
{
  if (!has_value || strcasecmp (value, "true") == 0)
    return "true";
  if (strcasecmp (value, "false") == 0)
    return "false";
  return NULL;
}

/* BFlags.Parse: every flag word must be one of SPECS, given once unless it
 * is repeatable, with a value when it needs one. */
static int
parse_flags (struct df_insn *in, const struct flag_spec *specs, struct hoist_error **err)
{
  const char *kw = builder_keyword_name (in->keyword);

  for (size_t i = 0; in->flag_words[i] != NULL; i++)
    {
      const char *w = in->flag_words[i];
      const char *eq = strchr (w, '=');
      size_t name_len = eq != NULL ? (size_t) (eq - w) : strlen (w);
      const char *value = eq != NULL ? eq + 1 : "";
      const struct flag_spec *spec = find_spec (specs, w + 2, name_len - 2);
      cleanup_free char *name = hoist_xstrndup (w + 2, name_len - 2);

      if (spec == NULL)
        return hoist_error_set (err, 0, "unknown flag '--%s' for %s", name, kw);
      if (spec->type != FLAG_STRINGS && flag_given (in, name))
        return hoist_error_set (err, 0, "duplicate flag '--%s'", name);
      if (spec->type == FLAG_BOOL)
        {
          if (eq != NULL && *value == '\0')
            return hoist_error_set (err, 0, "flag '--%s' needs a value", name);
          value = bool_value (value, eq != NULL);
          if (value == NULL)
            return hoist_error_set (err, 0, "flag '--%s' takes true or false, not '%s'", name, eq + 1);
        }
      else if (eq == NULL)
        return hoist_error_set (err, 0, "flag '--%s' needs a value", name);
      in->flags = df_grow (in->flags, in->n_flags, sizeof (*in->flags));
      in->flags[in->n_flags].name = steal_pointer (&name);
      in->flags[in->n_flags++].value = hoist_xstrdup (value);
    }
  return 0;
}

/* Value of the last flag NAME, or NULL. */
static const char *
flag_value (const struct df_insn *in, const char *name)
{
  const char *v = NULL;
  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, name) == 0)
      v = in->flags[i].value;
  return v;
}

/* ---------------------------------------------------------------------
 * Small parsers: Go durations, CSV fields
 * ------------------------------------------------------------------- */

#define DUR_LIMIT ((unsigned long long) 1 << 63)

static long long
duration_unit (const char *u, size_t n)
{
  static const struct
  {
    const char *name;
    long long ns;
  } units[] = {
    { "ns", 1LL },         { "us", 1000LL },       { "\xC2\xB5s", 1000LL }, { "\xCE\xBCs", 1000LL },
    { "ms", 1000000LL },   { "s", 1000000000LL }, { "m", 60000000000LL },  { "h", 3600000000000LL },
  };
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strlen (units[i].name) == n && memcmp (units[i].name, u, n) == 0)
      return units[i].ns;
  return 0;
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* One "<number><unit>" component of a duration; false when malformed. */
static bool
duration_component (const char **sp, unsigned long long *total)
{
  const char *s = *sp;
  unsigned long long v = 0, f = 0;
  double scale = 1;
  bool pre = false, post = false, overflow = false;
  long long unit;
  size_t ulen = 0;

  if (!(*s == '.' || is_digit (*s)))
    return false;
  for (; is_digit (*s); s++, pre = true)
    {
      if (v > DUR_LIMIT / 10)
        return false;
      v = v * 10 + (unsigned) (*s - '0');
      if (v > DUR_LIMIT)
        return false;
    }
  if (*s == '.')
    for (s++; is_digit (*s); s++, post = true)
      {
        if (overflow || f > (DUR_LIMIT - 1) / 10 || f * 10 + (unsigned) (*s - '0') > DUR_LIMIT)
          {
            overflow = true;
            continue;
          }
        f = f * 10 + (unsigned) (*s - '0');
        scale *= 10;
      }
  if (!pre && !post)
    return false;
  while (s[ulen] != '\0' && s[ulen] != '.' && !is_digit (s[ulen]))
    ulen++;
  unit = duration_unit (s, ulen);
  if (unit == 0 || v > DUR_LIMIT / (unsigned long long) unit)
    return false;
  v *= (unsigned long long) unit;
  if (f > 0)
    {
      v += (unsigned long long) ((double) f * ((double) unit / scale));
      if (v > DUR_LIMIT)
        return false;
    }
  *total += v;
  if (*total > DUR_LIMIT)
    return false;
  *sp = s + ulen;
  return true;
}

int
df_parse_duration (const char *str, long long *ns, struct hoist_error **err)
{
  const char *s = str;
  unsigned long long d = 0;
  bool neg = false;

  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    {
      *ns = 0;
      return 0;
    }
  if (*s == '\0')
    return hoist_error_set (err, 0, "invalid duration '%s'", str);
  while (*s != '\0')
    if (!duration_component (&s, &d))
      return hoist_error_set (err, 0, "invalid duration '%s'", str);
  if (!neg && d > DUR_LIMIT - 1)
    return hoist_error_set (err, 0, "invalid duration '%s'", str);
  *ns = neg ? (long long) (0 - d) : (long long) d;
  return 0;
}

int
df_csv_fields (const char *s, char ***out, struct hoist_error **err)
{
  cleanup_strv char **v = hoist_xcalloc (1, sizeof (char *));
  size_t n = strlen (s), nv = 0;

  if (n > 0 && s[n - 1] == '\n')
    n -= (n > 1 && s[n - 2] == '\r') ? 2 : 1;
  if (n == 0)
    return hoist_error_set (err, 0, "empty value");
  for (size_t i = 0;;)
    {
      if (i >= n || s[i] != '"')
        {
          const char *comma = memchr (s + i, ',', n - i);
          size_t end = comma != NULL ? (size_t) (comma - s) : n;
          if (memchr (s + i, '"', end - i) != NULL)
            return hoist_error_set (err, 0, "bare '\"' in a field without quotes");
          df_strv_add (&v, &nv, hoist_xstrndup (s + i, end - i));
          if (comma == NULL)
            break;
          i = end + 1;
          continue;
        }
      /* A quoted field: "" stands for one quote. */
      cleanup_buf struct hoist_buf f;
      hoist_buf_init (&f, n);
      for (i++;; i++)
        {
          if (i >= n)
            return hoist_error_set (err, 0, "missing closing '\"' in a quoted field");
          if (s[i] != '"')
            {
              if (hoist_buf_addch (&f, s[i], err) < 0)
                return -1;
              continue;
            }
          if (i + 1 < n && s[i + 1] == '"')
            {
              if (hoist_buf_addch (&f, '"', err) < 0)
                return -1;
              i++;
              continue;
            }
          break;
        }
      df_strv_add (&v, &nv, hoist_buf_detach (&f, NULL));
      i++;
      if (i >= n)
        break;
      if (s[i] != ',')
        return hoist_error_set (err, 0, "extraneous '\"' in a quoted field");
      i++;
    }
  *out = steal_pointer (&v);
  return 0;
}

/* ---------------------------------------------------------------------
 * Instructions
 * ------------------------------------------------------------------- */

static size_t
n_words (const struct df_insn *in)
{
  return hoist_strv_len (in->words);
}

static int
need_exactly_one (struct df_insn *in, struct hoist_error **err)
{
  if (n_words (in) != 1)
    return hoist_error_set (err, 0, "%s requires exactly one argument", builder_keyword_name (in->keyword));
  return 0;
}

static int
need_at_least_one (struct df_insn *in, struct hoist_error **err)
{
  if (n_words (in) == 0)
    return hoist_error_set (err, 0, "%s requires at least one argument", builder_keyword_name (in->keyword));
  return 0;
}

/* ^[a-z][a-z0-9-_.]*$ after lowercasing */
static bool
valid_stage_name (const char *s)
{
  if (!(*s >= 'a' && *s <= 'z'))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || is_digit (*s) || *s == '-' || *s == '_' || *s == '.'))
      return false;
  return true;
}

static int
parse_from (struct df_insn *in, struct hoist_error **err)
{
  size_t n = n_words (in);

  if (n == 0)
    return hoist_error_set (err, 0, "FROM requires an image");
  if (n == 3 && strcasecmp (in->words[1], "as") == 0)
    {
      cleanup_free char *name = hoist_xstrdup (in->words[2]);
      for (char *c = name; *c; c++)
        *c = (char) ((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
      if (!valid_stage_name (name))
        return hoist_error_set (err, 0,
                                "invalid stage name '%s' (it must start with a letter and hold only letters, "
                                "digits, '-', '_' and '.')",
                                in->words[2]);
      in->stage_name = steal_pointer (&name);
    }
  else if (n != 1)
    return hoist_error_set (err, 0, "FROM takes an image and optionally 'AS name', not %zu arguments", n);
  return parse_flags (in, from_flags, err);
}

/* The trigger as BuildKit stores it: the line without its ONBUILD keyword,
 * heredoc bodies appended. */
static void
onbuild_expression (struct df_insn *in)
{
  const char *s = in->original;
  cleanup_buf struct hoist_buf b;

  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\f' || *s == '\r')
    s++;
  if (strncasecmp (s, "onbuild", 7) == 0)
    s += 7;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\f' || *s == '\r')
    s++;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  if (hoist_buf_addstr (&b, s, NULL) < 0)
    abort ();
  for (size_t i = 0; i < in->n_heredocs; i++)
    if (hoist_buf_addf (&b, NULL, "\n%s%s", in->heredocs[i].body, in->heredocs[i].name) < 0)
      abort ();
  in->onbuild = hoist_buf_detach (&b, NULL);
}

static int
parse_onbuild (struct df_insn *in, struct hoist_error **err)
{
  enum builder_keyword kw;

  if (in->child == NULL)
    return hoist_error_set (err, 0, "ONBUILD requires at least one argument");
  if (parse_flags (in, no_flags, err) < 0)
    return -1;
  if (df_keyword_lookup (in->child->command, &kw))
    {
      if (kw == BUILDER_KW_ONBUILD)
        return hoist_error_set (err, 0, "chaining ONBUILD via 'ONBUILD ONBUILD' is not allowed");
      if (kw == BUILDER_KW_FROM || kw == BUILDER_KW_MAINTAINER)
        return hoist_error_set (err, 0, "'%s' is not allowed as an ONBUILD trigger", builder_keyword_name (kw));
    }
  onbuild_expression (in);
  return 0;
}

static int
parse_kvs (struct df_insn *in, struct hoist_error **err)
{
  const char *kw = builder_keyword_name (in->keyword);

  if (parse_flags (in, no_flags, err) < 0)
    return -1;
  if (in->n_kvs == 0)
    return hoist_error_set (err, 0, "%s requires at least one argument", kw);
  for (size_t i = 0; i < in->n_kvs; i++)
    if (in->kvs[i].key[0] == '\0')
      return hoist_error_set (err, 0, "%s names can not be blank", kw);
  return 0;
}

static int
parse_arg (struct df_insn *in, struct hoist_error **err)
{
  if (need_at_least_one (in, err) < 0 || parse_flags (in, no_flags, err) < 0)
    return -1;
  for (size_t i = 0; in->words[i] != NULL; i++)
    {
      const char *w = in->words[i];
      const char *eq = strchr (w, '=');
      if (eq == w)
        return hoist_error_set (err, 0, "ARG names can not be blank");
      in->kvs = df_grow (in->kvs, in->n_kvs, sizeof (*in->kvs));
      in->kvs[in->n_kvs++] = (struct df_kv){
        .key = eq != NULL ? hoist_xstrndup (w, (size_t) (eq - w)) : hoist_xstrdup (w),
        .value = eq != NULL ? hoist_xstrdup (eq + 1) : NULL,
      };
    }
  return 0;
}

static int
parse_add_copy (struct df_insn *in, struct hoist_error **err)
{
  const char *kw = builder_keyword_name (in->keyword);
  size_t n = n_words (in);
  cleanup_free char *name = NULL;
  bool expand, chomp;
  int r;

  if (n < 2)
    return hoist_error_set (err, 0, "%s requires at least two arguments: the sources and a destination", kw);
  if (parse_flags (in, in->keyword == BUILDER_KW_ADD ? add_flags : copy_flags, err) < 0)
    return -1;
  r = df_heredoc_word (in->words[n - 1], &name, &expand, &chomp, err);
  if (r < 0)
    return r;
  if (r > 0)
    return hoist_error_set (err, 0, "%s cannot take a heredoc as its destination", kw);
  return 0;
}

/* Each volume is trimmed, and an empty one is refused. */
static int
parse_volume (struct df_insn *in, struct hoist_error **err)
{
  if (need_at_least_one (in, err) < 0 || parse_flags (in, no_flags, err) < 0)
    return -1;
  for (size_t i = 0; in->words[i] != NULL; i++)
    {
      const char *v = in->words[i];
      size_t len = strlen (v);
      df_trim_space (&v, &len);
      if (len == 0)
        return hoist_error_set (err, 0, "VOLUME can not be an empty string");
      char *trimmed = hoist_xstrndup (v, len);
      free (in->words[i]);
      in->words[i] = trimmed;
    }
  return 0;
}

/* Parse-time look at the --mount values: CSV syntax, and no variables in
 * from= (it names a stage, so it must be known before substitution). */
static int
check_mounts (struct df_insn *in, struct hoist_error **err)
{
  for (size_t i = 0; i < in->n_flags; i++)
    {
      cleanup_strv char **fields = NULL;
      if (strcmp (in->flags[i].name, "mount") != 0)
        continue;
      if (df_csv_fields (in->flags[i].value, &fields, err) < 0)
        return hoist_error_wrap (err, "invalid --mount '%s'", in->flags[i].value);
      for (size_t f = 0; fields[f] != NULL; f++)
        {
          const char *eq = strchr (fields[f], '=');
          const char *dollar = eq != NULL ? strchr (eq + 1, '$') : NULL;
          if (eq != NULL && eq - fields[f] == 4 && strncasecmp (fields[f], "from", 4) == 0 && dollar != NULL
              && dollar[1] != '\0')
            return hoist_error_set (err, 0,
                                    "--mount from='%s' cannot use variables (hint: name the image in a "
                                    "stage's FROM and mount from that stage)",
                                    eq + 1);
        }
    }
  return 0;
}

static int
parse_run (struct df_insn *in, struct hoist_error **err)
{
  const char *net, *sec;

  if (parse_flags (in, run_flags, err) < 0 || check_mounts (in, err) < 0)
    return -1;
  net = flag_value (in, "network");
  if (net == NULL || strcmp (net, "default") == 0)
    in->network = BUILDER_NETWORK_DEFAULT;
  else if (strcmp (net, "none") == 0)
    in->network = BUILDER_NETWORK_NONE;
  else if (strcmp (net, "host") == 0)
    in->network = BUILDER_NETWORK_HOST;
  else
    return hoist_error_set (err, 0, "invalid network mode '%s' (it must be default, none or host)", net);
  sec = flag_value (in, "security");
  if (sec == NULL || strcmp (sec, "sandbox") == 0)
    in->security = BUILDER_SECURITY_SANDBOX;
  else if (strcmp (sec, "insecure") == 0)
    in->security = BUILDER_SECURITY_INSECURE;
  else
    return hoist_error_set (err, 0, "invalid security mode '%s' (it must be sandbox or insecure)", sec);
  return 0;
}

static int
parse_shell (struct df_insn *in, struct hoist_error **err)
{
  if (parse_flags (in, no_flags, err) < 0)
    return -1;
  if (n_words (in) == 0)
    return hoist_error_set (err, 0, "SHELL requires at least one argument");
  if (!in->json)
    return hoist_error_set (err, 0, "SHELL requires the arguments to be in JSON form");
  return 0;
}

static int
health_duration (struct df_insn *in, const char *name, long long *out, struct hoist_error **err)
{
  const char *v = flag_value (in, name);

  *out = 0;
  if (v == NULL || *v == '\0')
    return 0;
  if (df_parse_duration (v, out, err) < 0)
    return hoist_error_wrap (err, "--%s", name);
  if (*out != 0 && *out < 1000000)
    return hoist_error_set (err, 0, "--%s cannot be less than 1ms", name);
  return 0;
}

static int
health_retries (struct df_insn *in, struct hoist_error **err)
{
  const char *v = flag_value (in, "retries");
  const char *p;
  char *end = NULL;
  long long r;

  if (v == NULL || *v == '\0')
    return 0;
  /* strconv.ParseInt(v, 10, 32): an optional sign, then digits only. */
  p = (*v == '+' || *v == '-') ? v + 1 : v;
  if (!is_digit (*p))
    return hoist_error_set (err, 0, "invalid --retries value '%s'", v);
  errno = 0;
  r = strtoll (v, &end, 10);
  if (*end != '\0' || errno != 0 || r > INT_MAX || r < INT_MIN)
    return hoist_error_set (err, 0, "invalid --retries value '%s'", v);
  if (r < 0)
    return hoist_error_set (err, 0, "--retries cannot be negative (%lld)", r);
  in->health.retries = (int) r;
  return 0;
}

static int
parse_healthcheck (struct df_insn *in, struct hoist_error **err)
{
  size_t n = n_words (in);

  if (n == 0)
    return hoist_error_set (err, 0, "HEALTHCHECK requires at least one argument");
  if (strcasecmp (in->words[0], "NONE") == 0)
    {
      if (n != 1)
        return hoist_error_set (err, 0, "HEALTHCHECK NONE takes no arguments");
      return parse_flags (in, health_flags, err);
    }
  if (parse_flags (in, health_flags, err) < 0)
    return -1;
  if (strcasecmp (in->words[0], "CMD") != 0)
    return hoist_error_set (err, 0, "unknown type '%s' in HEALTHCHECK (try CMD)", in->words[0]);
  if (n == 1)
    return hoist_error_set (err, 0, "missing command after HEALTHCHECK CMD");
  if (health_duration (in, "interval", &in->health.interval, err) < 0
      || health_duration (in, "timeout", &in->health.timeout, err) < 0
      || health_duration (in, "start-period", &in->health.start_period, err) < 0
      || health_duration (in, "start-interval", &in->health.start_interval, err) < 0)
    return -1;
  return health_retries (in, err);
}

int
df_insn_parse (struct df_insn *in, struct hoist_error **err)
{
  if (!df_keyword_lookup (in->command, &in->keyword))
    return hoist_error_set (err, 0, "unknown instruction '%s'", in->command);
  switch (in->keyword)
    {
    case BUILDER_KW_FROM:
      return parse_from (in, err);
    case BUILDER_KW_ONBUILD:
      return parse_onbuild (in, err);
    case BUILDER_KW_ENV:
    case BUILDER_KW_LABEL:
      return parse_kvs (in, err);
    case BUILDER_KW_ARG:
      return parse_arg (in, err);
    case BUILDER_KW_ADD:
    case BUILDER_KW_COPY:
      return parse_add_copy (in, err);
    case BUILDER_KW_VOLUME:
      return parse_volume (in, err);
    case BUILDER_KW_RUN:
      return parse_run (in, err);
    case BUILDER_KW_SHELL:
      return parse_shell (in, err);
    case BUILDER_KW_HEALTHCHECK:
      return parse_healthcheck (in, err);
    case BUILDER_KW_EXPOSE:
      if (need_at_least_one (in, err) < 0)
        return -1;
      return parse_flags (in, no_flags, err);
    case BUILDER_KW_MAINTAINER:
    case BUILDER_KW_USER:
    case BUILDER_KW_WORKDIR:
    case BUILDER_KW_STOPSIGNAL:
      if (need_exactly_one (in, err) < 0)
        return -1;
      return parse_flags (in, no_flags, err);
    case BUILDER_KW_CMD:
    case BUILDER_KW_ENTRYPOINT:
    default:
      return parse_flags (in, no_flags, err);
    }
}

/* ---------------------------------------------------------------------
 * Stages
 * ------------------------------------------------------------------- */

int
df_stages_build (struct builder_dockerfile *df, struct hoist_error **err)
{
  for (size_t i = 0; i < df->n_insns; i++)
    {
      struct df_insn *in = &df->insns[i];

      if (df_insn_parse (in, err) < 0)
        return hoist_error_wrap (err, "%s:%d", df->name, in->line);
      if (in->keyword == BUILDER_KW_FROM)
        {
          df->stage_from = df_grow (df->stage_from, df->n_stages, sizeof (size_t));
          df->stage_from[df->n_stages++] = i;
        }
      else if (df->n_stages == 0 && in->keyword == BUILDER_KW_ARG)
        df->n_meta = i + 1;
      else if (df->n_stages == 0)
        return hoist_error_set (err, 0, "%s:%d: %s before the first FROM (only ARG may come before it)", df->name,
                                in->line, builder_keyword_name (in->keyword));
    }
  if (df->n_stages == 0)
    return hoist_error_set (err, 0, "%s:%d: the Dockerfile has no FROM", df->name, df->insns[0].line);
  return 0;
}
