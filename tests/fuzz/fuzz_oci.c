/* fuzz_oci.c — fuzz target for the parsers of what a registry sends:
 * image manifests, indexes (and Docker manifest lists) and image configs.
 *
 * Input: a JSON document.  It goes through all three parsers (each must
 * refuse what it does not read, with an error, and leave nothing behind);
 * whatever one accepts must survive the round trip: written back as JSON,
 * parsed again and written again, the canonical bytes are the same. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (256 * 1024)

static void
same_bytes (json_t *a, json_t *b)
{
  size_t la = 0, lb = 0;
  char *ca = builder_json_canonical (a, &la);
  char *cb = builder_json_canonical (b, &lb);

  if (la != lb || memcmp (ca, cb, la) != 0)
    abort ();
  free (ca);
  free (cb);
}

/* Parse: 0 or -1; on -1 the error is set and *OUT is NULL. */
#define CHECK_PARSE(ret, out, err)                                                                                    \
  do                                                                                                                  \
    {                                                                                                                 \
      if ((ret) < 0 && ((err) == NULL || (out) != NULL))                                                              \
        abort ();                                                                                                     \
      if ((ret) == 0 && (out) == NULL)                                                                                \
        abort ();                                                                                                     \
    }                                                                                                                 \
  while (0)

static void
try_manifest (const json_t *doc)
{
  struct builder_manifest *m = NULL, *m2 = NULL;
  struct hoist_error *err = NULL;
  int ret = builder_manifest_from_json (doc, &m, &err);

  CHECK_PARSE (ret, m, err);
  if (ret == 0)
    {
      json_t *j = builder_manifest_to_json (m);
      json_t *j2;

      if (builder_manifest_from_json (j, &m2, NULL) < 0)
        abort ();
      j2 = builder_manifest_to_json (m2);
      same_bytes (j, j2);
      json_decref (j);
      json_decref (j2);
    }
  builder_manifest_free (m);
  builder_manifest_free (m2);
  hoist_error_free (err);
}

static void
try_index (const json_t *doc)
{
  struct builder_index *x = NULL, *x2 = NULL;
  struct hoist_error *err = NULL;
  int ret = builder_index_from_json (doc, &x, &err);

  CHECK_PARSE (ret, x, err);
  if (ret == 0)
    {
      json_t *j = builder_index_to_json (x);
      json_t *j2;

      if (builder_index_from_json (j, &x2, NULL) < 0)
        abort ();
      j2 = builder_index_to_json (x2);
      same_bytes (j, j2);
      json_decref (j);
      json_decref (j2);
    }
  builder_index_free (x);
  builder_index_free (x2);
  hoist_error_free (err);
}

static void
try_config (const json_t *doc)
{
  struct builder_image_config *c = NULL, *c2 = NULL;
  struct hoist_error *err = NULL;
  int ret = builder_image_config_from_json (doc, &c, &err);

  CHECK_PARSE (ret, c, err);
  if (ret == 0)
    {
      json_t *j = builder_image_config_to_json (c);
      json_t *j2;

      if (builder_image_config_from_json (j, &c2, NULL) < 0)
        abort ();
      j2 = builder_image_config_to_json (c2);
      same_bytes (j, j2);
      json_decref (j);
      json_decref (j2);
    }
  builder_image_config_free (c);
  builder_image_config_free (c2);
  hoist_error_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_t *doc;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  /* As the store reads registry documents: duplicate keys refused. */
  doc = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
  if (doc == NULL)
    return 0;
  try_manifest (doc);
  try_index (doc);
  try_config (doc);
  json_decref (doc);
  return 0;
}
