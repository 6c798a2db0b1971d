/* cmd_build.c — `hoist build`: flags named as docker build / buildah bud
 * name them; the work is builder_build's.  This file turns flags and
 * environment into builder options, prints progress as BuildKit's plain
 * output does, and maps failures to exit codes (3 for an output this
 * version cannot write yet). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder.h"
#include "runner/runner.h"
#include "sandbox/sandbox.h"
#include "runner/build_private.h"

static void
build_usage (FILE *out)
{
  fprintf (out, "usage: hoist build [OPTIONS] [CONTEXT]\n\n"
                "Build an OCI image from a Dockerfile and a build context (default: '.').\n\n"
                "  -f, --file FILE              Dockerfile (default: CONTEXT/Dockerfile)\n"
                "  -t, --tag NAME[:TAG]         name the image; may repeat\n"
                "      --build-arg K[=V]        set a build-time variable; may repeat\n"
                "      --target STAGE           build up to this stage\n"
                "      --platform P[,P...]      target platform(s), e.g. linux/amd64,linux/arm64 (an index)\n"
                "      --label K=V              set an image label; may repeat\n"
                "      --no-cache               do not use the build cache\n"
                "      --push                   push the image to the registry of each -t name\n"
                "      --creds USER[:PASS]      registry credentials for --push (default: config.json)\n"
                "      --tls-verify=BOOL        false: accept any certificate, or plain HTTP\n"
                "      --ca-file FILE           trust the CA certificates in FILE\n"
                "      --retry N                retries of a failed registry request (default 4)\n"
                "  -o, --output SPEC            type=oci,dest=DIR or dest=FILE.tar; type=registry is --push\n"
                "      --build-context N=SRC    extra named context: oci-layout:///path[:tag] or a directory\n"
                "      --secret id=ID,src=FILE  a secret for RUN --mount=type=secret,id=ID; may repeat\n"
                "      --ssh default|ID=SOCKET  an ssh agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK)\n"
                "      --provenance MODE        SLSA provenance: mode=min (default), mode=max, false\n"
                "      --sbom=BOOL              an SBOM of the image's packages (default true)\n"
                "      --sbom-format FORMAT     spdx (default) or cyclonedx\n"
                "      --sign-key FILE          sign the pushed image (cosign's format; ECDSA P-256 PEM,\n"
                "                               passphrase in HOIST_SIGN_PASSWORD or COSIGN_PASSWORD)\n"
                "      --iidfile FILE           write the image digest to FILE\n"
                "      --metadata-file FILE     write the build's result as JSON to FILE (as buildx does)\n"
                "      --isolation MODE         RUN isolation: auto (default), userns or chroot\n"
                "      --compression ALGO       layer compression: gzip (default), zstd or none\n"
                "      --compression-level N    gzip 1-9 (default 6), zstd 1-19 (default 3)\n"
                "      --compression-threads N  compression threads (default: one per CPU)\n"
                "      --progress MODE          auto, plain, tty or quiet (default: auto)\n"
                "  -q, --quiet                  no progress; print the image digest (--progress quiet)\n"
                "  -h, --help                   show this help\n\n"
                "Without -o the image goes into hoist's store ($HOIST_HOME/store, default\n"
                "~/.local/share/hoist/store), tagged with -t; 'hoist images' lists it.  With -o it\n"
                "is written there instead, named with -t.  SOURCE_DATE_EPOCH sets every time in\n"
                "the image; HOIST_SOURCE and HOIST_REVISION set the org.opencontainers.image.source\n"
                "and .revision labels.\n");
}

static void
build_flags_release (struct build_flags *f)
{
  hoist_strv_free (f->tags);
  hoist_strv_free (f->build_args);
  hoist_strv_free (f->labels);
  hoist_strv_free (f->outputs);
  hoist_strv_free (f->build_contexts);
  hoist_strv_free (f->secret_specs);
  hoist_strv_free (f->ssh_specs);
}

/* buildx's `-o type=registry[,name=NAME...]`: --push, to the -t names
 * and every NAME.  Returns 1 when SPEC is one (taken into F), 0 when not,
 * or the exit code of a usage error, negated. */
static int
registry_output (struct build_flags *f, const char *spec)
{
  cleanup_free char *copy = hoist_xstrdup (spec);
  cleanup_strv char **names = NULL;
  char *rest = copy, *field;
  bool registry = false, other = false;

  while ((field = strsep (&rest, ",")) != NULL)
    {
      if (strcmp (field, "type=registry") == 0)
        registry = true;
      else if (strncmp (field, "name=", 5) == 0 && field[5] != '\0')
        hoist_strv_push (&names, field + 5);
      else
        other = true;
    }
  if (!registry)
    return 0;
  if (other)
    return -runner_usage_error ("build", "-o '%s': type=registry takes only name=NAME (hint: -t NAME --push)", spec);
  for (size_t i = 0; names != NULL && names[i] != NULL; i++)
    hoist_strv_push (&f->tags, names[i]);
  f->push = true;
  return 1;
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
    { "quiet", no_argument, NULL, 'q' },
    { "secret", required_argument, NULL, 's' },
    { "ssh", required_argument, NULL, 'H' },
    { "provenance", required_argument, NULL, 'V' },
    { "sbom", required_argument, NULL, 'B' },
    { "sbom-format", required_argument, NULL, 'F' },
    { "sign-key", required_argument, NULL, 'K' },
    { "iidfile", required_argument, NULL, 'D' },
    { "metadata-file", required_argument, NULL, 'M' },
    { "isolation", required_argument, NULL, 'I' },
    { "compression", required_argument, NULL, 'C' },
    { "compression-level", required_argument, NULL, 'L' },
    { "compression-threads", required_argument, NULL, 'j' },
    RUNNER_REGISTRY_OPTIONS,
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":f:t:o:qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        f->file = optarg;
        break;
      case 't':
        hoist_strv_push (&f->tags, optarg);
        break;
      case 'a':
        hoist_strv_push (&f->build_args, optarg);
        break;
      case 'T':
        f->target = optarg;
        break;
      case 'p':
        f->platform = optarg;
        break;
      case 'l':
        hoist_strv_push (&f->labels, optarg);
        break;
      case 'n':
        f->no_cache = true;
        break;
      case 'P':
        f->push = true;
        break;
      case 'o':
        {
          int r = registry_output (f, optarg);

          if (r < 0)
            {
              *exit_code = -r;
              return -1;
            }
          if (r == 0)
            hoist_strv_push (&f->outputs, optarg);
          break;
        }
      case 'c':
        hoist_strv_push (&f->build_contexts, optarg);
        break;
      case 'g':
        f->progress = optarg;
        break;
      case 'q':
        f->progress = "quiet";
        break;
      case 's':
        hoist_strv_push (&f->secret_specs, optarg);
        break;
      case 'H':
        hoist_strv_push (&f->ssh_specs, optarg);
        break;
      case 'V':
        f->provenance = optarg;
        break;
      case 'B':
        f->sbom = optarg;
        break;
      case 'D':
        f->iidfile = optarg;
        break;
      case 'M':
        f->metadata_file = optarg;
        break;
      case 'F':
        f->sbom_format = optarg;
        break;
      case 'K':
        f->sign_key = optarg;
        break;
      case 'I':
        f->isolation = optarg;
        break;
      case 'C':
        f->compression = optarg;
        break;
      case 'L':
        f->level = optarg;
        break;
      case 'j':
        f->threads = optarg;
        break;
      case 'h':
        build_usage (stdout);
        *exit_code = HOIST_EXIT_OK;
        return 1;
      case ':':
        *exit_code = runner_usage_error ("build", "option '%s' needs a value", argv[optind - 1]);
        return -1;
      case RUNNER_OPT_CREDS:
      case RUNNER_OPT_TLS_VERIFY:
      case RUNNER_OPT_CA_FILE:
      case RUNNER_OPT_RETRIES:
        if ((*exit_code = runner_registry_flag ("build", c, optarg, &f->registry)) != 0)
          return -1;
        break;
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
  return 0;
}

/* A whole decimal number in [MIN, MAX]. */
static bool
parse_number (const char *s, long long min, long long max, long long *out)
{
  char *end;

  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  *out = strtoll (s, &end, 10);
  return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

static int
build_check_flags (const struct build_flags *f)
{
  enum builder_provenance_mode mode;
  enum builder_sbom_format sbom;
  long long v;

  if (f->progress != NULL && strcmp (f->progress, "auto") != 0 && strcmp (f->progress, "plain") != 0
      && strcmp (f->progress, "tty") != 0 && strcmp (f->progress, "quiet") != 0)
    return runner_usage_error ("build", "--progress must be auto, plain, tty or quiet, not '%s'", f->progress);
  for (size_t i = 0; f->labels != NULL && f->labels[i] != NULL; i++)
    if (strchr (f->labels[i], '=') == NULL || f->labels[i][0] == '=')
      return runner_usage_error ("build", "--label needs KEY=VALUE, got '%s'", f->labels[i]);
  for (size_t i = 0; f->build_args != NULL && f->build_args[i] != NULL; i++)
    if (f->build_args[i][0] == '=' || f->build_args[i][0] == '\0')
      return runner_usage_error ("build", "--build-arg needs KEY[=VALUE], got '%s'", f->build_args[i]);
  for (size_t i = 0; f->build_contexts != NULL && f->build_contexts[i] != NULL; i++)
    if (strchr (f->build_contexts[i], '=') == NULL || f->build_contexts[i][0] == '=')
      return runner_usage_error ("build", "--build-context needs NAME=SOURCE, got '%s'", f->build_contexts[i]);
  if (f->level != NULL && !parse_number (f->level, 1, BUILDER_ZSTD_LEVEL_MAX, &v))
    return runner_usage_error ("build", "--compression-level must be a number from 1 to %d, not '%s'",
                               BUILDER_ZSTD_LEVEL_MAX, f->level);
  if (f->threads != NULL && !parse_number (f->threads, 1, 64, &v))
    return runner_usage_error ("build", "--compression-threads must be a number from 1 to 64, not '%s'", f->threads);
  if (f->push && f->tags == NULL)
    return runner_usage_error ("build", "--push needs an image name: add -t REGISTRY/NAME:TAG");
  if (f->sign_key != NULL && !f->push)
    return runner_usage_error ("build", "--sign-key signs what is pushed: add --push");
  if (runner_provenance_mode (f->provenance, &mode) != 0)
    return HOIST_EXIT_USAGE;
  return runner_sbom_format (f->sbom, f->sbom_format, &sbom);
}

/* ---- Options ------------------------------------------------------------------------ */

static void
build_run_release (struct build_run *r)
{
  for (size_t i = 0; i < r->opts.n_outputs; i++)
    builder_output_release (&r->outputs[i]);
  free (r->outputs);
  hoist_strv_free (r->tags);
  free (r->home);
  builder_store_free (r->store);
  builder_plan_free (r->plan);
  builder_dockerfile_free (r->df);
  hoist_strv_free (r->platforms);
  free (r->secrets);
  free (r->ssh);
  hoist_strv_free (r->secret_strings);
  free (r->dockerfile);
  free (r->dockerfile_text);
}

/* -t and -o, checked before any work. */
static int
build_names (const struct build_flags *f, struct build_run *r)
{
  size_t n = hoist_strv_len (f->outputs);

  for (size_t i = 0; f->tags != NULL && f->tags[i] != NULL; i++)
    {
      struct hoist_error *err = NULL;
      char *tag = NULL;
      if (builder_tag_normalize (f->tags[i], &tag, &err) < 0)
        {
          runner_usage_error ("build", "%s", err->msg);
          hoist_error_free (err);
          return HOIST_EXIT_USAGE;
        }
      hoist_strv_push_take (&r->tags, tag);
    }
  r->outputs = hoist_xcalloc (n + 1, sizeof (*r->outputs));
  for (size_t i = 0; i < n; i++)
    {
      struct hoist_error *err = NULL;
      if (builder_output_parse (f->outputs[i], &r->outputs[i], &err) < 0)
        {
          int code = err->status == ENOTSUP ? HOIST_EXIT_UNSUPPORTED : HOIST_EXIT_USAGE;
          if (code == HOIST_EXIT_USAGE)
            runner_usage_error ("build", "%s", err->msg);
          else
            runner_fail (code, "%s", err->msg);
          hoist_error_free (err);
          return code;
        }
      r->opts.n_outputs++;
    }
  r->opts.outputs = r->outputs;
  r->opts.tags = r->tags;
  return 0;
}

static int
build_compression (const struct build_flags *f, struct builder_build_opts *o)
{
  struct hoist_error *err = NULL;
  long long v = 0;

  o->compression = BUILDER_COMPRESSION_GZIP;
  if (f->compression != NULL && builder_compression_parse (f->compression, &o->compression, &err) < 0)
    {
      runner_usage_error ("build", "%s", err->msg);
      hoist_error_free (err);
      return HOIST_EXIT_USAGE;
    }
  if (f->level != NULL && parse_number (f->level, 1, BUILDER_ZSTD_LEVEL_MAX, &v))
    o->level = (int) v;
  if (o->compression == BUILDER_COMPRESSION_GZIP && o->level > BUILDER_GZIP_LEVEL_MAX)
    return runner_usage_error ("build", "--compression-level for gzip must be from 1 to %d", BUILDER_GZIP_LEVEL_MAX);
  if (f->threads != NULL && parse_number (f->threads, 1, 64, &v))
    o->threads = (unsigned) v;
  return 0;
}

static int
build_environment (struct builder_build_opts *o)
{
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  long long v;

  o->source_date_epoch = -1;
  if (sde != NULL && *sde != '\0')
    {
      if (!parse_number (sde, 0, 253402300799LL, &v))
        return runner_usage_error ("build", "SOURCE_DATE_EPOCH must be seconds since 1970, not '%s'", sde);
      o->source_date_epoch = v;
    }
  o->source = getenv ("HOIST_SOURCE");
  o->revision = getenv ("HOIST_REVISION");
  if (o->source != NULL && *o->source == '\0')
    o->source = NULL;
  if (o->revision != NULL && *o->revision == '\0')
    o->revision = NULL;
  return 0;
}

static const char *
keep_string (struct build_run *r, const char *s)
{
  hoist_strv_push (&r->secret_strings, s);
  return r->secret_strings[hoist_strv_len (r->secret_strings) - 1];
}

/* One --secret as docker build takes it: id=ID,src=FILE (source= and
 * type=file accepted). */
static int
build_secret (const char *spec, struct build_run *r, struct builder_secret *out)
{
  cleanup_free char *copy = hoist_xstrdup (spec);
  char *rest = copy, *field;
  const char *id = NULL, *src = NULL;

  while ((field = strsep (&rest, ",")) != NULL)
    {
      if (strncmp (field, "id=", 3) == 0)
        id = field + 3;
      else if (strncmp (field, "src=", 4) == 0)
        src = field + 4;
      else if (strncmp (field, "source=", 7) == 0)
        src = field + 7;
      else if (strcmp (field, "type=file") == 0)
        continue;
      else
        return runner_usage_error ("build", "--secret '%s': '%s' is not id=, src= or type=file", spec, field);
    }
  if (id == NULL || *id == '\0' || src == NULL || *src == '\0')
    return runner_usage_error ("build", "--secret '%s' needs id=ID,src=FILE", spec);
  if (access (src, R_OK) != 0)
    return runner_usage_error ("build", "--secret '%s': cannot read '%s': %s", spec, src, strerror (errno));
  out->id = keep_string (r, id);
  out->src = keep_string (r, src);
  return 0;
}

/* One --ssh as buildx takes it: "default" or "ID" ($SSH_AUTH_SOCK), or
 * ID=SOCKET.  Agents only: buildx's key files are not taken. */
static int
build_ssh (const char *spec, struct build_run *r, struct builder_secret *out)
{
  const char *eq = strchr (spec, '=');
  cleanup_free char *id = hoist_xstrndup (spec, eq != NULL ? (size_t) (eq - spec) : strlen (spec));
  const char *path = eq != NULL ? eq + 1 : getenv ("SSH_AUTH_SOCK");
  struct stat st;

  if (*id == '\0')
    return runner_usage_error ("build", "--ssh '%s' needs an id (default, or ID=SOCKET)", spec);
  if (path == NULL || *path == '\0')
    return runner_usage_error (
        "build", "--ssh '%s': SSH_AUTH_SOCK is not set (hint: start ssh-agent, or --ssh %s=SOCKET)", spec, id);
  if (strchr (path, ',') != NULL)
    return runner_usage_error ("build", "--ssh '%s': one agent socket per id (key files are not taken)", spec);
  if (stat (path, &st) < 0)
    return runner_usage_error ("build", "--ssh '%s': cannot use '%s': %s", spec, path, strerror (errno));
  if (!S_ISSOCK (st.st_mode))
    return runner_usage_error ("build", "--ssh '%s': '%s' is not an agent socket (hint: ssh-add the keys to an agent)",
                               spec, path);
  out->id = keep_string (r, id);
  out->src = keep_string (r, path);
  return 0;
}

/* --secret, --ssh and --isolation into the build's options. */
static int
build_run_flags (const struct build_flags *f, struct build_run *r)
{
  size_t n = hoist_strv_len (f->secret_specs);
  int code;

  if (f->isolation == NULL || strcmp (f->isolation, "auto") == 0)
    r->opts.isolation = SANDBOX_ISOLATION_AUTO;
  else if (strcmp (f->isolation, "userns") == 0)
    r->opts.isolation = SANDBOX_ISOLATION_USERNS;
  else if (strcmp (f->isolation, "chroot") == 0)
    r->opts.isolation = SANDBOX_ISOLATION_CHROOT;
  else
    return runner_usage_error ("build", "--isolation must be auto, userns or chroot, not '%s'", f->isolation);
  r->secrets = hoist_xcalloc (n + 1, sizeof *r->secrets);
  for (size_t i = 0; i < n; i++)
    if ((code = build_secret (f->secret_specs[i], r, &r->secrets[i])) != 0)
      return code;
  r->opts.secrets = r->secrets;
  r->opts.n_secrets = n;
  n = hoist_strv_len (f->ssh_specs);
  r->ssh = hoist_xcalloc (n + 1, sizeof *r->ssh);
  for (size_t i = 0; i < n; i++)
    if ((code = build_ssh (f->ssh_specs[i], r, &r->ssh[i])) != 0)
      return code;
  r->opts.ssh = r->ssh;
  r->opts.n_ssh = n;
  return 0;
}

/* Parse the Dockerfile and plan the target. */
static int
build_plan (const struct build_flags *f, struct build_run *r)
{
  cleanup_buf struct hoist_buf text;
  struct hoist_error *err = NULL;
  struct builder_plan_opts opts = { .build_args = f->build_args, .target = f->target, .platform = f->platform };

  /* Before any return: the cleanup releases it. */
  hoist_buf_init (&text, BUILDER_DOCKERFILE_MAX);

  /* Several platforms: each is planned when it is built; this plan (of
   * the first) checks the Dockerfile before anything runs. */
  if (f->platform != NULL && strchr (f->platform, ',') != NULL)
    {
      for (const char *p = f->platform;; p++)
        {
          size_t n = strcspn (p, ",");
          cleanup_free char *one = hoist_xstrndup (p, n);

          if (*one == '\0')
            return runner_usage_error ("build", "--platform '%s' has an empty entry", f->platform);
          for (size_t i = 0; r->platforms != NULL && r->platforms[i] != NULL; i++)
            if (strcmp (r->platforms[i], one) == 0)
              return runner_usage_error ("build", "--platform names '%s' twice", one);
          hoist_strv_push (&r->platforms, one);
          p += n;
          if (*p == '\0')
            break;
        }
      opts.platform = r->platforms[0];
    }

  r->dockerfile = f->file != NULL ? hoist_xstrdup (f->file) : hoist_xasprintf ("%s/Dockerfile", f->context);
  if (runner_read_input (r->dockerfile, BUILDER_DOCKERFILE_MAX, &text, &err) < 0
      || builder_dockerfile_parse (r->dockerfile, text.data, text.len, &r->df, &err) < 0
      || builder_plan_new (r->df, &opts, &r->plan, &err) < 0)
    return runner_fail_error (err);
  r->dockerfile_text = hoist_xstrndup (text.data != NULL ? text.data : "", text.len);
  return 0;
}

static bool
plan_runs (const struct builder_plan *plan)
{
  for (size_t i = 0; i < plan->n_stages; i++)
    for (size_t j = 0; j < plan->stages[i].n_instructions; j++)
      if (plan->stages[i].instructions[j].keyword == BUILDER_KW_RUN)
        return true;
  return false;
}

/* Unprivileged, a build with RUN steps runs in a user namespace of its
 * own (sandbox_userns_enter), so that its rootfs carries the image's
 * owners and its steps can chown.  Before anything starts a thread.
 * Where none can be made the build goes on: a RUN step then fails with
 * the sandbox's explanation. */
static int
build_userns (const struct build_run *r)
{
  cleanup_free char *why = NULL;
  struct hoist_error *err = NULL;
  int entered;

  if (geteuid () == 0 || !plan_runs (r->plan))
    return 0;
  entered = sandbox_userns_enter (&why, &err);
  if (entered < 0)
    return runner_fail_error (err);
  if (why != NULL)
    hoist_log (entered > 0 ? HOIST_LOG_WARN : HOIST_LOG_DEBUG, "%s", why);
  return 0;
}

static int
build_store (struct build_run *r)
{
  struct hoist_error *err = NULL;

  if (builder_home_store (true, &r->home, &r->store, &err) < 0)
    return runner_fail_error (err);
  return 0;
}

/* Push IMAGE to every -t name, in order; the first failure stops. */
/* The build's options from the flags (progress is set when it runs). */
static void
build_setup (const struct build_flags *f, struct build_run *r)
{
  struct builder_build_opts *o = &r->opts;

  o->plan = r->plan;
  o->context_dir = f->context;
  o->dockerfile_path = r->dockerfile;
  o->store = r->store;
  o->home = r->home;
  o->labels = f->labels;
  o->build_contexts = f->build_contexts;
  o->build_args = f->build_args;
  o->no_cache = f->no_cache;
  o->platform = f->platform;
  o->registry = &f->registry;
}

int
runner_cmd_build (int argc, char **argv)
{
  struct build_flags f = { .context = "." };
  struct build_run r = { 0 };
  int exit_code = HOIST_EXIT_OK;
  int r0;

  r0 = build_flags_parse (&f, argc, argv, &exit_code);
  if (r0 == 0)
    exit_code = build_check_flags (&f);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_refuse_unbuilt (&f);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_names (&f, &r);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_compression (&f, &r.opts);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_environment (&r.opts);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_run_flags (&f, &r);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_plan (&f, &r);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_userns (&r);
  if (r0 == 0 && exit_code == 0)
    exit_code = build_store (&r);
  if (r0 == 0 && exit_code == 0)
    {
      build_setup (&f, &r);
      exit_code = runner_build_execute (&f, &r);
    }
  build_run_release (&r);
  build_flags_release (&f);
  return exit_code;
}
