/* test_sign.c — cosign-format signatures (builder/sign.c): keys of every
 * PEM form hoist takes and the ones it refuses, sign then check, and each
 * way a check must fail: another key, another digest, another repository,
 * a tampered payload, a signature that is not base64, a payload that is
 * not a simple-signing document. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "builder/builder.h"

static char dir[] = "/tmp/hoist-test-sign-XXXXXX";
static const char digest[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char other[] = "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Write KEY's private (PASS: encrypted PKCS#8) and public PEM files. */
static char *
write_key (EVP_PKEY *key, const char *name, const char *pass, bool public_only)
{
  char *path = hoist_xasprintf ("%s/%s", dir, name);
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  if (public_only)
    assert_int_equal (PEM_write_PUBKEY (f, key), 1);
  else if (pass != NULL)
    assert_int_equal (PEM_write_PKCS8PrivateKey (f, key, EVP_aes_256_cbc (), pass, (int) strlen (pass), NULL, NULL), 1);
  else
    assert_int_equal (PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL), 1);
  fclose (f);
  return path;
}

static int
setup (void **state)
{
  (void) state;
  return mkdtemp (dir) != NULL ? 0 : -1;
}

static int
teardown (void **state)
{
  cleanup_free char *cmd = hoist_xasprintf ("rm -rf '%s'", dir);

  (void) state;
  return system (cmd) == 0 ? 0 : -1;
}

static struct builder_sign_key *
load (const char *path, bool private_key)
{
  struct builder_sign_key *k = NULL;
  cleanup_error struct hoist_error *err = NULL;

  if (builder_sign_key_load (path, private_key, &k, &err) < 0)
    fail_msg ("%s", err->msg);
  return k;
}

static void
test_sign_and_check (void **state)
{
  EVP_PKEY *a = EVP_EC_gen ("P-256"), *b = EVP_EC_gen ("P-256");
  cleanup_free char *apriv = write_key (a, "a.pem", NULL, false);
  cleanup_free char *apub = write_key (a, "a.pub", NULL, true);
  cleanup_free char *bpub = write_key (b, "b.pub", NULL, true);
  cleanup_free char *payload = builder_sign_payload ("registry.test/app", digest);
  cleanup_free char *sig = NULL;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sign_key *ka = load (apriv, true), *pa = load (apub, false), *pb = load (bpub, false);
  size_t len = strlen (payload);

  (void) state;
  assert_string_equal (payload,
                       "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.test/app\"},\"image\":{"
                       "\"docker-manifest-digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                       "0123456789abcdef\"},\"type\":\"cosign container image signature\"},\"optional\":null}");
  assert_int_equal (builder_sign_bytes (ka, payload, len, &sig, &err), 0);
  assert_int_equal (builder_sign_check (pa, payload, len, sig, digest, "registry.test/app", &err), 0);
  assert_int_equal (builder_sign_check (pa, payload, len, sig, digest, NULL, &err), 0);
  /* another key */
  assert_true (builder_sign_check (pb, payload, len, sig, digest, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "does not verify with the key"));
  /* another digest: the signature holds, the payload names another image */
  assert_true (builder_sign_check (pa, payload, len, sig, other, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "the payload names digest sha256:0123"));
  assert_true (builder_sign_check (pa, payload, len, sig, digest, "registry.test/other", &err) < 0);
  assert_non_null (strstr (err->msg, "names repository 'registry.test/app', not 'registry.test/other'"));
  /* tampered */
  payload[40] ^= 1;
  assert_true (builder_sign_check (pa, payload, len, sig, digest, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "does not verify"));
  payload[40] ^= 1;
  /* not base64, truncated, empty */
  assert_true (builder_sign_check (pa, payload, len, "not base64!", digest, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "not base64"));
  sig[strlen (sig) - 4] = '\0';
  assert_true (builder_sign_check (pa, payload, len, sig, digest, NULL, &err) < 0);
  assert_true (builder_sign_check (pa, payload, len, "", digest, NULL, &err) < 0);
  /* a signed document that is not simple signing */
  {
    cleanup_free char *sig2 = NULL;
    const char *junk = "{\"critical\":{\"type\":\"something else\"}}";

    assert_int_equal (builder_sign_bytes (ka, junk, strlen (junk), &sig2, &err), 0);
    assert_true (builder_sign_check (pa, junk, strlen (junk), sig2, digest, NULL, &err) < 0);
    assert_non_null (strstr (err->msg, "not a cosign simple-signing document"));
    free (sig2);
    sig2 = NULL;
    assert_int_equal (builder_sign_bytes (ka, "[1,", 3, &sig2, &err), 0);
    assert_true (builder_sign_check (pa, "[1,", 3, sig2, digest, NULL, &err) < 0);
    assert_non_null (strstr (err->msg, "not a cosign simple-signing document"));
  }
  builder_sign_key_free (ka);
  builder_sign_key_free (pa);
  builder_sign_key_free (pb);
  EVP_PKEY_free (a);
  EVP_PKEY_free (b);
}

static void
test_keys (void **state)
{
  EVP_PKEY *ec = EVP_EC_gen ("P-256"), *p384 = EVP_EC_gen ("P-384"), *rsa = EVP_RSA_gen (2048);
  cleanup_free char *enc = write_key (ec, "enc.pem", "pass phrase", false);
  cleanup_free char *big = write_key (p384, "p384.pem", NULL, false);
  cleanup_free char *rsap = write_key (rsa, "rsa.pem", NULL, false);
  cleanup_free char *garbage = hoist_xasprintf ("%s/garbage.pem", dir);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sign_key *k = NULL;
  FILE *f;

  (void) state;
  unsetenv ("HOIST_SIGN_PASSWORD");
  unsetenv ("COSIGN_PASSWORD");
  assert_true (builder_sign_key_load (enc, true, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "hint: set HOIST_SIGN_PASSWORD or COSIGN_PASSWORD"));
  setenv ("COSIGN_PASSWORD", "wrong", 1);
  assert_true (builder_sign_key_load (enc, true, &k, &err) < 0);
  setenv ("HOIST_SIGN_PASSWORD", "pass phrase", 1);
  assert_int_equal (builder_sign_key_load (enc, true, &k, &err), 0);
  builder_sign_key_free (k);
  unsetenv ("HOIST_SIGN_PASSWORD");
  unsetenv ("COSIGN_PASSWORD");
  assert_true (builder_sign_key_load (big, true, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "its curve is secp384r1"));
  assert_true (builder_sign_key_load (rsap, true, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "not an ECDSA P-256 key"));
  f = fopen (garbage, "w");
  assert_non_null (f);
  fputs ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
  fclose (f);
  assert_true (builder_sign_key_load (garbage, false, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "cannot read the public key"));
  assert_true (builder_sign_key_load ("/nonexistent/key.pem", false, &k, &err) < 0);
  EVP_PKEY_free (ec);
  EVP_PKEY_free (p384);
  EVP_PKEY_free (rsa);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_sign_and_check),
    cmocka_unit_test (test_keys),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}
