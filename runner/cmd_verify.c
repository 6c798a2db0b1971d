/* cmd_verify.c — `hoist verify --key PUB NAME`: the image NAME resolves to
 * is signed, in cosign's key-based format, by the private key of PUB.
 * What is checked: the signature manifest under "sha256-<hex>.sig" of the
 * digest NAME resolves to, each signature against its payload with the
 * key, and the payload naming that digest and NAME's repository.  The
 * error says which check failed. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "registry/registry.h"
#include "runner/runner.h"

static void
verify_usage (FILE *out)
{
  fprintf (out, "usage: hoist verify --key PUBLIC.pem [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
                "Check that the image NAME resolves to is signed (cosign's key-based format,\n"
                "tag sha256-<hex>.sig) by the private key of PUBLIC.pem.\n\n"
                "      --key FILE               the public key (PEM, ECDSA P-256)\n"
                "      --creds USER[:PASS]      credentials (default: docker's config.json)\n"
                "      --tls-verify=BOOL        false: accept any certificate, or plain HTTP\n"
                "      --ca-file FILE           trust the CA certificates in FILE\n"
                "      --retry N                retries of a failed request (default 4)\n"
                "  -h, --help                   show this help\n");
}

static int
verify (const char *name, const char *key_path, const struct builder_pull_opts *o, struct hoist_error **err)
{
  struct builder_store *store = NULL;
  struct builder_sign_key *key = NULL;
  struct builder_pull_result img = { 0 }, sig = { 0 };
  cleanup_free char *repo = NULL;
  size_t verified = 0;
  int r;

  r = builder_sign_key_load (key_path, false, &key, err);
  if (r == 0)
    r = builder_home_store (true, NULL, &store, err);
  if (r == 0)
    r = builder_pull_signature (store, name, o, &img, &sig, &repo, err);
  if (r == 0)
    r = builder_sign_verify (store, key, sig.root.digest, img.root.digest, repo, &verified, err);
  if (r == 0)
    printf ("verified: %s@%s is signed by '%s' (%zu signature%s)\n", repo, img.root.digest, key_path, verified,
            verified == 1 ? "" : "s");
  builder_pull_result_release (&img);
  builder_pull_result_release (&sig);
  builder_sign_key_free (key);
  builder_store_free (store);
  return r;
}

int
runner_cmd_verify (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "key", required_argument, NULL, 'k' },
    RUNNER_REGISTRY_OPTIONS,
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct builder_pull_opts o = { .quiet = true, .documents_only = true };
  struct hoist_error *err = NULL;
  const char *key = NULL;
  char *os = NULL, *arch = NULL, *variant = NULL;
  int c, code;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        key = optarg;
        break;
      case 'h':
        verify_usage (stdout);
        return HOIST_EXIT_OK;
      case ':':
        return runner_usage_error ("verify", "option '%s' needs a value", argv[optind - 1]);
      case '?':
        return runner_usage_error ("verify", "unknown option '%s'", argv[optind - 1]);
      default:
        if ((code = runner_registry_flag ("verify", c, optarg, &o.registry)) != 0)
          return code;
      }
  if (key == NULL)
    return runner_usage_error ("verify", "--key PUBLIC.pem is required");
  if (argc - optind != 1)
    return runner_usage_error ("verify", "name one image: hoist verify --key PUBLIC.pem NAME[:TAG]");
  builder_host_platform (&os, &arch, &variant);
  o.os = os;
  o.arch = arch;
  o.variant = variant;
  code = verify (argv[optind], key, &o, &err) < 0 ? runner_fail_error (err) : HOIST_EXIT_OK;
  free (os);
  free (arch);
  free (variant);
  return code;
}
