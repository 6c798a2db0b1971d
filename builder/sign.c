/* sign.c — image signatures in cosign's key-based format, so that
 * `cosign verify --key` and hoist read each other's:
 *
 *  - the payload is the "simple signing" document naming the repository
 *    and the manifest digest signed;
 *  - the signature is ECDSA P-256 over SHA-256 of the payload's bytes,
 *    DER, base64, in the annotation dev.cosignproject.cosign/signature of
 *    the payload's layer;
 *  - the manifest (OCI, one layer: the payload) goes under the tag
 *    "sha256-<hex>.sig" of the signed digest, its config an image config
 *    whose one diff_id is the payload's digest, as cosign writes it.
 *
 * Keys are PEM files: EC PRIVATE KEY, PRIVATE KEY (PKCS#8), or ENCRYPTED
 * PRIVATE KEY with the passphrase in $HOIST_SIGN_PASSWORD or
 * $COSIGN_PASSWORD (never on the command line); public keys PUBLIC KEY.
 * Only P-256 is taken.  The payload read back from a registry is outside
 * input: size-capped and parsed strictly. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build_private.h"
#include "builder/builder.h"
#include "builder/oci_private.h"

#define KEY_FILE_MAX (64u * 1024)
#define PAYLOAD_MAX (64u * 1024)
#define SIGNATURE_TYPE "cosign container image signature"
#define ZERO_TIME "0001-01-01T00:00:00Z"

struct builder_sign_key
{
  EVP_PKEY *pkey;
  char *path;
};

void
builder_sign_key_free (struct builder_sign_key *k)
{
  if (k == NULL)
    return;
  EVP_PKEY_free (k->pkey);
  free (k->path);
  free (k);
}

static const char *
openssl_reason (void)
{
  unsigned long e = ERR_peek_last_error ();
  const char *r = e != 0 ? ERR_reason_error_string (e) : NULL;

  return r != NULL ? r : "not a key hoist can read";
}

static int
passphrase_cb (char *buf, int size, int rwflag, void *u)
{
  const char *pass = u;
  size_t n;

  (void) rwflag;
  if (pass == NULL)
    return -1;
  n = strlen (pass);
  if (n > (size_t) size)
    return -1;
  memcpy (buf, pass, n);
  return (int) n;
}

int
builder_sign_key_load (const char *path, bool private_key, struct builder_sign_key **out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf text;
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  const char *pass = getenv ("HOIST_SIGN_PASSWORD");
  struct builder_sign_key *k;
  BIO *bio;
  EVP_PKEY *pkey;
  char group[64] = "";
  size_t glen = 0;

  *out = NULL;
  hoist_buf_init (&text, KEY_FILE_MAX);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open the key '%s'", path);
  if (hoist_buf_read_fd (&text, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read the key '%s'", path);
  if (pass == NULL || *pass == '\0')
    pass = getenv ("COSIGN_PASSWORD");
  if (pass != NULL && *pass != '\0' && hoist_log_add_secret (pass, err) < 0)
    return -1;
  if (private_key && text.data != NULL && strstr (text.data, "ENCRYPTED") != NULL && (pass == NULL || *pass == '\0'))
    return hoist_error_set_status (err, EACCES,
                                   "the key '%s' is encrypted and no passphrase is set (hint: set "
                                   "HOIST_SIGN_PASSWORD or COSIGN_PASSWORD)",
                                   path);
  ERR_clear_error ();
  bio = BIO_new_mem_buf (text.data != NULL ? text.data : "", (int) text.len);
  if (bio == NULL)
    abort ();
  pkey = private_key ? PEM_read_bio_PrivateKey (bio, NULL, passphrase_cb, (void *) pass)
                     : PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL);
  BIO_free (bio);
  if (pkey == NULL)
    return hoist_error_set_status (err, EINVAL, "cannot read the %s key '%s': %s", private_key ? "private" : "public",
                                   path, openssl_reason ());
  if (EVP_PKEY_get_base_id (pkey) != EVP_PKEY_EC
      || EVP_PKEY_get_utf8_string_param (pkey, "group", group, sizeof group, &glen) != 1
      || strcmp (group, "prime256v1") != 0)
    {
      EVP_PKEY_free (pkey);
      return hoist_error_set_status (err, EINVAL,
                                     "the key '%s' is not an ECDSA P-256 key%s%s (hint: openssl ecparam "
                                     "-genkey -name prime256v1 -noout -out key.pem)",
                                     path, *group != '\0' ? ": its curve is " : "", group);
    }
  k = hoist_xcalloc (1, sizeof *k);
  k->pkey = pkey;
  k->path = hoist_xstrdup (path);
  *out = k;
  return 0;
}

/* ---- Payload and signature ------------------------------------------------------------- */

char *
builder_sign_payload (const char *repository, const char *digest)
{
  json_t *doc = json_pack ("{s{s{ss}s{ss}ss}sn}", "critical", "identity", "docker-reference", repository, "image",
                           "docker-manifest-digest", digest, "type", SIGNATURE_TYPE, "optional");
  char *text = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

  json_decref (doc);
  if (text == NULL)
    abort ();
  return text;
}

int
builder_sign_bytes (const struct builder_sign_key *k, const void *data, size_t len, char **b64,
                    struct hoist_error **err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  unsigned char *sig = NULL;
  size_t siglen = 0;
  int ok;

  if (ctx == NULL)
    abort ();
  ok = EVP_DigestSignInit (ctx, NULL, EVP_sha256 (), NULL, k->pkey) == 1
       && EVP_DigestSign (ctx, NULL, &siglen, data, len) == 1 && (sig = hoist_xmalloc (siglen)) != NULL
       && EVP_DigestSign (ctx, sig, &siglen, data, len) == 1;
  EVP_MD_CTX_free (ctx);
  if (!ok)
    {
      free (sig);
      return hoist_error_set_status (err, EINVAL, "cannot sign with '%s': %s", k->path, openssl_reason ());
    }
  *b64 = hoist_xmalloc (4 * ((siglen + 2) / 3) + 1);
  EVP_EncodeBlock ((unsigned char *) *b64, sig, (int) siglen);
  free (sig);
  return 0;
}

/* The standard base64 of B64 (padded, no white space) into *OUT. */
static int
decode_b64 (const char *b64, unsigned char **out, size_t *len)
{
  size_t n = strlen (b64), pad = 0;
  int got;

  if (n == 0 || n % 4 != 0 || n > 4096
      || strspn (b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
    return -1;
  while (pad < 2 && b64[n - 1 - pad] == '=')
    pad++;
  if (strchr (b64, '=') != NULL && strchr (b64, '=') < b64 + n - pad)
    return -1;
  *out = hoist_xmalloc (n / 4 * 3 + 1);
  got = EVP_DecodeBlock (*out, (const unsigned char *) b64, (int) n);
  if (got < 0 || (size_t) got < pad)
    {
      free (*out);
      return -1;
    }
  *len = (size_t) got - pad;
  return 0;
}

int
builder_sign_check (const struct builder_sign_key *k, const void *payload, size_t len, const char *b64,
                    const char *digest, const char *repository, struct hoist_error **err)
{
  unsigned char *sig = NULL;
  size_t siglen = 0;
  EVP_MD_CTX *ctx;
  json_error_t je;
  json_t *doc, *crit;
  const char *type, *want_digest, *ref;
  int ok, r = 0;

  if (b64 == NULL || decode_b64 (b64, &sig, &siglen) < 0)
    return hoist_error_set_status (err, EBADMSG, "the signature is not base64");
  ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    abort ();
  ERR_clear_error ();
  ok = EVP_DigestVerifyInit (ctx, NULL, EVP_sha256 (), NULL, k->pkey) == 1
       && EVP_DigestVerify (ctx, sig, siglen, payload, len) == 1;
  EVP_MD_CTX_free (ctx);
  free (sig);
  if (!ok)
    return hoist_error_set_status (err, EPERM, "the signature does not verify with the key '%s'", k->path);
  if (len > PAYLOAD_MAX)
    return hoist_error_set_status (err, E2BIG, "the signed payload is over %u bytes", PAYLOAD_MAX);
  doc = json_loadb (payload, len, JSON_REJECT_DUPLICATES, &je);
  crit = json_object_get (doc, "critical");
  type = json_string_value (json_object_get (crit, "type"));
  want_digest = json_string_value (json_object_get (json_object_get (crit, "image"), "docker-manifest-digest"));
  ref = json_string_value (json_object_get (json_object_get (crit, "identity"), "docker-reference"));
  if (doc == NULL)
    r = hoist_error_set_status (err, EBADMSG, "the payload is not a cosign simple-signing document: %s", je.text);
  else if (type == NULL || strcmp (type, SIGNATURE_TYPE) != 0 || want_digest == NULL)
    r = hoist_error_set_status (err, EBADMSG,
                                "the payload is not a cosign simple-signing document: no critical.type '" SIGNATURE_TYPE
                                "' and image digest");
  else if (strcmp (want_digest, digest) != 0)
    r = hoist_error_set_status (err, EPERM, "the payload names digest %s, not the image's %s", want_digest, digest);
  else if (repository != NULL && (ref == NULL || strcmp (ref, repository) != 0))
    r = hoist_error_set_status (err, EPERM, "the payload names repository '%s', not '%s'", ref != NULL ? ref : "",
                                repository);
  json_decref (doc);
  return r;
}

/* ---- The signature artifact ---------------------------------------------------------- */

int
builder_sign_image (struct builder_store *store, const struct builder_sign_key *k, const char *repository,
                    const char *digest, struct builder_descriptor *out, struct hoist_error **err)
{
  cleanup_free char *payload = builder_sign_payload (repository, digest);
  cleanup_free char *b64 = NULL;
  char pdigest[HOIST_DIGEST_STR_SIZE];
  struct builder_manifest *m = NULL;
  json_t *cfg, *doc;
  int r;

  builder_descriptor_init (out);
  r = builder_sign_bytes (k, payload, strlen (payload), &b64, err);
  if (r == 0)
    r = hoist_sha256_digest (payload, strlen (payload), pdigest, err);
  if (r == 0)
    r = oci_store_put_bytes (store, payload, strlen (payload), pdigest, err);
  if (r < 0)
    return hoist_error_wrap (err, "cannot sign %s", digest);
  m = builder_manifest_new ();
  cfg = json_pack ("{sss[{ss}]sss{sss[s]}s{}}", "architecture", "", "created", ZERO_TIME, "history", "created",
                   ZERO_TIME, "os", "", "rootfs", "type", "layers", "diff_ids", pdigest, "config");
  r = builder_store_put_json (store, cfg, BUILDER_MT_OCI_CONFIG, &m->config, err);
  json_decref (cfg);
  if (r == 0)
    {
      struct builder_descriptor layer;

      builder_descriptor_init (&layer);
      builder_descriptor_set (&layer, BUILDER_MT_COSIGN_PAYLOAD, pdigest, (int64_t) strlen (payload));
      builder_map_set (&layer.annotations, BUILDER_COSIGN_SIGNATURE, b64);
      builder_manifest_add_layer (m, &layer);
      builder_descriptor_release (&layer);
      doc = builder_manifest_to_json (m);
      r = builder_store_put_json (store, doc, BUILDER_MT_OCI_MANIFEST, out, err);
      json_decref (doc);
    }
  builder_manifest_free (m);
  return r < 0 ? hoist_error_wrap (err, "cannot sign %s", digest) : 0;
}

int
builder_sign_verify (struct builder_store *store, const struct builder_sign_key *k, const char *sig_manifest,
                     const char *digest, const char *repository, size_t *verified, struct hoist_error **err)
{
  struct builder_manifest *m = NULL;
  json_t *doc = NULL;
  struct hoist_buf why;
  int r = builder_store_read_json (store, sig_manifest, 0, &doc, err);

  *verified = 0;
  if (r == 0)
    r = builder_manifest_from_json (doc, &m, err);
  json_decref (doc);
  if (r < 0)
    return -1;
  hoist_buf_init (&why, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < m->n_layers; i++)
    {
      const char *b64 = builder_map_get (&m->layers[i].annotations, BUILDER_COSIGN_SIGNATURE);
      cleanup_buf struct hoist_buf payload;
      cleanup_close int fd = -1;
      cleanup_error struct hoist_error *e = NULL;

      if (b64 == NULL)
        continue;
      hoist_buf_init (&payload, PAYLOAD_MAX);
      if (builder_store_blob_open (store, m->layers[i].digest, &fd, NULL, &e) == 0
          && hoist_buf_read_fd (&payload, fd, &e) == 0
          && builder_sign_check (k, payload.data != NULL ? payload.data : "", payload.len, b64, digest, repository, &e)
                 == 0)
        (*verified)++;
      else
        build_buf_addf (&why, "%s%s", why.len > 0 ? "; " : "", e != NULL ? e->msg : "unreadable");
    }
  builder_manifest_free (m);
  if (*verified == 0)
    r = hoist_error_set_status (err, EPERM, "no signature of %s verifies with '%s': %s", digest, k->path,
                                why.len > 0 ? why.data : "the signature manifest has no signature");
  hoist_buf_release (&why);
  return r;
}

char *
builder_sign_tag (const char *repository, const char *digest)
{
  return hoist_xasprintf ("%s:sha256-%s.sig", repository, digest + strlen ("sha256:"));
}

int
builder_pull_signature (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
                        struct builder_pull_result *img, struct builder_pull_result *sig, char **repository,
                        struct hoist_error **err)
{
  struct builder_pull_opts so = *o;
  struct registry_ref ref = { 0 };
  cleanup_free char *tag = NULL;
  int ret;

  *repository = NULL;
  ret = registry_ref_parse (name, &ref, err);
  if (ret == 0)
    ret = builder_pull (store, name, o, img, err);
  if (ret == 0)
    {
      *repository = registry_ref_repository (&ref);
      tag = builder_sign_tag (*repository, img->root.digest);
      /* The payloads are the signature manifest's layers. */
      so.documents_only = false;
      ret = builder_pull (store, tag, &so, sig, err);
      if (ret < 0)
        hoist_error_wrap (err, "no signature of %s found (%s)", img->root.digest, tag);
    }
  registry_ref_release (&ref);
  return ret;
}
