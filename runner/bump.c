/* bump.c — the tag bump's edit: YAML read with libyaml's events into a
 * small tree that remembers each node's byte range, then new values
 * written over exactly those ranges (and new keys or entries inserted
 * after the last line of their neighbours), so everything else in the
 * file stays byte for byte: comments, order, quoting, indentation, blank
 * lines, line endings. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "runner/bump.h"

#define DEPTH_MAX 200

enum ykind
{
  Y_SCALAR,
  Y_MAP,
  Y_SEQ,
  Y_ALIAS,
};

struct ynode
{
  enum ykind kind;
  size_t start, end; /* byte range in the text */
  size_t line, col;  /* of the start, from 0 */
  bool flow;         /* a flow collection: [...] or {...} */
  bool in_flow;      /* inside one: ',', '[', ']', '{', '}' and ':' end a plain value */
  yaml_scalar_style_t style;
  char *value;         /* scalars */
  struct ynode **kids; /* maps: key, value, key, value...; sequences: items */
  size_t n;
};

static void
ynode_free (struct ynode *n)
{
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->n; i++)
    ynode_free (n->kids[i]);
  free (n->kids);
  free (n->value);
  free (n);
}

struct yreader
{
  yaml_parser_t parser;
  struct hoist_error **err;
  /* libyaml's marks count characters; edits need bytes.  A cursor over
   * the text maps one to the other, moving either way (marks come nearly
   * in order). */
  const char *text;
  size_t len;
  size_t chars, bytes; /* the cursor: character CHARS starts at byte BYTES */
  size_t bom;          /* 3 when the text starts with a byte order mark */
};

static bool
utf8_continuation (unsigned char c)
{
  return (c & 0xc0) == 0x80;
}

/* The byte offset of character INDEX of the text (a byte order mark,
 * which libyaml does not count, skipped). */
static size_t
byte_at (struct yreader *y, size_t index)
{
  while (y->chars < index && y->bytes < y->len)
    {
      y->bytes++;
      while (y->bytes < y->len && utf8_continuation ((unsigned char) y->text[y->bytes]))
        y->bytes++;
      y->chars++;
    }
  while (y->chars > index && y->bytes > 0)
    {
      y->bytes--;
      while (y->bytes > 0 && utf8_continuation ((unsigned char) y->text[y->bytes]))
        y->bytes--;
      y->chars--;
    }
  return y->bom + y->bytes;
}

static int
parse_error (struct yreader *y)
{
  const yaml_parser_t *p = &y->parser;

  return hoist_error_set (y->err, 0, "not valid YAML at line %zu: %s", p->problem_mark.line + 1,
                          p->problem != NULL ? p->problem : "malformed");
}

static int next_node (struct yreader *y, yaml_event_t *ev, unsigned depth, bool in_flow, struct ynode **out);

/* Children until the collection's end event; END gets its end mark. */
static int
read_children (struct yreader *y, struct ynode *n, yaml_event_type_t end_type, unsigned depth)
{
  for (;;)
    {
      yaml_event_t ev;
      struct ynode *kid = NULL;
      int ret;

      if (!yaml_parser_parse (&y->parser, &ev))
        return parse_error (y);
      if (ev.type == end_type)
        {
          if (n->flow)
            n->end = byte_at (y, ev.end_mark.index);
          else if (n->n > 0)
            n->end = n->kids[n->n - 1]->end;
          yaml_event_delete (&ev);
          return 0;
        }
      ret = next_node (y, &ev, depth + 1, n->flow || n->in_flow, &kid);
      /* Kept even when it failed: the tree is freed whole. */
      n->kids = hoist_xreallocarray (n->kids, n->n + 1, sizeof *n->kids);
      n->kids[n->n++] = kid;
      if (ret < 0)
        return -1;
    }
}

/* The node that starts with event EV (taken). */
static int
next_node (struct yreader *y, yaml_event_t *ev, unsigned depth, bool in_flow, struct ynode **out)
{
  struct ynode *n = hoist_xcalloc (1, sizeof *n);
  int ret = 0;

  n->in_flow = in_flow;
  n->start = byte_at (y, ev->start_mark.index);
  n->end = byte_at (y, ev->end_mark.index);
  n->line = ev->start_mark.line;
  n->col = ev->start_mark.column;
  *out = n;
  if (depth > DEPTH_MAX)
    {
      yaml_event_delete (ev);
      return hoist_error_set (y->err, 0, "nested deeper than %d levels at line %zu", DEPTH_MAX, n->line + 1);
    }
  switch (ev->type)
    {
    case YAML_SCALAR_EVENT:
      n->kind = Y_SCALAR;
      n->style = ev->data.scalar.style;
      n->value = hoist_xstrndup ((const char *) ev->data.scalar.value, ev->data.scalar.length);
      break;
    case YAML_ALIAS_EVENT:
      n->kind = Y_ALIAS;
      break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
      {
        bool map = ev->type == YAML_MAPPING_START_EVENT;

        n->kind = map ? Y_MAP : Y_SEQ;
        n->flow = map ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                      : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        yaml_event_delete (ev);
        return read_children (y, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth);
      }
    default:
      ret = hoist_error_set (y->err, 0, "unexpected YAML event at line %zu", n->line + 1);
    }
  yaml_event_delete (ev);
  return ret;
}

/* The first document's root (NULL for an empty file); a second document
 * is an error. */
static int
read_tree (const char *text, size_t len, struct ynode **root, struct hoist_error **err)
{
  struct yreader y = { .err = err, .text = text, .len = len };
  yaml_event_t ev;
  int ret = 0;

  *root = NULL;
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    {
      y.text += 3;
      y.len -= 3;
      y.bom = 3;
    }
  yaml_parser_initialize (&y.parser);
  yaml_parser_set_input_string (&y.parser, (const unsigned char *) text, len);
  while (ret == 0)
    {
      if (!yaml_parser_parse (&y.parser, &ev))
        {
          ret = parse_error (&y);
          break;
        }
      if (ev.type == YAML_STREAM_END_EVENT)
        {
          yaml_event_delete (&ev);
          break;
        }
      if (ev.type == YAML_DOCUMENT_START_EVENT && *root != NULL)
        ret = hoist_error_set (err, 0, "more than one YAML document (line %zu): hoist edits files of one",
                               ev.start_mark.line + 1);
      if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT
          || ev.type == YAML_ALIAS_EVENT)
        {
          ret = next_node (&y, &ev, 0, false, root);
          continue;
        }
      yaml_event_delete (&ev);
    }
  yaml_parser_delete (&y.parser);
  if (ret < 0)
    {
      ynode_free (*root);
      *root = NULL;
    }
  return ret;
}

/* ---------------------------------------------------------------------
 * Writing values
 * ------------------------------------------------------------------- */

static bool
all_of (const char *s, const char *set)
{
  return *s != '\0' && strspn (s, set) == strlen (s);
}

/* Whether a YAML 1.1 or 1.2 reader (go-yaml, PyYAML, libyaml's users)
 * could take plain S for anything but a string. */
static bool
reads_as_non_string (const char *s)
{
  static const char *const words[] = { "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "" };
  const char *p = s;
  size_t digits = 0;

  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcasecmp (s, words[i]) == 0)
      return true;
  if (*p == '-' || *p == '+')
    p++;
  if (strcasecmp (p, ".inf") == 0 || strcasecmp (p, ".nan") == 0)
    return true;
  if ((p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) && p[2] != '\0'
      && all_of (p + 2, "0123456789abcdefABCDEF_"))
    return true;
  /* Integers and floats: digits, '_', one '.', an exponent. */
  for (; isdigit ((unsigned char) *p) || *p == '_'; p++)
    digits += *p != '_';
  if (*p == '.')
    for (p++; isdigit ((unsigned char) *p) || *p == '_'; p++)
      digits += *p != '_';
  if (digits > 0 && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (*p == '-' || *p == '+')
        p++;
      if (!isdigit ((unsigned char) *p))
        return false;
      while (isdigit ((unsigned char) *p))
        p++;
    }
  if (digits > 0 && *p == '\0')
    return true;
  /* Dates and times (YAML 1.1 timestamps): 2024-01-02... */
  return strlen (s) >= 8 && isdigit ((unsigned char) s[0]) && isdigit ((unsigned char) s[1])
         && isdigit ((unsigned char) s[2]) && isdigit ((unsigned char) s[3]) && s[4] == '-'
         && isdigit ((unsigned char) s[5]);
}

/* Whether S can stand plain (unquoted) as a string. */
static bool
plain_ok (const char *s, bool flow)
{
  size_t n = strlen (s);

  /* In flow style a ':' or a flow indicator ends a plain value for some
   * readers (YAML 1.1's): quoted there. */
  if (flow && strpbrk (s, ":,[]{}") != NULL)
    return false;
  if (n == 0 || reads_as_non_string (s) || strchr ("-?:,[]{}#&*!|>'\"%@`. ", s[0]) != NULL || s[n - 1] == ' '
      || s[n - 1] == ':')
    return false;
  for (const char *p = s; *p != '\0'; p++)
    if ((unsigned char) *p < 0x20 || (p[0] == ':' && p[1] == ' ') || (p[0] == ' ' && p[1] == '#'))
      return false;
  return true;
}

/* VALUE written as YAML, in STYLE when it allows (plain falls back to
 * double quotes), appended to B. */
static void
add_value (struct hoist_buf *b, const char *value, yaml_scalar_style_t style, bool flow)
{
  bool ok = true;

  if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE)
    {
      ok &= hoist_buf_addch (b, '\'', NULL) == 0;
      for (const char *p = value; *p != '\0'; p++)
        ok &= hoist_buf_add (b, *p == '\'' ? "''" : p, *p == '\'' ? 2 : 1, NULL) == 0;
      ok &= hoist_buf_addch (b, '\'', NULL) == 0;
    }
  else if (style == YAML_PLAIN_SCALAR_STYLE && plain_ok (value, flow))
    ok &= hoist_buf_addstr (b, value, NULL) == 0;
  else
    {
      ok &= hoist_buf_addch (b, '"', NULL) == 0;
      for (const char *p = value; *p != '\0'; p++)
        if (*p == '"' || *p == '\\')
          ok &= hoist_buf_addf (b, NULL, "\\%c", *p) == 0;
        else
          ok &= hoist_buf_addch (b, *p, NULL) == 0;
      ok &= hoist_buf_addch (b, '"', NULL) == 0;
    }
  if (!ok)
    abort ();
}

/* ---------------------------------------------------------------------
 * Edits: ranges of the text replaced, applied in order
 * ------------------------------------------------------------------- */

struct edit
{
  size_t start, end;
  char *text;
};

struct edits
{
  const char *text;
  size_t len;
  const char *eol; /* "\n" or "\r\n", as the file has it */
  struct edit *v;
  size_t n;
};

static void
edit_add (struct edits *e, size_t start, size_t end, char *text)
{
  e->v = hoist_xreallocarray (e->v, e->n + 1, sizeof *e->v);
  e->v[e->n++] = (struct edit){ .start = start, .end = end, .text = text };
}

static int
cmp_edit (const void *a, const void *b)
{
  const struct edit *x = a, *y = b;

  return x->start < y->start ? -1 : x->start > y->start;
}

static char *
edits_apply (struct edits *e, size_t *out_len)
{
  struct hoist_buf b;
  size_t at = 0;

  qsort (e->v, e->n, sizeof *e->v, cmp_edit);
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < e->n; i++)
    {
      if (hoist_buf_add (&b, e->text + at, e->v[i].start - at, NULL) < 0
          || hoist_buf_addstr (&b, e->v[i].text, NULL) < 0)
        abort ();
      at = e->v[i].end;
    }
  if (hoist_buf_add (&b, e->text + at, e->len - at, NULL) < 0 || hoist_buf_addch (&b, '\0', NULL) < 0)
    abort ();
  *out_len = b.len - 1;
  return hoist_buf_detach (&b, NULL);
}

static void
edits_release (struct edits *e)
{
  for (size_t i = 0; i < e->n; i++)
    free (e->v[i].text);
  free (e->v);
}

/* The end of the line POS is on: where a new line can be inserted after
 * it (a comment at its end stays there). */
static size_t
line_end (const struct edits *e, size_t pos)
{
  while (pos < e->len && e->text[pos] != '\n')
    pos++;
  if (pos < e->len && pos > 0 && e->text[pos - 1] == '\r')
    pos--;
  return pos;
}

/* Where a new line goes after node N: the end of the line its text ends
 * on.  A block scalar's range runs on over the blank lines (and comments)
 * after it; those stay after the new line. */
static size_t
after_node (const struct edits *e, const struct ynode *n)
{
  const struct ynode *last = n;
  size_t end = n->end;

  while ((last->kind == Y_MAP || last->kind == Y_SEQ) && last->n > 0 && !last->flow)
    last = last->kids[last->n - 1];
  /* Kept ("|+") trailing lines are the value's own: the new line follows them. */
  if (last->kind == Y_SCALAR
      && (last->style == YAML_LITERAL_SCALAR_STYLE || last->style == YAML_FOLDED_SCALAR_STYLE)
      && memchr (e->text + last->start, '+', strcspn (e->text + last->start, "\r\n#")) != NULL)
    {
      /* The scalar ends where the next line starts: the new line goes
       * before that line's break. */
      while (end > last->start && e->text[end - 1] != '\n')
        end--;
      if (end > last->start)
        end--;
      if (end > last->start && e->text[end - 1] == '\r')
        end--;
      return end;
    }
  while (end > n->start && strchr (" \t\r\n", e->text[end - 1]) != NULL)
    end--;
  return line_end (e, end);
}

static char *
spaces (size_t n)
{
  char *s = hoist_xmalloc (n + 1);

  memset (s, ' ', n);
  s[n] = '\0';
  return s;
}

/* Replace scalar N's text with VALUE (its style kept where possible). */
static void
replace_scalar (struct edits *e, const struct ynode *n, const char *value)
{
  struct hoist_buf b;
  yaml_scalar_style_t style = n->style;

  size_t end = n->end;

  if (style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE)
    {
      /* A block scalar's range runs to the next line: its line breaks
       * (and the next line's indentation) stay. */
      style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
      while (end > n->start && strchr (" \t\r\n", e->text[end - 1]) != NULL)
        end--;
    }
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  add_value (&b, value, style, n->in_flow);
  if (n->start == n->end)
    {
      /* An empty value ("key:"): the new one goes after a space. */
      char *t = hoist_xasprintf (" %s", b.data);
      hoist_buf_release (&b);
      edit_add (e, n->start, n->end, t);
      return;
    }
  edit_add (e, n->start, end, hoist_buf_detach (&b, NULL));
}

/* "key: value" text (VALUE NULL: "key:"), for block or FLOW style. */
static char *
key_value (const char *key, const char *value, bool flow)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  add_value (&b, key, YAML_PLAIN_SCALAR_STYLE, flow);
  if (hoist_buf_addch (&b, ':', NULL) < 0)
    abort ();
  if (value != NULL)
    {
      if (hoist_buf_addch (&b, ' ', NULL) < 0)
        abort ();
      add_value (&b, value, YAML_PLAIN_SCALAR_STYLE, flow);
    }
  return hoist_buf_detach (&b, NULL);
}

/* The value of KEY in mapping M, or NULL; *KEY_NODE gets the key. */
static struct ynode *
map_get (const struct ynode *m, const char *key, struct ynode **key_node)
{
  for (size_t i = 0; m != NULL && m->kind == Y_MAP && i + 1 < m->n; i += 2)
    if (m->kids[i]->kind == Y_SCALAR && strcmp (m->kids[i]->value, key) == 0)
      {
        if (key_node != NULL)
          *key_node = m->kids[i];
        return m->kids[i + 1];
      }
  return NULL;
}

/* Add "KEY: VALUE" to mapping M, after its last pair, as its other keys
 * are written (block: a new line at their column; flow: ", k: v"). */
static void
map_add (struct edits *e, const struct ynode *m, const char *key, const char *value)
{
  cleanup_free char *kv = key_value (key, value, m->flow || m->in_flow);

  if (m->flow)
    {
      size_t at = m->n > 0 ? m->kids[m->n - 1]->end : m->start + 1;

      edit_add (e, at, at, hoist_xasprintf ("%s%s", m->n > 0 ? ", " : "", kv));
      return;
    }
  {
    cleanup_free char *pad = spaces (m->kids[0]->col);
    size_t at = after_node (e, m);

    edit_add (e, at, at, hoist_xasprintf ("%s%s%s", e->eol, pad, kv));
  }
}

/* ---------------------------------------------------------------------
 * Kustomization images[]
 * ------------------------------------------------------------------- */

static const char *
entry_name (const struct ynode *item)
{
  const struct ynode *v = map_get (item, "name", NULL);

  return v != NULL && v->kind == Y_SCALAR ? v->value : NULL;
}

/* The fields IMG sets, in kustomize's order. */
static size_t
image_fields (const struct runner_bump_image *img, const char *keys[3], const char *values[3])
{
  size_t n = 0;

  if (img->new_name != NULL)
    keys[n] = "newName", values[n++] = img->new_name;
  if (img->new_tag != NULL)
    keys[n] = "newTag", values[n++] = img->new_tag;
  if (img->digest != NULL)
    keys[n] = "digest", values[n++] = img->digest;
  return n;
}

/* Set IMG's fields in the entry ITEM. */
static int
update_entry (struct edits *e, const struct ynode *item, const struct runner_bump_image *img, struct hoist_error **err)
{
  const char *keys[3], *values[3];
  size_t n = image_fields (img, keys, values);

  for (size_t i = 0; i < n; i++)
    {
      struct ynode *v = map_get (item, keys[i], NULL);

      if (v == NULL)
        map_add (e, item, keys[i], values[i]);
      else if (v->kind != Y_SCALAR)
        return hoist_error_set (err, 0, "images entry '%s' has a %s that is not a value (line %zu)", img->name, keys[i],
                                v->line + 1);
      else if (strcmp (v->value, values[i]) != 0)
        replace_scalar (e, v, values[i]);
    }
  return 0;
}

/* A new entry's text: block lines at DASH_COL/KEY_COL, or a flow mapping. */
static char *
new_entry (const struct edits *e, const struct runner_bump_image *img, bool flow, size_t dash_col, size_t key_col)
{
  const char *keys[3], *values[3];
  size_t n = image_fields (img, keys, values);
  cleanup_free char *dash_pad = spaces (dash_col),
                    *key_pad = spaces (key_col > dash_col + 2 ? key_col - dash_col - 2 : 0);
  cleanup_free char *key_indent = spaces (key_col);
  struct hoist_buf b;
  char *kv = key_value ("name", img->name, flow);
  bool ok;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  ok = flow ? hoist_buf_addf (&b, NULL, "{%s", kv) == 0
            : hoist_buf_addf (&b, NULL, "%s-%s %s", dash_pad, key_pad, kv) == 0;
  free (kv);
  for (size_t i = 0; i < n; i++)
    {
      kv = key_value (keys[i], values[i], flow);
      ok &= flow ? hoist_buf_addf (&b, NULL, ", %s", kv) == 0
                 : hoist_buf_addf (&b, NULL, "%s%s%s", e->eol, key_indent, kv) == 0;
      free (kv);
    }
  if (flow)
    ok &= hoist_buf_addch (&b, '}', NULL) == 0;
  if (!ok)
    abort ();
  return hoist_buf_detach (&b, NULL);
}

/* Append an entry to the images sequence SEQ. */
static void
append_entry (struct edits *e, const struct ynode *seq, const struct runner_bump_image *img)
{
  char *entry;
  size_t dash_col = seq->col, key_col = seq->col + 2;

  if (seq->flow)
    {
      size_t at = seq->n > 0 ? seq->kids[seq->n - 1]->end : seq->start + 1;
      entry = new_entry (e, img, true, 0, 0);
      edit_add (e, at, at, hoist_xasprintf ("%s%s", seq->n > 0 ? ", " : "", entry));
      free (entry);
      return;
    }
  if (seq->kids[0]->kind == Y_MAP && seq->kids[0]->n > 0)
    key_col = seq->kids[0]->kids[0]->col;
  /* The sequence's column is its first dash. */
  entry = new_entry (e, img, false, dash_col, key_col);
  {
    size_t at = after_node (e, seq);
    edit_add (e, at, at, hoist_xasprintf ("%s%s", e->eol, entry));
  }
  free (entry);
}

/* images: missing, empty or null: a block section with the entry. */
static void
add_images_section (struct edits *e, const struct ynode *root, const struct ynode *key, const struct ynode *value,
                    const struct runner_bump_image *img)
{
  cleanup_free char *entry = new_entry (e, img, false, 0, 2);
  bool ends_nl = e->len > 0 && e->text[e->len - 1] == '\n';

  if (key != NULL && value != NULL)
    {
      size_t at = line_end (e, key->end);

      /* "images:" or "images: null" or "images: []": the value goes. */
      if (value->end > value->start && value->end <= at)
        edit_add (e, value->start, value->end, hoist_xstrdup (""));
      edit_add (e, at, at, hoist_xasprintf ("%s%s", e->eol, entry));
      return;
    }
  (void) root;
  edit_add (e, e->len, e->len,
            hoist_xasprintf ("%s%simages:%s%s%s", e->len > 0 && !ends_nl ? e->eol : "", "", e->eol, entry, e->eol));
}

static const char *
detect_eol (const char *text, size_t len)
{
  const char *nl = memchr (text, '\n', len);

  return nl != NULL && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

static int
kustomize_edits (struct edits *e, const struct ynode *root, const struct runner_bump_image *img,
                 struct hoist_error **err)
{
  struct ynode *key = NULL, *images;
  const struct ynode *found = NULL;

  if (root == NULL || (root->kind == Y_SCALAR && root->value[0] == '\0'))
    {
      add_images_section (e, NULL, NULL, NULL, img);
      return 0;
    }
  if (root->kind != Y_MAP)
    return hoist_error_set (err, 0, "a kustomization is a mapping of keys; this file is not");
  images = map_get (root, "images", &key);
  if (images == NULL)
    {
      add_images_section (e, root, NULL, NULL, img);
      return 0;
    }
  if (images->kind == Y_SCALAR
      && (images->value[0] == '\0' || strcmp (images->value, "null") == 0 || strcmp (images->value, "~") == 0))
    {
      add_images_section (e, root, key, images, img);
      return 0;
    }
  if (images->kind != Y_SEQ)
    return hoist_error_set (err, 0, "'images' (line %zu) is not a list", images->line + 1);
  for (size_t i = 0; i < images->n; i++)
    {
      const struct ynode *item = images->kids[i];
      const char *name = item->kind == Y_MAP ? entry_name (item) : NULL;

      if (name == NULL || strcmp (name, img->name) != 0)
        continue;
      if (found != NULL)
        return hoist_error_set (err, 0, "images has two entries named '%s' (lines %zu and %zu)", img->name,
                                found->line + 1, item->line + 1);
      found = item;
    }
  if (found != NULL)
    return update_entry (e, found, img, err);
  if (images->n == 0 && !images->flow)
    add_images_section (e, root, key, images, img);
  else
    append_entry (e, images, img);
  return 0;
}

/* Run MAKE's edits over TEXT into *OUT. */
static int
finish (struct edits *e, char **out, size_t *out_len, bool *changed)
{
  *changed = e->n > 0;
  if (e->n == 0)
    {
      *out = hoist_xstrndup (e->text, e->len);
      *out_len = e->len;
    }
  else
    *out = edits_apply (e, out_len);
  edits_release (e);
  return 0;
}

int
runner_bump_kustomization (const char *text, size_t len, const struct runner_bump_image *img, char **out,
                           size_t *out_len, bool *changed, struct hoist_error **err)
{
  struct edits e = { .text = text, .len = len, .eol = detect_eol (text, len) };
  struct ynode *root = NULL;
  int ret;

  *out = NULL;
  *changed = false;
  if (len > RUNNER_BUMP_MAX_BYTES)
    return hoist_error_set (err, EFBIG, "the file is larger than %u bytes", RUNNER_BUMP_MAX_BYTES);
  if (img->name == NULL || img->name[0] == '\0')
    return hoist_error_set (err, EINVAL, "no image name to set");
  ret = read_tree (text, len, &root, err);
  if (ret == 0)
    ret = kustomize_edits (&e, root, img, err);
  ynode_free (root);
  if (ret < 0)
    {
      edits_release (&e);
      return -1;
    }
  return finish (&e, out, out_len, changed);
}

/* ---------------------------------------------------------------------
 * Any YAML file: the scalar at a key path
 * ------------------------------------------------------------------- */

/* Lines for the missing keys KEYS[0..N) ending in VALUE, the first at
 * COL, each next two columns deeper. */
static char *
nested_keys (const struct edits *e, char **keys, size_t n, const char *value, size_t col)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *pad = spaces (col + 2 * i);
      cleanup_free char *kv = key_value (keys[i], i + 1 == n ? value : NULL, false);

      if (hoist_buf_addf (&b, NULL, "%s%s%s", i > 0 ? e->eol : "", pad, kv) < 0)
        abort ();
    }
  return hoist_buf_detach (&b, NULL);
}

/* Add KEYS (the rest of the path) with VALUE under mapping M, whose own
 * key (NULL for the root) is PARENT_KEY. */
static void
add_path (struct edits *e, const struct ynode *m, const struct ynode *parent_key, char **keys, size_t n,
          const char *value)
{
  size_t col, at;
  cleanup_free char *lines = NULL;

  if (m != NULL && m->kind == Y_MAP && m->flow)
    {
      /* Flow mappings get the first key; deeper ones as a flow value. */
      struct hoist_buf b;
      char *kv;

      hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
      for (size_t i = 0; i < n; i++)
        {
          kv = key_value (keys[i], i + 1 == n ? value : NULL, true);
          if (hoist_buf_addf (&b, NULL, "%s%s", i > 0 ? " {" : "", kv) < 0)
            abort ();
          free (kv);
        }
      for (size_t i = 1; i < n; i++)
        if (hoist_buf_addch (&b, '}', NULL) < 0)
          abort ();
      at = m->n > 0 ? m->kids[m->n - 1]->end : m->start + 1;
      edit_add (e, at, at, hoist_xasprintf ("%s%s", m->n > 0 ? ", " : "", b.data));
      hoist_buf_release (&b);
      return;
    }
  if (m != NULL && m->kind == Y_MAP && m->n > 0)
    {
      col = m->kids[0]->col;
      at = after_node (e, m);
    }
  else if (parent_key != NULL)
    {
      /* An empty mapping ("key:"): the keys go on the lines below. */
      col = parent_key->col + 2;
      at = line_end (e, parent_key->end);
      if (m != NULL && m->kind == Y_SCALAR && m->end > m->start && m->end <= at)
        edit_add (e, m->start, m->end, hoist_xstrdup (""));
    }
  else
    {
      col = 0;
      at = e->len;
      lines = nested_keys (e, keys, n, value, col);
      edit_add (e, at, at,
                hoist_xasprintf ("%s%s%s", e->len > 0 && e->text[e->len - 1] != '\n' ? e->eol : "", lines, e->eol));
      return;
    }
  lines = nested_keys (e, keys, n, value, col);
  edit_add (e, at, at, hoist_xasprintf ("%s%s", e->eol, lines));
}

static int
yaml_edits (struct edits *e, const struct ynode *root, char **keys, const char *key_path, const char *value,
            struct hoist_error **err)
{
  const struct ynode *m = root, *parent_key = NULL;
  size_t n = hoist_strv_len (keys);

  if (root != NULL && !(root->kind == Y_MAP || (root->kind == Y_SCALAR && root->value[0] == '\0')))
    return hoist_error_set (err, 0, "the file is not a mapping of keys");
  for (size_t i = 0; i < n; i++)
    {
      struct ynode *k = NULL, *v = m != NULL && m->kind == Y_MAP ? map_get (m, keys[i], &k) : NULL;

      if (v == NULL)
        {
          add_path (e, m, parent_key, keys + i, n - i, value);
          return 0;
        }
      if (v->kind == Y_ALIAS)
        return hoist_error_set (err, 0, "'%s' (line %zu) is an alias: edit its anchor instead", keys[i], v->line + 1);
      if (i + 1 == n)
        {
          if (v->kind != Y_SCALAR)
            return hoist_error_set (err, 0, "'%s' (line %zu) holds %s, not a value", key_path, v->line + 1,
                                    v->kind == Y_MAP ? "a mapping" : "a list");
          if (strcmp (v->value, value) != 0 || (v->style == YAML_PLAIN_SCALAR_STYLE && !plain_ok (value, v->in_flow)))
            replace_scalar (e, v, value);
          return 0;
        }
      if (v->kind == Y_SEQ)
        return hoist_error_set (err, 0, "'%s' (line %zu) on the path '%s' is a list", keys[i], v->line + 1, key_path);
      if (v->kind == Y_SCALAR && v->value[0] != '\0' && strcmp (v->value, "null") != 0)
        return hoist_error_set (err, 0, "'%s' (line %zu) on the path '%s' holds a value, not a mapping", keys[i],
                                v->line + 1, key_path);
      parent_key = k;
      m = v;
    }
  return 0;
}

static char **
split_path (const char *key_path)
{
  char **keys = NULL;
  const char *p = key_path;

  while (*p != '\0')
    {
      size_t n = strcspn (p, ".");

      hoist_strv_push_take (&keys, hoist_xstrndup (p, n));
      p += n;
      if (*p == '.')
        p++;
    }
  return keys;
}

int
runner_bump_yaml (const char *text, size_t len, const char *key_path, const char *value, char **out, size_t *out_len,
                  bool *changed, struct hoist_error **err)
{
  struct edits e = { .text = text, .len = len, .eol = detect_eol (text, len) };
  cleanup_strv char **keys = NULL;
  struct ynode *root = NULL;
  int ret;

  *out = NULL;
  *changed = false;
  if (len > RUNNER_BUMP_MAX_BYTES)
    return hoist_error_set (err, EFBIG, "the file is larger than %u bytes", RUNNER_BUMP_MAX_BYTES);
  if (key_path == NULL || key_path[0] == '\0' || key_path[0] == '.' || key_path[strlen (key_path) - 1] == '.'
      || strstr (key_path, "..") != NULL)
    return hoist_error_set (err, EINVAL, "key path '%s' must be dotted names such as image.tag",
                            key_path != NULL ? key_path : "");
  keys = split_path (key_path);
  ret = read_tree (text, len, &root, err);
  if (ret == 0)
    ret = yaml_edits (&e, root, keys, key_path, value, err);
  ynode_free (root);
  if (ret < 0)
    {
      edits_release (&e);
      return -1;
    }
  return finish (&e, out, out_len, changed);
}

/* ---------------------------------------------------------------------
 * The spec of `hoist bump` and writing the file
 * ------------------------------------------------------------------- */

static bool
tag_ok (const char *s)
{
  size_t n = strlen (s);

  if (n == 0 || n > 128 || !(isalnum ((unsigned char) s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && strchr ("_.-", s[i]) == NULL)
      return false;
  return true;
}

static bool
digest_ok (const char *s)
{
  return strncmp (s, "sha256:", 7) == 0 && strlen (s) == 71 && all_of (s + 7, "0123456789abcdef");
}

int
runner_bump_parse_spec (const char *spec, struct runner_bump_image *img, char **buf, struct hoist_error **err)
{
  char *s = hoist_xstrdup (spec), *eq, *at, *colon, *slash;

  memset (img, 0, sizeof *img);
  *buf = s;
  for (const char *p = s; *p != '\0'; p++)
    if ((unsigned char) *p < 0x21 || *p == 0x7f)
      return hoist_error_set (err, EINVAL, "image spec holds spaces or control characters");
  eq = strchr (s, '=');
  at = strchr (eq != NULL ? eq : s, '@');
  if (at != NULL)
    {
      *at = '\0';
      img->digest = at + 1;
      if (!digest_ok (img->digest))
        return hoist_error_set (err, EINVAL, "'%s' is not a digest (sha256:<64 hex digits>)", img->digest);
    }
  if (eq != NULL)
    {
      *eq = '\0';
      img->name = s;
      /* The tag is after the last ':' that follows the last '/'. */
      slash = strrchr (eq + 1, '/');
      colon = strrchr (slash != NULL ? slash : eq + 1, ':');
      if (colon != NULL)
        {
          *colon = '\0';
          img->new_tag = colon + 1;
        }
      if (eq[1] != '\0')
        img->new_name = eq + 1;
    }
  else
    {
      slash = strrchr (s, '/');
      colon = strrchr (slash != NULL ? slash : s, ':');
      if (colon != NULL)
        {
          *colon = '\0';
          img->new_tag = colon + 1;
        }
      img->name = s;
    }
  if (img->name[0] == '\0')
    return hoist_error_set (err, EINVAL, "image spec '%s' has no image name (NAME=[NEWNAME]:TAG[@DIGEST])", spec);
  if (img->new_tag != NULL && !tag_ok (img->new_tag))
    return hoist_error_set (err, EINVAL, "'%s' is not a valid tag ([A-Za-z0-9_.-], at most 128)", img->new_tag);
  if (img->new_name == NULL && img->new_tag == NULL && img->digest == NULL)
    return hoist_error_set (
        err, EINVAL, "image spec '%s' sets nothing (NAME=[NEWNAME]:TAG[@DIGEST], NAME:TAG or NAME@DIGEST)", spec);
  return 0;
}

int
runner_bump_write_file (const char *path, const char *new_text, size_t len, struct hoist_error **err)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return hoist_error_set (err, errno, "cannot read '%s'", path);
  return hoist_replace_file (path, new_text, len, st.st_mode & 07777, err);
}
