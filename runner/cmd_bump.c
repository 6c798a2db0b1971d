/* cmd_bump.c — `hoist bump`: the tag bump of hoist serve, by hand.
 *   hoist bump [--dry-run] FILE NAME=[NEWNAME]:TAG[@DIGEST]...
 *   hoist bump --key KEY.PATH [--dry-run] FILE VALUE
 * The first edits a kustomization's images[] as `kustomize edit set image`
 * does; the second any YAML file's value (Helm values).  Either way only
 * the value's bytes change: comments, order, quoting and indentation
 * stay. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/bump.h"
#include "runner/runner.h"

static void
bump_usage (FILE *out)
{
  fprintf (out, "usage: hoist bump [--dry-run] FILE NAME=[NEWNAME]:TAG[@DIGEST]...\n"
                "       hoist bump --key KEY.PATH [--dry-run] FILE VALUE\n\n"
                "Set an image in a kustomization's images[] (as 'kustomize edit set image' does), or\n"
                "the value at KEY.PATH of any YAML file (a Helm values.yaml's image.tag), editing\n"
                "only the value's bytes: comments, order, quoting and indentation stay as they are.\n"
                "A missing images[] entry or key is added.  Specs: NAME=NEWNAME:TAG@DIGEST,\n"
                "NAME=:TAG (tag only), NAME:TAG, NAME@DIGEST, NAME=NEWNAME.\n\n"
                "      --key KEY.PATH           edit the value at this dotted path of FILE\n"
                "      --dry-run                print the new file instead of writing it\n"
                "  -h, --help                   show this help\n");
}

/* Read FILE, apply EDIT to its text, write it back or print it. */
static int
bump_file (const char *path, char *const *specs, const char *key, bool dry_run)
{
  cleanup_buf struct hoist_buf b;
  struct hoist_error *err = NULL;
  char *text = NULL;
  size_t len;
  bool any = false;

  hoist_buf_init (&b, RUNNER_BUMP_MAX_BYTES);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    return runner_fail_error (err);
  text = hoist_xstrndup (b.data != NULL ? b.data : "", b.len);
  len = b.len;
  for (size_t i = 0; specs[i] != NULL; i++)
    {
      struct runner_bump_image img;
      cleanup_free char *buf = NULL;
      char *out = NULL;
      size_t out_len = 0;
      bool changed = false;
      int ret;

      if (key != NULL)
        ret = runner_bump_yaml (text, len, key, specs[i], &out, &out_len, &changed, &err);
      else
        {
          ret = runner_bump_parse_spec (specs[i], &img, &buf, &err);
          if (ret == 0)
            ret = runner_bump_kustomization (text, len, &img, &out, &out_len, &changed, &err);
        }
      if (ret < 0)
        {
          free (text);
          hoist_error_wrap (&err, "cannot edit '%s'", path);
          return runner_fail_error (err);
        }
      if (!dry_run)
        fprintf (stderr, "%s: %s %s\n", path, key != NULL ? key : specs[i], changed ? "set" : "already up to date");
      any |= changed;
      free (text);
      text = out;
      len = out_len;
    }
  if (dry_run)
    fwrite (text, 1, len, stdout);
  else if (any && runner_bump_write_file (path, text, len, &err) < 0)
    {
      free (text);
      return runner_fail_error (err);
    }
  free (text);
  return HOIST_EXIT_OK;
}

int
runner_cmd_bump (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "key", required_argument, NULL, 'k' },
    { "dry-run", no_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *key = NULL;
  bool dry_run = false;
  int c;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        key = optarg;
        break;
      case 'n':
        dry_run = true;
        break;
      case 'h':
        bump_usage (stdout);
        return HOIST_EXIT_OK;
      case ':':
        return runner_usage_error ("bump", "'%s' needs a value", argv[optind - 1]);
      default:
        return runner_usage_error ("bump", "unknown flag '%s'", argv[optind - 1]);
      }
  if (argc - optind < 2)
    return runner_usage_error ("bump", key != NULL ? "give FILE and VALUE" : "give FILE and NAME=[NEWNAME]:TAG");
  if (key != NULL && argc - optind != 2)
    return runner_usage_error ("bump", "--key sets one VALUE");
  return bump_file (argv[optind], argv + optind + 1, key, dry_run);
}
