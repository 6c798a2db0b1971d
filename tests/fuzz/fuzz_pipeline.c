/* fuzz_pipeline.c — fuzz target for hoist.yml.
 *
 * Input: a configuration file.  Besides "no crash, no leak, no undefined
 * behaviour", it checks what runner_config_parse promises: a failure
 * leaves the configuration empty and names its errors as "FILE:LINE: ..."
 * lines without control bytes; a success has every default filled in and
 * every repository and image complete; the same text parses the same way
 * twice; and each image's tag templates expand without error for a
 * branch push. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/pipeline.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (64 * 1024)

static void
check_error (const char *msg)
{
  for (const char *line = msg; *line != '\0';)
    {
      const char *nl = strchr (line, '\n');

      if (strncmp (line, "f.yml:", 6) != 0)
        abort ();
      line = nl != NULL ? nl + 1 : line + strlen (line);
    }
  for (const unsigned char *p = (const unsigned char *) msg; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
      abort ();
}

static void
check_config (const struct runner_config *cfg)
{
  static const char sha[] = "0123456789abcdef0123456789abcdef01234567";

  if (cfg->listen == NULL || cfg->state_dir == NULL || cfg->secret_file == NULL || cfg->git_name == NULL
      || cfg->git_email == NULL || cfg->commit_message == NULL || cfg->n_repos == 0 || cfg->concurrency == 0)
    abort ();
  for (size_t r = 0; r < cfg->n_repos; r++)
    {
      const struct runner_repo *repo = &cfg->repos[r];

      if (repo->name == NULL || repo->url == NULL || repo->branches == NULL || repo->n_images == 0
          || runner_config_repo (cfg, repo->name) == NULL)
        abort ();
      for (size_t i = 0; i < repo->n_images; i++)
        {
          const struct runner_image *img = &repo->images[i];
          struct runner_tag_vars vars = { .sha = sha, .branch = "main" };

          if (img->name == NULL || img->context == NULL || img->dockerfile == NULL || img->paths == NULL
              || img->tags == NULL)
            abort ();
          for (size_t t = 0; img->tags[t] != NULL; t++)
            {
              struct hoist_error *err = NULL;
              char *out = NULL;

              /* Valid templates; a result may still not be a tag ("-x"). */
              if (runner_tag_expand (img->tags[t], &vars, &out, &err) < 0 && err == NULL)
                abort ();
              free (out);
              hoist_error_free (err);
            }
          (void) runner_paths_match (img->paths, "api/main.go");
          for (size_t d = 0; d < img->n_deploy; d++)
            if (img->deploy[d].file == NULL
                || (img->deploy[d].kind == RUNNER_DEPLOY_YAML && img->deploy[d].key == NULL))
              abort ();
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct runner_config a, b;
  struct hoist_error *ea = NULL, *eb = NULL;
  int ra, rb;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  ra = runner_config_parse ((const char *) data, size, "f.yml", &a, &ea);
  rb = runner_config_parse ((const char *) data, size, "f.yml", &b, &eb);
  if (ra != rb)
    abort ();
  if (ra < 0)
    {
      if (a.repos != NULL || a.listen != NULL || strcmp (ea->msg, eb->msg) != 0)
        abort ();
      check_error (ea->msg);
      hoist_error_free (ea);
      hoist_error_free (eb);
      return 0;
    }
  check_config (&a);
  if (a.n_repos != b.n_repos || strcmp (a.listen, b.listen) != 0)
    abort ();
  runner_config_release (&a);
  runner_config_release (&b);
  return 0;
}
