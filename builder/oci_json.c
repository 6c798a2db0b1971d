/* oci_json.c — the JSON plumbing of the OCI documents: canonical bytes,
 * dates, string maps, descriptors and platforms, and the checked readers
 * every parser of untrusted documents (configs, manifests, indexes,
 * index.json) is built from. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/oci_private.h"

void
builder_json_decrefp (json_t **j)
{
  json_decref (*j);
  *j = NULL;
}

char *
builder_json_canonical (const json_t *doc, size_t *len)
{
  /* Compact and sorted: the bytes depend only on the content, so a
   * document hoist writes twice hashes to the same digest. */
  char *s = json_dumps (doc, JSON_COMPACT | JSON_SORT_KEYS);

  if (s != NULL && len != NULL)
    *len = strlen (s);
  return s;
}

/* ---- Dates ---------------------------------------------------------------- */

int
builder_format_time (int64_t epoch, char out[BUILDER_TIME_STR_SIZE], struct hoist_error **err)
{
  struct tm tm;
  time_t t = (time_t) epoch;

  /* Up to year 9999, what RFC 3339 writes in four digits; nothing before
   * 1970 (SOURCE_DATE_EPOCH is never negative). */
  if (epoch < 0 || epoch > 253402300799LL || gmtime_r (&t, &tm) == NULL)
    return hoist_error_set_status (err, EOVERFLOW, "cannot format time %lld as RFC 3339", (long long) epoch);
  if (strftime (out, BUILDER_TIME_STR_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) != BUILDER_TIME_STR_SIZE - 1)
    return hoist_error_set_status (err, EOVERFLOW, "cannot format time %lld as RFC 3339", (long long) epoch);
  return 0;
}

static bool
digits (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static int
two (const char *s)
{
  return (s[0] - '0') * 10 + (s[1] - '0');
}

bool
builder_time_valid (const char *s)
{
  /* RFC 3339 section 5.6: full-date "T" full-time.  Leap seconds (":60")
   * are allowed, as the grammar allows them. */
  if (strlen (s) < 20 || !digits (s, 4) || s[4] != '-' || !digits (s + 5, 2) || s[7] != '-' || !digits (s + 8, 2)
      || (s[10] != 'T' && s[10] != 't') || !digits (s + 11, 2) || s[13] != ':' || !digits (s + 14, 2) || s[16] != ':'
      || !digits (s + 17, 2))
    return false;
  if (two (s + 5) < 1 || two (s + 5) > 12 || two (s + 8) < 1 || two (s + 8) > 31 || two (s + 11) > 23
      || two (s + 14) > 59 || two (s + 17) > 60)
    return false;
  s += 19;
  if (*s == '.')
    {
      s++;
      if (*s < '0' || *s > '9')
        return false;
      while (*s >= '0' && *s <= '9')
        s++;
    }
  if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
    return true;
  if (*s != '+' && *s != '-')
    return false;
  return digits (s + 1, 2) && s[3] == ':' && digits (s + 4, 2) && s[6] == '\0' && two (s + 1) <= 23
         && two (s + 4) <= 59;
}

/* ---- String maps ---------------------------------------------------------- */

/* Index of KEY, or of where it would go (*FOUND false). */
static size_t
map_find (const struct builder_map *map, const char *key, bool *found)
{
  size_t lo = 0, hi = map->n;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (map->items[mid].key, key);
      if (c == 0)
        {
          *found = true;
          return mid;
        }
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  *found = false;
  return lo;
}

void
builder_map_set (struct builder_map *map, const char *key, const char *value)
{
  bool found;
  size_t i = map_find (map, key, &found);

  if (found)
    {
      free (map->items[i].value);
      map->items[i].value = hoist_xstrdup (value);
      return;
    }
  map->items = hoist_xreallocarray (map->items, map->n + 1, sizeof (*map->items));
  memmove (&map->items[i + 1], &map->items[i], (map->n - i) * sizeof (*map->items));
  map->items[i].key = hoist_xstrdup (key);
  map->items[i].value = hoist_xstrdup (value);
  map->n++;
}

const char *
builder_map_get (const struct builder_map *map, const char *key)
{
  bool found;
  size_t i = map_find (map, key, &found);

  return found ? map->items[i].value : NULL;
}

bool
builder_map_remove (struct builder_map *map, const char *key)
{
  bool found;
  size_t i = map_find (map, key, &found);

  if (!found)
    return false;
  free (map->items[i].key);
  free (map->items[i].value);
  memmove (&map->items[i], &map->items[i + 1], (map->n - i - 1) * sizeof (*map->items));
  map->n--;
  return true;
}

void
builder_map_copy (struct builder_map *dst, const struct builder_map *src)
{
  dst->n = 0;
  dst->items = NULL;
  if (src->n == 0)
    return;
  dst->items = hoist_xcalloc (src->n, sizeof (*dst->items));
  for (size_t i = 0; i < src->n; i++)
    {
      dst->items[i].key = hoist_xstrdup (src->items[i].key);
      dst->items[i].value = hoist_xstrdup (src->items[i].value);
    }
  dst->n = src->n;
}

void
builder_map_release (struct builder_map *map)
{
  for (size_t i = 0; i < map->n; i++)
    {
      free (map->items[i].key);
      free (map->items[i].value);
    }
  free (map->items);
  map->items = NULL;
  map->n = 0;
}

/* ---- Vectors -------------------------------------------------------------- */

char **
oci_strv_dup (char *const *v)
{
  char **copy = NULL;

  if (v == NULL)
    return NULL;
  copy = hoist_xcalloc (1, sizeof (*copy));
  for (size_t i = 0; v[i] != NULL; i++)
    hoist_strv_push (&copy, v[i]);
  return copy;
}

void
oci_strset_add (char ***set, const char *s)
{
  size_t n = hoist_strv_len (*set);
  size_t lo = 0, hi = n;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp ((*set)[mid], s);
      if (c == 0)
        return;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  *set = hoist_xreallocarray (*set, n + 2, sizeof (**set));
  memmove (&(*set)[lo + 1], &(*set)[lo], (n - lo) * sizeof (**set));
  (*set)[lo] = hoist_xstrdup (s);
  (*set)[n + 1] = NULL; /* *SET may have been NULL, with no terminator */
}

/* ---- Writing -------------------------------------------------------------- */

/* S with every byte that does not start a valid sequence replaced by
 * U+FFFD, as Go's encoder writes it. */
static char *
utf8_fix (const char *s)
{
  struct hoist_buf b;
  int ret = 0;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (const char *p = s; *p != '\0' && ret == 0;)
    {
      uint32_t cp;
      size_t n = hoist_utf8_decode (p, strnlen (p, 4), &cp);
      if (n == 0)
        {
          ret = hoist_buf_addstr (&b, "\xef\xbf\xbd", NULL);
          p++;
        }
      else
        {
          ret = hoist_buf_add (&b, p, n, NULL);
          p += n;
        }
    }
  if (ret < 0)
    abort (); /* a buffer without a limit fails only when out of memory */
  return hoist_buf_detach (&b, NULL);
}

json_t *
oci_json_string (const char *s)
{
  json_t *j = json_string (s);
  cleanup_free char *fixed = NULL;

  if (j != NULL)
    return j;
  fixed = utf8_fix (s);
  j = json_string (fixed);
  if (j == NULL)
    abort (); /* only out of memory is left */
  return j;
}

/* json_object_set_new that keeps a key that is not UTF-8 (fixed). */
static void
obj_set (json_t *obj, const char *key, json_t *value)
{
  cleanup_free char *fixed = NULL;

  if (json_object_set (obj, key, value) == 0)
    {
      json_decref (value);
      return;
    }
  fixed = utf8_fix (key);
  json_object_set_new (obj, fixed, value);
}

void
oci_put_string (json_t *obj, const char *key, const char *s)
{
  if (s != NULL)
    json_object_set_new (obj, key, oci_json_string (s));
}

void
oci_put_strv (json_t *obj, const char *key, char *const *v)
{
  json_t *a;

  if (v == NULL || v[0] == NULL)
    return;
  a = json_array ();
  for (size_t i = 0; v[i] != NULL; i++)
    json_array_append_new (a, oci_json_string (v[i]));
  json_object_set_new (obj, key, a);
}

void
oci_put_set (json_t *obj, const char *key, char *const *set)
{
  json_t *o;

  if (set == NULL || set[0] == NULL)
    return;
  o = json_object ();
  for (size_t i = 0; set[i] != NULL; i++)
    obj_set (o, set[i], json_object ());
  json_object_set_new (obj, key, o);
}

void
oci_put_map (json_t *obj, const char *key, const struct builder_map *map)
{
  json_t *o;

  if (map->n == 0)
    return;
  o = json_object ();
  for (size_t i = 0; i < map->n; i++)
    obj_set (o, map->items[i].key, oci_json_string (map->items[i].value));
  json_object_set_new (obj, key, o);
}

/* ---- Reading -------------------------------------------------------------- */

const json_t *
oci_member (const json_t *obj, const char *key)
{
  const json_t *v = json_object_get (obj, key);

  return json_is_null (v) ? NULL : v;
}

int
oci_check_object (const json_t *j, const char *what, const char *field, struct hoist_error **err)
{
  if (json_is_object (j))
    return 0;
  if (field == NULL || *field == '\0')
    return hoist_error_set_status (err, EINVAL, "%s: must be a JSON object", what);
  return hoist_error_set_status (err, EINVAL, "%s: '%s' must be an object", what, field);
}

int
oci_get_object (const json_t *obj, const char *key, const char *what, const char *prefix, const json_t **out,
                struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_object (v))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an object", what, prefix, key);
  *out = v;
  return 0;
}

int
oci_get_string (const json_t *obj, const char *key, const char *what, const char *prefix, char **out,
                struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_string (v))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be a string", what, prefix, key);
  *out = hoist_xstrdup (json_string_value (v));
  return 0;
}

int
oci_need_string (const json_t *obj, const char *key, const char *what, const char *prefix, char **out,
                 struct hoist_error **err)
{
  if (oci_get_string (obj, key, what, prefix, out, err) < 0)
    return -EINVAL;
  if (*out == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' is missing", what, prefix, key);
  return 0;
}

int
oci_get_strv (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max, char ***out,
              struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);
  cleanup_strv char **vec = NULL;
  size_t i;
  json_t *item;

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_array (v))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an array of strings", what, prefix, key);
  if (json_array_size (v) > max)
    return hoist_error_set_status (err, E2BIG, "%s: '%s%s' has more than %zu entries", what, prefix, key, max);
  vec = hoist_xcalloc (1, sizeof (*vec));
  json_array_foreach (v, i, item)
    {
      if (!json_is_string (item))
        return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an array of strings", what, prefix, key);
      hoist_strv_push (&vec, json_string_value (item));
    }
  *out = steal_pointer (&vec);
  return 0;
}

int
oci_get_set (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max, char ***out,
             struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);
  cleanup_strv char **set = NULL;
  const char *k;
  json_t *item;

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_object (v))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an object of objects", what, prefix, key);
  if (json_object_size (v) > max)
    return hoist_error_set_status (err, E2BIG, "%s: '%s%s' has more than %zu entries", what, prefix, key, max);
  set = hoist_xcalloc (1, sizeof (*set));
  json_object_foreach ((json_t *) v, k, item)
    {
      if (!json_is_object (item))
        return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an object of objects", what, prefix, key);
      oci_strset_add (&set, k);
    }
  *out = steal_pointer (&set);
  return 0;
}

int
oci_get_map (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max,
             struct builder_map *out, struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);
  const char *k;
  json_t *item;

  if (v == NULL)
    return 0;
  if (!json_is_object (v))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an object of strings", what, prefix, key);
  if (json_object_size (v) > max)
    return hoist_error_set_status (err, E2BIG, "%s: '%s%s' has more than %zu entries", what, prefix, key, max);
  json_object_foreach ((json_t *) v, k, item)
    {
      if (!json_is_string (item))
        {
          builder_map_release (out);
          return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an object of strings", what, prefix, key);
        }
      builder_map_set (out, k, json_string_value (item));
    }
  return 0;
}

int
oci_get_int (const json_t *obj, const char *key, const char *what, const char *prefix, int64_t min, int64_t max,
             int64_t *out, bool *present, struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);
  json_int_t n;

  if (present != NULL)
    *present = false;
  if (v == NULL)
    return 0;
  /* A real such as 1.5 or 1e3 is not an integer here: Go refuses it for
   * an int field too. */
  if (!json_is_integer (v))
    goto bad;
  n = json_integer_value (v);
  if (n < min || n > max)
    goto bad;
  *out = n;
  if (present != NULL)
    *present = true;
  return 0;

bad:
  if (min == 0)
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be a non-negative integer", what, prefix, key);
  return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be an integer in [%lld, %lld]", what, prefix, key,
                                 (long long) min, (long long) max);
}

int
oci_get_digest (const json_t *obj, const char *key, const char *what, const char *prefix,
                char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  const json_t *v = oci_member (obj, key);

  if (v == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' is missing", what, prefix, key);
  if (!json_is_string (v) || !hoist_digest_valid (json_string_value (v)))
    return hoist_error_set_status (err, EINVAL, "%s: '%s%s' must be a sha256 digest", what, prefix, key);
  memcpy (out, json_string_value (v), HOIST_DIGEST_STR_SIZE);
  return 0;
}

/* One restricted-name of RFC 6838 (the character set the OCI schema
 * allows): a letter or digit, then up to 126 of those and "!#$&^_.+-". */
static const char *
media_name (const char *s)
{
  size_t n = 0;

  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
    return NULL;
  for (s++; *s != '\0' && *s != '/'; s++, n++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || strchr ("!#$&^_.+-", *s) != NULL)
        || n >= 126)
      return NULL;
  return s;
}

bool
oci_media_type_valid (const char *s)
{
  const char *p = media_name (s);

  if (p == NULL || *p != '/')
    return false;
  p = media_name (p + 1);
  return p != NULL && *p == '\0';
}

bool
builder_media_type_is_manifest (const char *media_type)
{
  return media_type != NULL
         && (strcmp (media_type, BUILDER_MT_OCI_MANIFEST) == 0 || strcmp (media_type, BUILDER_MT_DOCKER_MANIFEST) == 0);
}

bool
builder_media_type_is_index (const char *media_type)
{
  return media_type != NULL
         && (strcmp (media_type, BUILDER_MT_OCI_INDEX) == 0 || strcmp (media_type, BUILDER_MT_DOCKER_LIST) == 0);
}

/* ---- Platforms and descriptors ---------------------------------------- */

bool
builder_platform_matches (const struct builder_platform *p, const char *os, const char *arch, const char *variant)
{
  if (p == NULL || strcmp (p->os, os) != 0 || strcmp (p->architecture, arch) != 0)
    return false;
  return variant == NULL || p->variant == NULL || strcmp (p->variant, variant) == 0;
}

void
builder_platform_free (struct builder_platform *p)
{
  if (p == NULL)
    return;
  free (p->architecture);
  free (p->os);
  free (p->variant);
  free (p->os_version);
  hoist_strv_free (p->os_features);
  free (p);
}

struct builder_platform *
builder_platform_copy (const struct builder_platform *p)
{
  struct builder_platform *c;

  if (p == NULL)
    return NULL;
  c = hoist_xcalloc (1, sizeof (*c));
  c->architecture = p->architecture ? hoist_xstrdup (p->architecture) : NULL;
  c->os = p->os ? hoist_xstrdup (p->os) : NULL;
  c->variant = p->variant ? hoist_xstrdup (p->variant) : NULL;
  c->os_version = p->os_version ? hoist_xstrdup (p->os_version) : NULL;
  c->os_features = oci_strv_dup (p->os_features);
  return c;
}

static json_t *
platform_to_json (const struct builder_platform *p)
{
  json_t *j = json_object ();

  oci_put_string (j, "architecture", p->architecture);
  oci_put_string (j, "os", p->os);
  oci_put_string (j, "variant", p->variant);
  oci_put_string (j, "os.version", p->os_version);
  oci_put_strv (j, "os.features", p->os_features);
  return j;
}

static void
platform_freep (struct builder_platform **p)
{
  builder_platform_free (*p);
}

static int
platform_from_json (const json_t *j, const char *what, const char *field, struct builder_platform **out,
                    struct hoist_error **err)
{
  __attribute__ ((cleanup (platform_freep))) struct builder_platform *p = NULL;
  cleanup_free char *prefix = hoist_xasprintf ("%s.", field);

  if (oci_check_object (j, what, field, err) < 0)
    return -EINVAL;
  p = hoist_xcalloc (1, sizeof (*p));
  if (oci_need_string (j, "architecture", what, prefix, &p->architecture, err) < 0
      || oci_need_string (j, "os", what, prefix, &p->os, err) < 0
      || oci_get_string (j, "variant", what, prefix, &p->variant, err) < 0
      || oci_get_string (j, "os.version", what, prefix, &p->os_version, err) < 0
      || oci_get_strv (j, "os.features", what, prefix, BUILDER_CONFIG_ITEMS_MAX, &p->os_features, err) < 0)
    return -EINVAL;
  *out = steal_pointer (&p);
  return 0;
}

void
builder_descriptor_init (struct builder_descriptor *d)
{
  memset (d, 0, sizeof (*d));
}

void
builder_descriptor_release (struct builder_descriptor *d)
{
  free (d->media_type);
  builder_map_release (&d->annotations);
  free (d->artifact_type);
  hoist_strv_free (d->urls);
  builder_platform_free (d->platform);
  builder_descriptor_init (d);
}

void
builder_descriptor_copy (struct builder_descriptor *dst, const struct builder_descriptor *src)
{
  builder_descriptor_init (dst);
  dst->media_type = src->media_type ? hoist_xstrdup (src->media_type) : NULL;
  memcpy (dst->digest, src->digest, sizeof (dst->digest));
  dst->size = src->size;
  builder_map_copy (&dst->annotations, &src->annotations);
  dst->artifact_type = src->artifact_type ? hoist_xstrdup (src->artifact_type) : NULL;
  dst->urls = oci_strv_dup (src->urls);
  dst->platform = builder_platform_copy (src->platform);
}

void
builder_descriptor_set (struct builder_descriptor *d, const char *media_type, const char *digest, int64_t size)
{
  free (d->media_type);
  d->media_type = hoist_xstrdup (media_type);
  /* A digest too long for the field is cut, and then invalid: every
   * writer checks it with hoist_digest_valid. */
  snprintf (d->digest, sizeof (d->digest), "%s", digest);
  d->size = size;
}

json_t *
builder_descriptor_to_json (const struct builder_descriptor *d)
{
  json_t *j = json_object ();

  oci_put_string (j, "mediaType", d->media_type);
  json_object_set_new (j, "digest", oci_json_string (d->digest));
  json_object_set_new (j, "size", json_integer (d->size));
  oci_put_string (j, "artifactType", d->artifact_type);
  oci_put_strv (j, "urls", d->urls);
  oci_put_map (j, "annotations", &d->annotations);
  if (d->platform != NULL)
    json_object_set_new (j, "platform", platform_to_json (d->platform));
  return j;
}

static int
descriptor_fill (const json_t *j, const char *what, const char *field, struct builder_descriptor *d,
                 struct hoist_error **err)
{
  cleanup_free char *prefix = hoist_xasprintf ("%s.", field);
  const json_t *platform;

  if (oci_check_object (j, what, field, err) < 0)
    return -EINVAL;
  if (oci_need_string (j, "mediaType", what, prefix, &d->media_type, err) < 0)
    return -EINVAL;
  if (!oci_media_type_valid (d->media_type))
    return hoist_error_set_status (err, EINVAL, "%s: '%smediaType' is not a media type", what, prefix);
  if (oci_get_digest (j, "digest", what, prefix, d->digest, err) < 0)
    return -EINVAL;
  if (oci_member (j, "size") == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: '%ssize' is missing", what, prefix);
  if (oci_get_int (j, "size", what, prefix, 0, INT64_MAX, &d->size, NULL, err) < 0)
    return -EINVAL;
  if (oci_get_string (j, "artifactType", what, prefix, &d->artifact_type, err) < 0
      || oci_get_strv (j, "urls", what, prefix, BUILDER_CONFIG_ITEMS_MAX, &d->urls, err) < 0
      || oci_get_map (j, "annotations", what, prefix, BUILDER_CONFIG_ITEMS_MAX, &d->annotations, err) < 0)
    return -EINVAL;
  platform = oci_member (j, "platform");
  if (platform != NULL)
    {
      cleanup_free char *pf = hoist_xasprintf ("%s.platform", field);
      if (platform_from_json (platform, what, pf, &d->platform, err) < 0)
        return -EINVAL;
    }
  return 0;
}

int
builder_descriptor_from_json (const json_t *j, const char *what, const char *field, struct builder_descriptor *out,
                              struct hoist_error **err)
{
  builder_descriptor_init (out);
  if (descriptor_fill (j, what, field, out, err) < 0)
    {
      builder_descriptor_release (out);
      return -EINVAL;
    }
  return 0;
}
