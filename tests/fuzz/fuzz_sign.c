/* fuzz_sign.c — fuzz target for the signature check's payload parser.
 *
 * The payload of a signature comes from a registry; it is parsed only
 * once its signature verifies, so the target signs each input with a key
 * made once and checks it: the parser sees every input.  Besides "no
 * crash, no leak", a check that passes must have read the digest asked
 * for out of the input. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "builder/builder.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (64 * 1024)

static struct builder_sign_key *priv, *pub;

static struct builder_sign_key *
key_file (EVP_PKEY *k, bool private_key)
{
  char path[] = "/tmp/hoist-fuzz-sign-XXXXXX";
  int fd = mkstemp (path);
  FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
  struct builder_sign_key *out = NULL;
  struct hoist_error *err = NULL;

  if (f == NULL
      || (private_key ? PEM_write_PrivateKey (f, k, NULL, NULL, 0, NULL, NULL) : PEM_write_PUBKEY (f, k)) != 1)
    abort ();
  fclose (f);
  if (builder_sign_key_load (path, private_key, &out, &err) < 0)
    abort ();
  unlink (path);
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char digest[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  struct hoist_error *err = NULL;
  char *sig = NULL;

  if (priv == NULL)
    {
      EVP_PKEY *k = EVP_EC_gen ("P-256");

      priv = key_file (k, true);
      pub = key_file (k, false);
      EVP_PKEY_free (k);
    }
  if (size > FUZZ_INPUT_MAX)
    return 0;
  if (builder_sign_bytes (priv, data, size, &sig, &err) < 0)
    abort ();
  if (builder_sign_check (pub, data, size, sig, digest, "registry.test/app", &err) == 0
      && memmem (data, size, digest, sizeof digest - 1) == NULL)
    abort ();
  free (sig);
  hoist_error_free (err);
  return 0;
}
