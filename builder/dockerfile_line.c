/* dockerfile_line.c — one logical Dockerfile line into its keyword, flags
 * and arguments, the way BuildKit's line parsers split each instruction
 * (frontend/dockerfile/parser/line_parsers.go and split_command.go), and
 * the recognition of heredoc markers in it.  Go's notions of whitespace
 * and UTF-8 are kept, because they decide where words end. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile_private.h"

/* ---------------------------------------------------------------------
 * Characters: Go's notion of whitespace and of valid UTF-8
 * ------------------------------------------------------------------- */

bool
df_byte_space (unsigned char c)
{
  return (c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xA0;
}

size_t
df_space_at (const char *p, size_t n)
{
  const unsigned char *u = (const unsigned char *) p;

  if (n == 0)
    return 0;
  if ((u[0] >= '\t' && u[0] <= '\r') || u[0] == ' ')
    return 1;
  if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0))
    return 2;
  if (n < 3)
    return 0;
  if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) /* U+1680 */
    return 3;
  if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
    return u[2] >= 0x80 ? 3 : 0; /* U+2000..200A, U+2028, U+2029, U+202F */
  if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) /* U+205F */
    return 3;
  if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) /* U+3000 */
    return 3;
  return 0;
}

/* Length of a whitespace character that ends at S + N, or 0. */
static size_t
space_before (const char *s, size_t n)
{
  for (size_t k = 1; k <= 3 && k <= n; k++)
    if (df_space_at (s + n - k, k) == k)
      return k;
  return 0;
}

char *
df_utf8_sanitize (const char *s, size_t len)
{
  char *out = hoist_xmalloc (len * 3 + 1);
  size_t o = 0;

  for (size_t i = 0; i < len;)
    {
      uint32_t cp;
      size_t k = hoist_utf8_decode (s + i, len - i, &cp);
      if (k == 0)
        {
          memcpy (out + o, "\xEF\xBF\xBD", 3);
          o += 3;
          i++;
          continue;
        }
      memcpy (out + o, s + i, k);
      o += k;
      i += k;
    }
  out[o] = '\0';
  return out;
}

static size_t
grow_cap (size_t k)
{
  size_t c = 8;
  if (k <= 4)
    return k;
  while (c < k)
    c *= 2;
  return c;
}

void *
df_grow (void *p, size_t n, size_t size)
{
  if (grow_cap (n + 1) == grow_cap (n))
    return p;
  return hoist_xreallocarray (p, grow_cap (n + 1), size);
}

void
df_strv_add (char ***v, size_t *n, char *s)
{
  *v = df_grow (*v, *n + 1, sizeof (char *));
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* Trim Go-style whitespace from the start of *S (*N bytes). */
void
df_trim_left (const char **s, size_t *n)
{
  size_t k;
  while ((k = df_space_at (*s, *n)) > 0)
    {
      *s += k;
      *n -= k;
    }
}

static void
trim_right (const char *s, size_t *n)
{
  size_t k;
  while ((k = space_before (s, *n)) > 0)
    *n -= k;
}

void
df_trim_space (const char **s, size_t *n)
{
  df_trim_left (s, n);
  trim_right (*s, n);
}

/* The `[\t\v\f\r ]` class of BuildKit's whitespace regexp. */
static bool
re_space (char c)
{
  return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

/* ---------------------------------------------------------------------
 * Keywords
 * ------------------------------------------------------------------- */

static const char *const keyword_names[BUILDER_KW_COUNT_] = {
  [BUILDER_KW_ADD] = "ADD",
  [BUILDER_KW_ARG] = "ARG",
  [BUILDER_KW_CMD] = "CMD",
  [BUILDER_KW_COPY] = "COPY",
  [BUILDER_KW_ENTRYPOINT] = "ENTRYPOINT",
  [BUILDER_KW_ENV] = "ENV",
  [BUILDER_KW_EXPOSE] = "EXPOSE",
  [BUILDER_KW_FROM] = "FROM",
  [BUILDER_KW_HEALTHCHECK] = "HEALTHCHECK",
  [BUILDER_KW_LABEL] = "LABEL",
  [BUILDER_KW_MAINTAINER] = "MAINTAINER",
  [BUILDER_KW_ONBUILD] = "ONBUILD",
  [BUILDER_KW_RUN] = "RUN",
  [BUILDER_KW_SHELL] = "SHELL",
  [BUILDER_KW_STOPSIGNAL] = "STOPSIGNAL",
  [BUILDER_KW_USER] = "USER",
  [BUILDER_KW_VOLUME] = "VOLUME",
  [BUILDER_KW_WORKDIR] = "WORKDIR",
};

const char *
builder_keyword_name (enum builder_keyword kw)
{
  if ((unsigned) kw >= BUILDER_KW_COUNT_)
    return "?";
  return keyword_names[kw];
}

bool
df_keyword_lookup (const char *command, enum builder_keyword *kw)
{
  for (int i = 0; i < BUILDER_KW_COUNT_; i++)
    if (strcasecmp (command, keyword_names[i]) == 0)
      {
        *kw = (enum builder_keyword) i;
        return true;
      }
  return false;
}

/* ---------------------------------------------------------------------
 * Flags: the leading "--name=value" words of an instruction
 * ------------------------------------------------------------------- */

/* Collect the flag words at the start of REST; *ARGS_AT gets the offset
 * where the arguments begin.  Quotes are removed and the escape character
 * takes the next character literally, as BuildKit's extractBuilderFlags;
 * a lone "--" ends the flags. */
static int
extract_flags (const char *rest, size_t len, char escape, char ***flags, size_t *args_at,
               struct hoist_error **err)
{
  cleanup_buf struct hoist_buf word;
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  bool blank_ok = false;
  char quote = 0;
  size_t n = 0;

  hoist_buf_init (&word, DF_LOGICAL_LINE_MAX);
  for (size_t pos = 0; pos <= len; pos++)
    {
      unsigned char ch = pos < len ? (unsigned char) rest[pos] : 0;

      if (phase == IN_SPACES)
        {
          if (pos == len)
            break;
          if (df_byte_space (ch))
            continue;
          if (ch != '-' || pos + 1 == len || rest[pos + 1] != '-')
            {
              *args_at = pos;
              return 0;
            }
          phase = IN_WORD;
        }
      if (pos == len)
        {
          if (strcmp (word.data, "--") != 0 && (blank_ok || word.len > 0))
            df_strv_add (flags, &n, hoist_xstrdup (word.data));
          break;
        }
      if (phase == IN_WORD)
        {
          if (df_byte_space (ch))
            {
              phase = IN_SPACES;
              if (strcmp (word.data, "--") == 0)
                {
                  *args_at = pos;
                  return 0;
                }
              if (blank_ok || word.len > 0)
                df_strv_add (flags, &n, hoist_xstrdup (word.data));
              hoist_buf_reset (&word);
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = (char) ch;
              blank_ok = true;
              phase = IN_QUOTE;
              continue;
            }
          if (ch == (unsigned char) escape)
            {
              if (pos + 1 == len)
                continue;
              ch = (unsigned char) rest[++pos];
            }
          if (hoist_buf_addch (&word, (char) ch, err) < 0)
            return -1;
          continue;
        }
      /* IN_QUOTE */
      if (ch == (unsigned char) quote)
        {
          phase = IN_WORD;
          continue;
        }
      if (ch == (unsigned char) escape)
        {
          if (pos + 1 == len)
            {
              phase = IN_WORD;
              continue;
            }
          ch = (unsigned char) rest[++pos];
        }
      if (hoist_buf_addch (&word, (char) ch, err) < 0)
        return -1;
    }
  *args_at = len;
  return 0;
}

/* ---------------------------------------------------------------------
 * Line parsers: how each instruction's arguments are split
 * ------------------------------------------------------------------- */

/* Append one rune starting at P (N bytes left) to B, replacing invalid
 * UTF-8 by U+FFFD as Go's rune loop does; returns the bytes consumed. */
static size_t
add_rune (struct hoist_buf *b, const char *p, size_t n, int *ret, struct hoist_error **err)
{
  uint32_t cp;
  size_t k = hoist_utf8_decode (p, n, &cp);
  if (k == 0)
    {
      *ret = hoist_buf_add (b, "\xEF\xBF\xBD", 3, err);
      return 1;
    }
  *ret = hoist_buf_add (b, p, k, err);
  return k;
}

/* BuildKit's parseWords: split at blanks outside quotes, keeping quotes and
 * escapes in the words (they are processed at substitution time). */
static int
parse_words (const char *s, size_t len, char escape, char ***out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf w;
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  bool blank_ok = false;
  char quote = 0;
  int ret = 0;
  size_t n = 0;

  hoist_buf_init (&w, DF_LOGICAL_LINE_MAX);
  *out = hoist_xcalloc (1, sizeof (char *));
  for (size_t pos = 0; pos < len && ret == 0;)
    {
      size_t sp = df_space_at (s + pos, len - pos);
      char ch = s[pos];

      if (phase == IN_SPACES)
        {
          if (sp > 0)
            {
              pos += sp;
              continue;
            }
          phase = IN_WORD;
        }
      if (phase == IN_WORD)
        {
          if (sp > 0)
            {
              phase = IN_SPACES;
              if (blank_ok || w.len > 0)
                df_strv_add (out, &n, hoist_xstrdup (w.data));
              hoist_buf_reset (&w);
              blank_ok = false;
              pos += sp;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = ch;
              blank_ok = true;
              phase = IN_QUOTE;
            }
          if (ch == escape)
            {
              if (pos + 1 == len)
                {
                  pos++;
                  continue;
                }
              ret = hoist_buf_addch (&w, ch, err);
              pos++;
            }
          if (ret == 0)
            pos += add_rune (&w, s + pos, len - pos, &ret, err);
          continue;
        }
      /* IN_QUOTE */
      if (ch == quote)
        phase = IN_WORD;
      if (ch == escape && quote != '\'')
        {
          if (pos + 1 == len)
            {
              phase = IN_WORD;
              pos++;
              continue;
            }
          ret = hoist_buf_addch (&w, ch, err);
          pos++;
        }
      if (ret == 0)
        pos += add_rune (&w, s + pos, len - pos, &ret, err);
    }
  if (ret < 0)
    {
      hoist_strv_free (*out);
      *out = NULL;
      return ret;
    }
  if (phase != IN_SPACES && (blank_ok || w.len > 0))
    df_strv_add (out, &n, hoist_xstrdup (w.data));
  return 0;
}

/* reWhitespace.Split: fields separated by runs of [\t\v\f\r ]; S has no
 * blank at either end. */
static char **
split_blanks (const char *s, size_t len)
{
  char **v = hoist_xcalloc (1, sizeof (char *));
  size_t start = 0, n = 0;

  for (size_t i = 0; i <= len; i++)
    if (i == len || re_space (s[i]))
      {
        df_strv_add (&v, &n, hoist_xstrndup (s + start, i - start));
        while (i + 1 < len && re_space (s[i + 1]))
          i++;
        start = i + 1;
      }
  return v;
}

/* parseJSON: 1 with *OUT set when S is a JSON array of strings, 0 when it
 * is not JSON (the caller falls back to the shell form), negative when it
 * is a JSON array with something else than strings in it. */
static int
parse_json_array (const char *s, size_t len, char ***out, struct hoist_error **err)
{
  cleanup_free char *clean = NULL;
  json_t *arr;
  json_error_t jerr;
  size_t i;
  json_t *v;

  df_trim_left (&s, &len);
  if (len == 0 || s[0] != '[')
    return 0;
  /* Go's decoder takes invalid UTF-8 in strings as U+FFFD. */
  clean = df_utf8_sanitize (s, len);
  arr = json_loads (clean, JSON_ALLOW_NUL, &jerr);
  if (arr == NULL)
    return 0;
  if (!json_is_array (arr))
    {
      json_decref (arr);
      return 0;
    }
  *out = hoist_xcalloc (json_array_size (arr) + 1, sizeof (char *));
  json_array_foreach (arr, i, v)
    {
      if (!json_is_string (v) || strlen (json_string_value (v)) != json_string_length (v))
        {
          bool nul = json_is_string (v);
          json_decref (arr);
          hoist_strv_free (*out);
          *out = NULL;
          if (nul)
            return hoist_error_set (err, 0, "a JSON argument holds a NUL character");
          return hoist_error_set (err, 0, "a JSON array of arguments must hold only strings");
        }
      (*out)[i] = hoist_xstrdup (json_string_value (v));
    }
  json_decref (arr);
  return 1;
}

static char **
single_word (const char *s, size_t len)
{
  char **v = hoist_xcalloc (2, sizeof (char *));
  if (len > 0)
    v[0] = hoist_xstrndup (s, len);
  return v;
}

/* parseMaybeJSON (TO_LIST false: RUN, CMD, ENTRYPOINT, SHELL) and
 * parseMaybeJSONToList (ADD, COPY, VOLUME). */
static int
parse_maybe_json (struct df_insn *in, const char *s, size_t len, bool to_list, struct hoist_error **err)
{
  int r;

  if (len == 0 && !to_list)
    {
      in->words = single_word (s, 0);
      return 0;
    }
  r = parse_json_array (s, len, &in->words, err);
  if (r < 0)
    return r;
  if (r > 0)
    {
      in->json = true;
      return 0;
    }
  in->words = to_list ? (len > 0 ? split_blanks (s, len) : single_word (s, 0)) : single_word (s, len);
  return 0;
}

static void
kv_push (struct df_insn *in, char *key, char *value, bool legacy)
{
  in->kvs = df_grow (in->kvs, in->n_kvs, sizeof (*in->kvs));
  in->kvs[in->n_kvs++] = (struct df_kv){ .key = key, .value = value, .legacy = legacy };
}

/* parseNameVal (ENV, LABEL): the legacy `KEY value with spaces` form when
 * the first word has no '=', else a list of KEY=VALUE words. */
static int
parse_name_val (struct df_insn *in, const char *s, size_t len, char escape, const char *kw,
                struct hoist_error **err)
{
  cleanup_strv char **words = NULL;

  if (parse_words (s, len, escape, &words, err) < 0)
    return -1;
  if (words[0] == NULL)
    return 0;
  if (strchr (words[0], '=') == NULL)
    {
      size_t k = 0;
      while (k < len && !re_space (s[k]))
        k++;
      if (k == len)
        return hoist_error_set (err, 0, "%s must have two arguments", kw);
      size_t v = k;
      while (v < len && re_space (s[v]))
        v++;
      kv_push (in, hoist_xstrndup (s, k), hoist_xstrndup (s + v, len - v), true);
      return 0;
    }
  for (size_t i = 0; words[i] != NULL; i++)
    {
      char *eq = strchr (words[i], '=');
      if (eq == NULL)
        return hoist_error_set (err, 0, "cannot find '=' in '%s' (%s needs the form name=value)", words[i], kw);
      kv_push (in, hoist_xstrndup (words[i], (size_t) (eq - words[i])), hoist_xstrdup (eq + 1), false);
    }
  return 0;
}

/* parseHealthConfig: the type word, then the command as parseMaybeJSON. */
static int
parse_health (struct df_insn *in, const char *s, size_t len, struct hoist_error **err)
{
  size_t sep = 0, next;
  cleanup_free char *typ = NULL;

  while (sep < len && !df_byte_space ((unsigned char) s[sep]))
    sep++;
  next = sep;
  while (next < len && df_byte_space ((unsigned char) s[next]))
    next++;
  if (sep == 0)
    {
      in->words = single_word (s, 0);
      return 0;
    }
  typ = hoist_xstrndup (s, sep);
  if (parse_maybe_json (in, s + next, len - next, false, err) < 0)
    return -1;
  /* The type goes first. */
  size_t n = hoist_strv_len (in->words);
  in->words = hoist_xreallocarray (in->words, n + 2, sizeof (char *));
  memmove (in->words + 1, in->words, (n + 1) * sizeof (char *));
  in->words[0] = steal_pointer (&typ);
  return 0;
}

/* Dispatch on the keyword to the line parser BuildKit uses for it; unknown
 * keywords keep no arguments (they are refused by df_insn_parse). */
static int
parse_args (struct df_insn *in, const char *s, size_t len, char escape, bool nested, struct hoist_error **err)
{
  enum builder_keyword kw;

  if (!df_keyword_lookup (in->command, &kw))
    {
      in->words = single_word (s, 0);
      return 0;
    }
  switch (kw)
    {
    case BUILDER_KW_ADD:
    case BUILDER_KW_COPY:
    case BUILDER_KW_VOLUME:
      return parse_maybe_json (in, s, len, true, err);
    case BUILDER_KW_RUN:
    case BUILDER_KW_CMD:
    case BUILDER_KW_ENTRYPOINT:
    case BUILDER_KW_SHELL:
      return parse_maybe_json (in, s, len, false, err);
    case BUILDER_KW_ARG:
      return parse_words (s, len, escape, &in->words, err);
    case BUILDER_KW_ENV:
    case BUILDER_KW_LABEL:
      in->words = single_word (s, 0);
      return parse_name_val (in, s, len, escape, kw == BUILDER_KW_ENV ? "ENV" : "LABEL", err);
    case BUILDER_KW_EXPOSE:
    case BUILDER_KW_FROM:
      in->words = len > 0 ? split_blanks (s, len) : single_word (s, 0);
      return 0;
    case BUILDER_KW_HEALTHCHECK:
      return parse_health (in, s, len, err);
    case BUILDER_KW_ONBUILD:
      in->words = single_word (s, 0);
      /* One level is enough: ONBUILD ONBUILD is refused anyway, and not
       * recursing keeps a hostile line from exhausting the stack. */
      if (len == 0 || nested)
        return 0;
      in->child = hoist_xcalloc (1, sizeof (*in->child));
      return df_node_from_line (in->child, s, len, escape, true, err);
    case BUILDER_KW_MAINTAINER:
    case BUILDER_KW_STOPSIGNAL:
    case BUILDER_KW_USER:
    case BUILDER_KW_WORKDIR:
    default:
      in->words = single_word (s, len);
      return 0;
    }
}

/* splitCommand + dispatch: keyword, flags, then the arguments. */
int
df_node_from_line (struct df_insn *in, const char *line, size_t len, char escape, bool nested,
                struct hoist_error **err)
{
  size_t cmd_len = 0, rest_at, args_at = 0;
  const char *args;
  size_t args_len;

  df_trim_space (&line, &len);
  while (cmd_len < len && !re_space (line[cmd_len]))
    cmd_len++;
  in->command = hoist_xstrndup (line, cmd_len);
  in->flag_words = hoist_xcalloc (1, sizeof (char *));
  rest_at = cmd_len;
  while (rest_at < len && re_space (line[rest_at]))
    rest_at++;
  args = line + len;
  args_len = 0;
  if (cmd_len < len)
    {
      if (extract_flags (line + rest_at, len - rest_at, escape, &in->flag_words, &args_at, err) < 0)
        return -1;
      args = line + rest_at + args_at;
      args_len = len - rest_at - args_at;
    }
  df_trim_space (&args, &args_len);
  return parse_args (in, args, args_len, escape, nested, err);
}

/* ---------------------------------------------------------------------
 * Heredoc markers
 * ------------------------------------------------------------------- */

/* End of the lexer token that starts at S[I] (N bytes in all): a quoted
 * string, an escaped character, a ${...}, "<<" with the blanks after it,
 * or one plain byte.  SIZE_MAX when the quoting is broken. */
static size_t
heredoc_token_end (const char *s, size_t n, size_t i)
{
  if (s[i] == '\'' || s[i] == '"')
    {
      char q = s[i++];
      while (i < n && s[i] != q)
        i += (q == '"' && s[i] == '\\' && i + 1 < n) ? 2 : 1;
      return i < n ? i + 1 : SIZE_MAX;
    }
  if (s[i] == '\\')
    return i + 2 <= n ? i + 2 : n;
  if (s[i] == '$' && i + 1 < n && s[i + 1] == '{')
    {
      const char *close = strchr (s + i, '}');
      if (close == NULL || i + 2 >= n || strchr ("{}:", s[i + 2]) != NULL)
        return SIZE_MAX;
      return (size_t) (close - s) + 1;
    }
  if (s[i] == '<' && i + 1 < n && s[i + 1] == '<')
    {
      i += 2;
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
      return i;
    }
  return i + 1;
}

/* Split LINE into words as BuildKit's shell lexer does with raw quotes,
 * raw escapes and unset variables kept: quotes and escapes stay in the
 * words, "<<" takes the blanks after it into its word.  A line whose
 * quoting is broken has no words, as the lexer's error leaves none. */
int
df_heredoc_split (const char *s, char ***out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf w;
  size_t n = strlen (s), nwords = 0;

  hoist_buf_init (&w, DF_LOGICAL_LINE_MAX);
  *out = hoist_xcalloc (1, sizeof (char *));
  for (size_t i = 0; i < n;)
    {
      size_t sp = df_space_at (s + i, n - i);
      size_t end;

      if (sp > 0)
        {
          if (w.len > 0)
            df_strv_add (out, &nwords, hoist_xstrdup (w.data));
          hoist_buf_reset (&w);
          i += sp;
          continue;
        }
      end = heredoc_token_end (s, n, i);
      if (end == SIZE_MAX)
        {
          hoist_strv_free (*out);
          *out = hoist_xcalloc (1, sizeof (char *));
          return 0;
        }
      if (hoist_buf_add (&w, s + i, end - i, err) < 0)
        return -1;
      i = end;
    }
  if (w.len > 0)
    df_strv_add (out, &nwords, hoist_xstrdup (w.data));
  return 0;
}

/* Remove quotes and escapes from a heredoc delimiter word; 1 word or the
 * shape is not a single word (returns 0).  *QUOTED says whether any quote
 * character was removed. */
static int
heredoc_unquote (const char *s, char **name, bool *quoted, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf w;
  size_t n = strlen (s);
  int ret = 0;

  hoist_buf_init (&w, DF_LOGICAL_LINE_MAX);
  *quoted = false;
  for (size_t i = 0; i < n && ret == 0;)
    {
      if (df_space_at (s + i, n - i) > 0)
        return 0; /* more than one word: not a heredoc */
      if (s[i] == '\'')
        {
          const char *close = strchr (s + i + 1, '\'');
          if (close == NULL)
            return hoist_error_set (err, 0, "unterminated single quote in heredoc delimiter '%s'", s);
          ret = hoist_buf_add (&w, s + i + 1, (size_t) (close - s - i - 1), err);
          i = (size_t) (close - s) + 1;
          *quoted = true;
        }
      else if (s[i] == '"')
        {
          i++;
          while (i < n && s[i] != '"' && ret == 0)
            {
              if (s[i] == '\\' && i + 1 < n && strchr ("\"$\\", s[i + 1]) != NULL)
                i++;
              ret = hoist_buf_addch (&w, s[i++], err);
            }
          if (i >= n)
            return hoist_error_set (err, 0, "unterminated double quote in heredoc delimiter '%s'", s);
          i++;
          *quoted = true;
        }
      else if (s[i] == '\\')
        {
          if (i + 1 < n)
            ret = hoist_buf_addch (&w, s[i + 1], err);
          i += 2;
        }
      else
        ret = hoist_buf_addch (&w, s[i++], err);
    }
  if (ret < 0)
    return ret;
  if (w.len == 0)
    return 0; /* <<"" makes no word for BuildKit's lexer */
  *name = hoist_buf_detach (&w, NULL);
  return 1;
}

int
df_heredoc_word (const char *word, char **name, bool *expand, bool *chomp, struct hoist_error **err)
{
  const char *p = word;
  bool quoted = false;
  int r;

  /* ^(\d*)<<(-?)\s*([^<]*)$ */
  while (*p >= '0' && *p <= '9')
    p++;
  if (p[0] != '<' || p[1] != '<')
    return 0;
  p += 2;
  *chomp = *p == '-';
  if (*chomp)
    p++;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
    p++;
  if (*p == '\0' || strchr (p, '<') != NULL)
    return 0;
  r = heredoc_unquote (p, name, &quoted, err);
  if (r <= 0)
    return r;
  *expand = !quoted;
  return 1;
}

