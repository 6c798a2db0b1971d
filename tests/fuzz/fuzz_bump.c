/* fuzz_bump.c — fuzz target for the tag bump's YAML edit.
 *
 * Input: one line of arguments ("image SPEC" or "key PATH VALUE"; other
 * first lines use "image api=:v1.2"), a NUL byte, then the YAML file.
 * Besides "no crash, no leak, no undefined behaviour", it checks: a
 * success gives text libyaml reads without error, and a second identical
 * bump of that text changes nothing; without a change the output is the
 * input byte for byte; an error message has no control bytes. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runner/bump.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (64 * 1024)

static bool
yaml_reads (const char *text, size_t len)
{
  yaml_parser_t p;
  yaml_event_t ev;
  bool ok = true, done = false;

  yaml_parser_initialize (&p);
  yaml_parser_set_input_string (&p, (const unsigned char *) text, len);
  while (ok && !done)
    {
      ok = yaml_parser_parse (&p, &ev) != 0;
      if (ok)
        {
          done = ev.type == YAML_STREAM_END_EVENT;
          yaml_event_delete (&ev);
        }
    }
  yaml_parser_delete (&p);
  return ok;
}

static int
run (const char *args, const char *text, size_t len, char **out, size_t *out_len, bool *changed,
     struct hoist_error **err)
{
  char verb[16] = "", a[256] = "", b[256] = "";
  int n = sscanf (args, "%15s %255s %255s", verb, a, b);

  if (n == 3 && strcmp (verb, "key") == 0)
    return runner_bump_yaml (text, len, a, b, out, out_len, changed, err);
  {
    struct runner_bump_image img;
    char *buf = NULL;
    int ret = runner_bump_parse_spec (n >= 2 && strcmp (verb, "image") == 0 ? a : "api=:v1.2", &img, &buf, err);

    if (ret == 0)
      ret = runner_bump_kustomization (text, len, &img, out, out_len, changed, err);
    free (buf);
    return ret;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *nul = memchr (data, '\0', size);
  char *args, *out = NULL, *again = NULL;
  const char *text;
  size_t len, out_len = 0, again_len = 0;
  struct hoist_error *err = NULL;
  bool changed = false, changed2 = false;

  if (size > FUZZ_INPUT_MAX || nul == NULL)
    return 0;
  args = strndup ((const char *) data, (size_t) (nul - (const char *) data));
  text = nul + 1;
  len = size - (size_t) (nul - (const char *) data) - 1;
  if (run (args, text, len, &out, &out_len, &changed, &err) < 0)
    {
      for (const unsigned char *p = (const unsigned char *) err->msg; *p != '\0'; p++)
        if (*p < 0x20 && *p != '\t')
          abort ();
      hoist_error_free (err);
      free (args);
      return 0;
    }
  if (!changed && (out_len != len || memcmp (out, text, len) != 0))
    abort ();
  if (changed && !yaml_reads (out, out_len))
    abort ();
  if (run (args, out, out_len, &again, &again_len, &changed2, &err) < 0)
    abort ();
  if (changed2 || again_len != out_len || memcmp (again, out, out_len) != 0)
    abort ();
  free (again);
  free (out);
  free (args);
  return 0;
}
