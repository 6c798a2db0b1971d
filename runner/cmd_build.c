/* cmd_build.c — `hoist build`: flags named as docker build / buildah bud
 * name them.  Image assembly is not built yet: the command checks its
 * flags and the Dockerfile, then refuses clearly instead of pretending. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "runner/runner.h"

static void
build_usage (FILE *out)
{
  fprintf (out,
           "usage: hoist build [OPTIONS] [CONTEXT]\n\n"
           "Build an OCI image from a Dockerfile and a build context (default: '.').\n\n"
           "  -f, --file FILE            Dockerfile (default: CONTEXT/Dockerfile)\n"
           "  -t, --tag NAME[:TAG]       name the image; may repeat\n"
           "      --build-arg K[=V]      set a build-time variable; may repeat\n"
           "      --target STAGE         build up to this stage\n"
           "      --platform P[,P...]    target platform(s), e.g. linux/amd64,linux/arm64\n"
           "      --label K=V            set an image label; may repeat\n"
           "      --no-cache             do not use the build cache\n"
           "      --push                 push the image to its registry (needs -t)\n"
           "  -o, --output SPEC          type=oci,dest=DIR or dest=FILE.tar\n"
           "      --build-context N=SRC  extra named context (oci-layout:///path[:tag], dir)\n"
           "      --progress MODE        auto, plain or tty (default: auto)\n"
           "  -h, --help                 show this help\n\n"
           "Not built yet: assembling images.  This version checks the flags and the\n"
           "Dockerfile ('hoist parse' prints its plan) and exits with code 3.\n");
}

struct build_flags
{
  const char *file;
  const char *context;
  const char *progress;
  char **tags;
  char **build_args;
  char **labels;
  char **outputs;
  char **build_contexts;
  const char *target;
  const char *platform;
  bool no_cache;
  bool push;
};

static void
build_flags_release (struct build_flags *f)
{
  hoist_strv_free (f->tags);
  hoist_strv_free (f->build_args);
  hoist_strv_free (f->labels);
  hoist_strv_free (f->outputs);
  hoist_strv_free (f->build_contexts);
}

/* Returns -1 after printing a usage error; 1 when help was shown. */
static int
build_flags_parse (struct build_flags *f, int argc, char **argv, int *exit_code)
{
  static const struct option longopts[] = {
    { "file", required_argument, NULL, 'f' },
    { "tag", required_argument, NULL, 't' },
    { "build-arg", required_argument, NULL, 'a' },
    { "target", required_argument, NULL, 'T' },
    { "platform", required_argument, NULL, 'p' },
    { "label", required_argument, NULL, 'l' },
    { "no-cache", no_argument, NULL, 'n' },
    { "push", no_argument, NULL, 'P' },
    { "output", required_argument, NULL, 'o' },
    { "build-context", required_argument, NULL, 'c' },
    { "progress", required_argument, NULL, 'g' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":f:t:o:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'f': f->file = optarg; break;
      case 't': hoist_strv_push (&f->tags, optarg); break;
      case 'a': hoist_strv_push (&f->build_args, optarg); break;
      case 'T': f->target = optarg; break;
      case 'p': f->platform = optarg; break;
      case 'l': hoist_strv_push (&f->labels, optarg); break;
      case 'n': f->no_cache = true; break;
      case 'P': f->push = true; break;
      case 'o': hoist_strv_push (&f->outputs, optarg); break;
      case 'c': hoist_strv_push (&f->build_contexts, optarg); break;
      case 'g': f->progress = optarg; break;
      case 'h':
        build_usage (stdout);
        *exit_code = HOIST_EXIT_OK;
        return 1;
      case ':':
        *exit_code = runner_usage_error ("build", "option '%s' needs a value", argv[optind - 1]);
        return -1;
      default:
        *exit_code = runner_usage_error ("build", "unknown option '%s'", argv[optind - 1]);
        return -1;
      }
  if (optind < argc)
    f->context = argv[optind++];
  if (optind < argc)
    {
      *exit_code = runner_usage_error ("build", "only one build context may be given, got '%s' too", argv[optind]);
      return -1;
    }
  return 0;
}

/* Flags that are valid but whose capability is not built yet. */
static int
build_refuse_unbuilt (const struct build_flags *f)
{
  if (f->push)
    return runner_fail (HOIST_EXIT_UNSUPPORTED, "--push is not supported yet: the registry client is not built");
  if (f->outputs != NULL)
    return runner_fail (HOIST_EXIT_UNSUPPORTED, "--output is not supported yet: image assembly is not built");
  if (f->build_contexts != NULL)
    return runner_fail (HOIST_EXIT_UNSUPPORTED, "--build-context is not supported yet: image assembly is not built");
  if (f->platform != NULL && strchr (f->platform, ',') != NULL)
    return runner_fail (HOIST_EXIT_UNSUPPORTED, "several platforms are not supported yet: build one platform at a time");
  return 0;
}

static int
build_check_flags (const struct build_flags *f)
{
  if (f->progress != NULL && strcmp (f->progress, "auto") != 0 && strcmp (f->progress, "plain") != 0
      && strcmp (f->progress, "tty") != 0)
    return runner_usage_error ("build", "--progress must be auto, plain or tty, not '%s'", f->progress);
  for (size_t i = 0; f->labels != NULL && f->labels[i] != NULL; i++)
    if (strchr (f->labels[i], '=') == NULL || f->labels[i][0] == '=')
      return runner_usage_error ("build", "--label needs KEY=VALUE, got '%s'", f->labels[i]);
  for (size_t i = 0; f->build_args != NULL && f->build_args[i] != NULL; i++)
    if (f->build_args[i][0] == '=' || f->build_args[i][0] == '\0')
      return runner_usage_error ("build", "--build-arg needs KEY[=VALUE], got '%s'", f->build_args[i]);
  if (f->push && f->tags == NULL)
    return runner_usage_error ("build", "--push needs an image name: add -t REGISTRY/NAME:TAG");
  return 0;
}

/* Parse the Dockerfile and plan the target, so errors in it show now. */
static int
build_check_dockerfile (const struct build_flags *f)
{
  cleanup_free char *path = NULL;
  cleanup_buf struct hoist_buf text;
  struct hoist_error *err = NULL;
  struct builder_dockerfile *df = NULL;
  struct builder_plan *plan = NULL;
  struct builder_plan_opts opts = { .build_args = f->build_args, .target = f->target, .platform = f->platform };

  path = f->file != NULL ? hoist_xstrdup (f->file) : hoist_xasprintf ("%s/Dockerfile", f->context);
  if (runner_read_input (path, BUILDER_DOCKERFILE_MAX, &text, &err) < 0)
    return runner_fail_error (err);
  if (builder_dockerfile_parse (path, text.data, text.len, &df, &err) < 0)
    return runner_fail_error (err);
  if (builder_plan_new (df, &opts, &plan, &err) < 0)
    {
      builder_dockerfile_free (df);
      return runner_fail_error (err);
    }
  builder_plan_free (plan);
  builder_dockerfile_free (df);
  return 0;
}

int
runner_cmd_build (int argc, char **argv)
{
  struct build_flags f = { .context = "." };
  int exit_code = HOIST_EXIT_OK;
  int r;

  r = build_flags_parse (&f, argc, argv, &exit_code);
  if (r == 0)
    exit_code = build_check_flags (&f);
  if (r == 0 && exit_code == 0)
    exit_code = build_refuse_unbuilt (&f);
  if (r == 0 && exit_code == 0)
    exit_code = build_check_dockerfile (&f);
  if (r == 0 && exit_code == 0)
    exit_code = runner_fail (HOIST_EXIT_UNSUPPORTED,
                             "building images is not supported yet: the Dockerfile is valid "
                             "(hint: 'hoist parse -f FILE' prints its plan)");
  build_flags_release (&f);
  return exit_code;
}
