/* cmd_push.c — `hoist push SRC [DEST]`, `hoist login HOST` and
 * `hoist logout HOST`, with the flag names of podman/skopeo/docker:
 * SRC is an image of hoist's store (as `docker push NAME`) or an OCI
 * layout, `oci:DIR[:TAG]`; DEST defaults to SRC's name, and may be
 * written `docker://REF` as skopeo writes it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "runner/runner.h"

/* A password typed on stdin is at most this long. */
#define PASSWORD_MAX 8192

static void
push_usage (FILE *out)
{
  fprintf (out, "usage: hoist push [OPTIONS] SRC [DEST]\n\n"
                "Push an image to a registry.  SRC is an image of hoist's store (NAME[:TAG]) or an\n"
                "OCI layout (oci:DIR[:TAG]); DEST (default: SRC's name) is a registry reference,\n"
                "e.g. ghcr.io/org/app:1.0 or docker://localhost:5000/app:1.0.\n\n"
                "      --creds USER[:PASS]      credentials (default: docker's config.json, then\n"
                "                               $REGISTRY_AUTH_FILE, and $GITHUB_TOKEN for ghcr.io)\n"
                "      --tls-verify=BOOL        false: accept any certificate, or plain HTTP\n"
                "      --ca-file FILE           trust the CA certificates in FILE\n"
                "      --retry N                retries of a failed request (default 4)\n"
                "  -q, --quiet                  no progress; print the pushed digest\n"
                "  -h, --help                   show this help\n");
}

int
runner_parse_bool (const char *cmd, const char *flag, const char *v, bool *out)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return runner_usage_error (cmd, "%s must be true or false, not '%s'", flag, v);
  return 0;
}

int
runner_registry_flag (const char *cmd, int c, const char *arg, struct registry_opts *o)
{
  bool verify = true;
  char *end;
  long n;

  switch (c)
    {
    case RUNNER_OPT_CREDS:
      if (*arg == '\0' || *arg == ':')
        return runner_usage_error (cmd, "--creds needs USER[:PASSWORD]");
      o->creds = arg;
      return 0;
    case RUNNER_OPT_TLS_VERIFY:
      if (runner_parse_bool (cmd, "--tls-verify", arg, &verify) != 0)
        return HOIST_EXIT_USAGE;
      o->tls_verify_off = !verify;
      return 0;
    case RUNNER_OPT_CA_FILE:
      if (access (arg, R_OK) != 0)
        return runner_usage_error (cmd, "--ca-file '%s': %s", arg, strerror (errno));
      o->ca_file = arg;
      return 0;
    case RUNNER_OPT_RETRIES:
      errno = 0;
      n = strtol (arg, &end, 10);
      if (errno != 0 || *end != '\0' || end == arg || n < 0 || n > 100)
        return runner_usage_error (cmd, "--retry must be a number from 0 to 100, not '%s'", arg);
      o->max_attempts = (unsigned) n + 1;
      return 0;
    default:
      return runner_usage_error (cmd, "unknown option");
    }
}

/* The image SRC names: its store (opened here) and tag. */
static int
open_source (const char *src, struct builder_store **store, char **tag, char **name, struct hoist_error **err)
{
  cleanup_free char *dir = NULL;

  if (strncmp (src, "oci:", 4) == 0)
    {
      const char *p = src + 4;
      const char *colon = strrchr (p, ':');

      /* oci:DIR:TAG — a ':' after the last '/' starts the tag. */
      if (colon != NULL && strchr (colon, '/') == NULL)
        {
          dir = hoist_xstrndup (p, (size_t) (colon - p));
          *tag = hoist_xstrdup (colon + 1);
        }
      else
        {
          dir = hoist_xstrdup (p);
          *tag = hoist_xstrdup ("latest");
        }
      *name = NULL;
      return builder_store_open (dir, false, store, err);
    }
  if (builder_tag_normalize (src, tag, err) < 0)
    return -1;
  *name = hoist_xstrdup (*tag);
  return builder_home_store (true, NULL, store, err);
}

int
runner_cmd_push (int argc, char **argv)
{
  static const struct option longopts[] = {
    RUNNER_REGISTRY_OPTIONS,
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct builder_push_opts o = { 0 };
  struct runner_transfer live = { 0 };
  struct builder_push_result res;
  struct builder_store *store = NULL;
  struct hoist_error *err = NULL;
  cleanup_free char *tag = NULL;
  cleanup_free char *name = NULL;
  const char *src, *dest;
  int c, code;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'q': o.quiet = true; break;
      case 'h': push_usage (stdout); return HOIST_EXIT_OK;
      case ':': return runner_usage_error ("push", "option '%s' needs a value", argv[optind - 1]);
      case '?': return runner_usage_error ("push", "unknown option '%s'", argv[optind - 1]);
      default:
        if ((code = runner_registry_flag ("push", c, optarg, &o.registry)) != 0)
          return code;
      }
  if (optind >= argc)
    return runner_usage_error ("push", "name the image to push: hoist push SRC [DEST]");
  if (argc - optind > 2)
    return runner_usage_error ("push", "too many arguments: hoist push SRC [DEST]");
  src = argv[optind];
  dest = optind + 1 < argc ? argv[optind + 1] : NULL;
  if (open_source (src, &store, &tag, &name, &err) < 0)
    return runner_fail_error (err);
  if (dest == NULL)
    dest = name;
  if (dest == NULL)
    {
      builder_store_free (store);
      return runner_usage_error ("push", "pushing from an OCI layout needs DEST: hoist push %s REGISTRY/NAME:TAG", src);
    }
  if (strncmp (dest, "docker://", 9) == 0)
    dest += 9;
  if (runner_transfer_wanted (o.quiet))
    {
      o.progress = runner_transfer_progress;
      o.progress_ctx = &live;
    }
  code = builder_push (store, tag, dest, &o, &res, &err) < 0 ? runner_fail_error (err) : HOIST_EXIT_OK;
  if (code == HOIST_EXIT_OK && o.quiet)
    printf ("%s\n", res.digest);
  builder_store_free (store);
  return code;
}

/* ---- login / logout --------------------------------------------------------- */

static void
login_usage (FILE *out)
{
  fprintf (out, "usage: hoist login [-u USER] [--password-stdin] HOST\n"
                "       hoist logout HOST\n\n"
                "Check credentials with registry HOST, then store them in docker's config file\n"
                "($DOCKER_CONFIG/config.json, default ~/.docker/config.json), as docker login\n"
                "does; logout removes them.\n"
                "The password is read from standard input, never from the command line.\n\n"
                "  -u, --username USER   the user name\n"
                "      --password-stdin  read the password from standard input (the only way)\n"
                "      --tls-verify=BOOL, --ca-file FILE   as for hoist push\n"
                "  -h, --help            show this help\n");
}

static int
read_password (struct hoist_buf *pw, struct hoist_error **err)
{
  if (hoist_buf_read_fd (pw, STDIN_FILENO, err) < 0)
    return hoist_error_wrap (err, "cannot read the password from standard input");
  while (pw->len > 0 && (pw->data[pw->len - 1] == '\n' || pw->data[pw->len - 1] == '\r'))
    pw->data[--pw->len] = '\0';
  if (pw->len == 0)
    return hoist_error_set_status (err, EINVAL, "the password on standard input is empty");
  if (memchr (pw->data, '\0', pw->len) != NULL)
    return hoist_error_set_status (err, EINVAL, "the password on standard input holds a NUL byte");
  return 0;
}

int
runner_cmd_login (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "username", required_argument, NULL, 'u' },
    { "password-stdin", no_argument, NULL, 'S' },
    RUNNER_REGISTRY_OPTIONS,
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_buf struct hoist_buf pw;
  struct hoist_error *err = NULL;
  struct registry_opts ro = { 0 };
  cleanup_free char *creds = NULL;
  const char *user = NULL;
  bool from_stdin = false;
  int c, code;

  hoist_buf_init (&pw, PASSWORD_MAX);
  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":u:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'u': user = optarg; break;
      case 'S': from_stdin = true; break;
      case 'h': login_usage (stdout); return HOIST_EXIT_OK;
      case ':': return runner_usage_error ("login", "option '%s' needs a value", argv[optind - 1]);
      case '?': return runner_usage_error ("login", "unknown option '%s'", argv[optind - 1]);
      default:
        if (c == RUNNER_OPT_CREDS || c == RUNNER_OPT_RETRIES)
          return runner_usage_error ("login", "unknown option '%s'", argv[optind - 1]);
        if ((code = runner_registry_flag ("login", c, optarg, &ro)) != 0)
          return code;
      }
  if (argc - optind != 1)
    return runner_usage_error ("login", "name one registry: hoist login -u USER --password-stdin HOST");
  if (user == NULL || *user == '\0')
    return runner_usage_error ("login", "-u USER is needed");
  if (!from_stdin)
    return runner_usage_error ("login", "pass the password with --password-stdin (never on the command line)");
  if (read_password (&pw, &err) < 0 || hoist_log_add_secret (pw.data, &err) < 0)
    return runner_fail_error (err);
  /* As docker login: the registry must take them before they are kept. */
  creds = hoist_xasprintf ("%s:%s", user, pw.data);
  ro.creds = creds;
  if (registry_login_check (argv[optind], &ro, &err) < 0)
    return runner_fail_error (err);
  if (registry_creds_store (argv[optind], user, pw.data, &err) < 0)
    return runner_fail_error (err);
  hoist_log_print ("Login Succeeded (credentials for %s stored)", argv[optind]);
  return HOIST_EXIT_OK;
}

int
runner_cmd_logout (int argc, char **argv)
{
  struct hoist_error *err = NULL;
  int r;

  if (argc == 2 && (strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0))
    {
      login_usage (stdout);
      return HOIST_EXIT_OK;
    }
  if (argc != 2 || argv[1][0] == '-')
    return runner_usage_error ("logout", "name one registry: hoist logout HOST");
  r = registry_creds_erase (argv[1], &err);
  if (r < 0)
    return runner_fail_error (err);
  hoist_log_print (r == 1 ? "Removed login credentials for %s" : "Not logged in to %s", argv[1]);
  return HOIST_EXIT_OK;
}
