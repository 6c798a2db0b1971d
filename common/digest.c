/* digest.c — streaming SHA-256 (OpenSSL EVP) and digest strings. */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "common.h"

int
hoist_sha256_init (struct hoist_sha256 *h, struct hoist_error **err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    return hoist_error_set (err, ENOMEM, "cannot create a sha256 context");
  if (EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    {
      EVP_MD_CTX_free (ctx);
      return hoist_error_set (err, 0, "cannot initialise sha256 (OpenSSL)");
    }
  h->ctx = ctx;
  return 0;
}

void
hoist_sha256_update (struct hoist_sha256 *h, const void *p, size_t n)
{
  /* EVP_DigestUpdate on an initialised SHA-256 context cannot fail. */
  if (n > 0)
    EVP_DigestUpdate (h->ctx, p, n);
}

void
hoist_sha256_final (struct hoist_sha256 *h, char out[HOIST_DIGEST_STR_SIZE])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[32];
  unsigned int len = 0;

  EVP_DigestFinal_ex (h->ctx, md, &len);
  memcpy (out, "sha256:", 7);
  for (unsigned int i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[7 + 2 * i + 1] = hex[md[i] & 0xf];
    }
  out[7 + 64] = '\0';
}

void
hoist_sha256_release (struct hoist_sha256 *h)
{
  EVP_MD_CTX_free (h->ctx);
  h->ctx = NULL;
}

int
hoist_sha256_digest (const void *p, size_t n, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  struct hoist_sha256 h;
  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  hoist_sha256_update (&h, p, n);
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
  return 0;
}

bool
hoist_digest_valid (const char *s)
{
  if (strncmp (s, "sha256:", 7) != 0)
    return false;
  s += 7;
  for (int i = 0; i < HOIST_SHA256_HEX_LEN; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[HOIST_SHA256_HEX_LEN] == '\0';
}

bool
hoist_ct_equal (const void *a, const void *b, size_t n)
{
  return CRYPTO_memcmp (a, b, n) == 0;
}
