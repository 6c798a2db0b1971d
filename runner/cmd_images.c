/* cmd_images.c — `hoist images`: the tagged images of hoist's store, as
 * `docker images` lists them (REPOSITORY TAG DIGEST CREATED SIZE), or as
 * JSON with --format json.  SIZE is what the image's blobs take in the
 * store (config and compressed layers), not the unpacked size. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/builder.h"
#include "runner/runner.h"

/* An index nested in an index is followed this deep for a size. */
#define SIZE_DEPTH_MAX 2

static void
images_usage (FILE *out)
{
  fprintf (out, "usage: hoist images [--format table|json]\n\n"
                "List the tagged images of hoist's store ($HOIST_HOME/store, default\n"
                "~/.local/share/hoist/store).\n\n"
                "      --format FORMAT  table (default) or json (one array of objects)\n"
                "  -h, --help           show this help\n");
}

/* Bytes of DESC and everything it reaches; -1 when a blob is missing. */
static int64_t
image_size (struct builder_store *store, const struct builder_descriptor *desc, int depth)
{
  json_t *doc = NULL;
  int64_t total = desc->size;

  if (depth > SIZE_DEPTH_MAX || builder_store_read_json (store, desc->digest, 0, &doc, NULL) < 0)
    return -1;
  if (builder_media_type_is_manifest (desc->media_type))
    {
      struct builder_manifest *m = NULL;
      if (builder_manifest_from_json (doc, &m, NULL) < 0)
        total = -1;
      else
        {
          total += m->config.size;
          for (size_t i = 0; i < m->n_layers; i++)
            total += m->layers[i].size;
        }
      builder_manifest_free (m);
    }
  else if (builder_media_type_is_index (desc->media_type))
    {
      struct builder_index *idx = NULL;
      if (builder_index_from_json (doc, &idx, NULL) < 0 || idx->n_manifests == 0)
        total = -1;
      else
        {
          /* The first platform stands for the image, as docker shows one. */
          int64_t s = image_size (store, &idx->manifests[0], depth + 1);
          total = s < 0 ? -1 : total + s;
        }
      builder_index_free (idx);
    }
  json_decref (doc);
  return total;
}

static void
human_size (int64_t size, char *out, size_t n)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double) size;
  size_t u = 0;

  if (size < 0)
    {
      snprintf (out, n, "?");
      return;
    }
  while (v >= 1000 && u + 1 < sizeof units / sizeof units[0])
    {
      v /= 1000;
      u++;
    }
  snprintf (out, n, "%.3g%s", v, units[u]);
}

/* "3 hours ago", as docker images words it; "?" when unknown. */
static void
human_age (const char *created, char *out, size_t n)
{
  struct tm tm = { 0 };
  const char *end;
  time_t t, now = time (NULL);
  long long d;

  if (created == NULL || (end = strptime (created, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
    {
      snprintf (out, n, "?");
      return;
    }
  t = timegm (&tm);
  d = (long long) (now - t);
  if (d < 0)
    snprintf (out, n, "in the future");
  else if (d < 60)
    snprintf (out, n, "%lld seconds ago", d);
  else if (d < 3600)
    snprintf (out, n, "%lld minutes ago", d / 60);
  else if (d < 2 * 86400)
    snprintf (out, n, "%lld hours ago", d / 3600);
  else if (d < 14 * 86400)
    snprintf (out, n, "%lld days ago", d / 86400);
  else if (d < 60 * 86400)
    snprintf (out, n, "%lld weeks ago", d / (7 * 86400));
  else if (d < 730 * 86400)
    snprintf (out, n, "%lld months ago", d / (30 * 86400));
  else
    snprintf (out, n, "%lld years ago", d / (365 * 86400));
}

static void
print_table (struct builder_store *store, const struct builder_store_image *img, size_t n)
{
  printf ("%-40s %-16s %-14s %-16s %s\n", "REPOSITORY", "TAG", "DIGEST", "CREATED", "SIZE");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      char size[32], age[48];

      builder_tag_split (img[i].tag, &repo, &tag);
      human_size (image_size (store, &img[i].desc, 0), size, sizeof size);
      human_age (img[i].created, age, sizeof age);
      printf ("%-40s %-16s %-14.12s %-16s %s\n", repo, *tag != '\0' ? tag : "<none>", img[i].desc.digest + 7, age,
              size);
    }
}

static void
print_json (struct builder_store *store, const struct builder_store_image *img, size_t n)
{
  json_t *a = json_array ();
  char *text;

  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      int64_t size = image_size (store, &img[i].desc, 0);
      json_t *o;

      builder_tag_split (img[i].tag, &repo, &tag);
      o = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "name", img[i].tag, "repository", repo, "tag", tag, "digest",
                     img[i].desc.digest, "mediaType", img[i].desc.media_type);
      json_object_set_new (o, "created", img[i].created != NULL ? json_string (img[i].created) : json_null ());
      json_object_set_new (o, "size", size >= 0 ? json_integer (size) : json_null ());
      json_array_append_new (a, o);
    }
  text = json_dumps (a, JSON_INDENT (2) | JSON_ENSURE_ASCII);
  printf ("%s\n", text != NULL ? text : "[]");
  free (text);
  json_decref (a);
}

int
runner_cmd_images (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "format", required_argument, NULL, 'F' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = "table";
  struct hoist_error *err = NULL;
  cleanup_free char *home = NULL;
  cleanup_free char *dir = NULL;
  struct builder_store *store = NULL;
  struct builder_store_image *img = NULL;
  size_t n = 0;
  int c;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'F': format = optarg; break;
      case 'h': images_usage (stdout); return HOIST_EXIT_OK;
      case ':': return runner_usage_error ("images", "option '%s' needs a value", argv[optind - 1]);
      default: return runner_usage_error ("images", "unknown option '%s'", argv[optind - 1]);
      }
  if (optind < argc)
    return runner_usage_error ("images", "unexpected argument '%s'", argv[optind]);
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return runner_usage_error ("images", "--format must be table or json, not '%s'", format);
  if (builder_home_dir (&home, &err) < 0)
    return runner_fail_error (err);
  dir = hoist_xasprintf ("%s/store", home);
  /* A store that does not exist yet is an empty list, not an error. */
  if (builder_store_open (dir, false, &store, &err) < 0)
    {
      if (err->status != ENOENT)
        return runner_fail_error (err);
      hoist_error_free (err);
      err = NULL;
    }
  if (store != NULL && builder_store_list (store, &img, &n, &err) < 0)
    {
      builder_store_free (store);
      return runner_fail_error (err);
    }
  if (strcmp (format, "json") == 0)
    print_json (store, img, n);
  else
    print_table (store, img, n);
  builder_store_images_free (img, n);
  builder_store_free (store);
  return HOIST_EXIT_OK;
}
