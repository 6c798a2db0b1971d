#!/bin/sh
# Self-test of the registry harness (tests/registry/lib.sh): the real
# docker-registry in each mode takes a push and a pull from skopeo with the
# right credentials and refuses wrong ones; the token server logs the scopes;
# the fault proxy injects each kind of fault (seen with curl); nothing is
# left behind.  POSIX sh; run by make check (HOIST_SRCDIR) or by hand.
# shellcheck disable=SC2034,SC2154  # variables shared with lib.sh, eval
set -u

for tool in docker-registry skopeo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install docker-registry skopeo)"
    exit 77
  fi
done

if [ -z "${HOIST_SRCDIR:-}" ]; then
  HOIST_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
fi
lib=$HOIST_SRCDIR/tests/registry/lib.sh
# shellcheck source=tests/registry/lib.sh
. "$lib"

n=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-harness-test.XXXXXX")
REGISTRY_NO_TRAP=1
trap 'registry_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () {
  n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
check () { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_in () {
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(head -c 800 "$1")"; fi
}

py () { "$_rh_py" -W ignore::DeprecationWarning "$@"; }
# json FILE EXPR — a Python expression over the JSON document d.
json () { py -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# count LOG EXPR — matching JSON lines (registry_log_count).
count () { registry_log_count "$1" "$2"; }
sha () { sha256sum "$1" | cut -d' ' -f1; }
header () { sed -n "s/^$2: *//Ip" "$1" | tr -d '\r' | tail -1; }
status () { sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$1" | tail -1; }

# skopeo_ok NAME ARGS... / skopeo_fails NAME ARGS... — output in $tmp/NAME.log
sk () { skopeo --insecure-policy --command-timeout 30s "$@"; }
skopeo_ok () {
  name=$1; shift
  if sk "$@" >"$tmp/$name.log" 2>&1; then ok "$name"; else not_ok "$name" "$(tail -3 "$tmp/$name.log")"; fi
}
skopeo_fails () {
  name=$1; want=$2; shift 2
  if sk "$@" >"$tmp/$name.log" 2>&1; then
    not_ok "$name" "skopeo succeeded"
  elif grep -qiF -- "$want" "$tmp/$name.log"; then
    ok "$name"
  else
    not_ok "$name" "'$want' not in:" "$(tail -3 "$tmp/$name.log")"
  fi
}
# pulled_digest LAYOUT TAG — the manifest digest a pull wrote.
pulled_digest () {
  json "$1/index.json" "[m['digest'] for m in d['manifests'] if m.get('annotations',{}).get('org.opencontainers.image.ref.name')=='$2'][0]" 2>/dev/null
}

# A blob to upload with curl, and its digest.
head -c 200000 /dev/urandom >"$tmp/blob"
blob_digest=sha256:$(sha "$tmp/blob")
printf 'small blob\n' >"$tmp/small"
small_digest=sha256:$(sha "$tmp/small")

# upload BASE REPO FILE DIGEST [curl args] — POST then monolithic PUT;
# sets up_post / up_put (statuses), up_loc (the POST's Location); headers in
# $tmp/up.post / $tmp/up.put.
upload () {
  base=$1 repo=$2 file=$3 digest=$4
  shift 4
  up_put=
  up_post=$(registry_curl -s -o /dev/null -D "$tmp/up.post" -w '%{http_code}' -X POST "$@" \
    "$base/v2/$repo/blobs/uploads/") || up_post=000
  up_loc=$(header "$tmp/up.post" Location)
  [ "$up_post" = 202 ] || return 0
  case $up_loc in *\?*) sep='&' ;; *) sep='?' ;; esac
  up_put=$(registry_curl -s -o /dev/null -D "$tmp/up.put" -w '%{http_code}' -X PUT "$@" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
    "$up_loc${sep}digest=$digest" 2>/dev/null) || up_put=000
}

image=$tmp/image
registry_make_image "$image" v1 --size 30000 --layers 2 >"$tmp/digest" 2>"$tmp/mkimage.err" ||
  not_ok "mkimage.py makes the test image" "$(cat "$tmp/mkimage.err")"
want_digest=$(cat "$tmp/digest")

# ---------------------------------------------------------------- anon
if registry_start anon; then
  ok "anon: registry started on $REGISTRY_ADDR"
  case $REGISTRY_ADDR in 127.0.0.1:[0-9]*) ok "anon: REGISTRY_ADDR is 127.0.0.1:PORT" ;;
    *) not_ok "anon: REGISTRY_ADDR is 127.0.0.1:PORT" "$REGISTRY_ADDR" ;; esac
  expect_eq "$(registry_curl -s -o /dev/null -w '%{http_code}' "$REGISTRY_URL/v2/")" 200 "anon: /v2/ answers 200"
  skopeo_ok "anon: skopeo push" copy --dest-tls-verify=false "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/anon:v1"
  skopeo_ok "anon: skopeo pull" copy --src-tls-verify=false "docker://$REGISTRY_ADDR/harness/anon:v1" "oci:$tmp/pull-anon:v1"
  expect_eq "$(pulled_digest "$tmp/pull-anon" v1)" "$want_digest" "anon: the pulled manifest is the pushed one"

  # --- the fault proxy, every kind of fault, seen with curl.  One plan,
  # each rule on its own repository.
  R=$REGISTRY_URL
  cat >"$tmp/plan.json" <<'EOF'
{"faults": [
  {"method": "PUT", "path": "/v2/f/put/blobs/uploads/*", "nth": 2, "status": 503},
  {"method": ["PATCH", "PUT"], "path": "/v2/f/429/blobs/uploads/*", "first": 1,
   "status": 429, "headers": {"Retry-After": "1"}},
  {"method": ["PATCH", "PUT"], "path": "/v2/f/reset/blobs/uploads/*", "nth": 1,
   "action": "reset", "after_bytes": 1000},
  {"method": "GET", "path": "/v2/f/reset/blobs/*", "action": "reset", "after_response_bytes": 5000},
  {"path": "/v2/f/close/*", "action": "close"},
  {"path": "/v2/f/delay/*", "action": "delay", "seconds": 0.5},
  {"path": "/v2/f/down/*", "status": 503}
]}
EOF
  if proxy_start "$tmp/plan.json"; then
    upload "$PROXY_URL" f/put "$tmp/small" "$small_digest"; s1=$up_put
    upload "$PROXY_URL" f/put "$tmp/small" "$small_digest"; s2=$up_put
    upload "$PROXY_URL" f/put "$tmp/small" "$small_digest"; s3=$up_put
    expect_eq "$s1 $s2 $s3" "201 503 201" "fault: the 2nd upload PUT gets 503, the others go through"
    expect_eq "$(count "$PROXY_LOG" 'e["method"]=="PUT" and e["status"]==503 and e["fault"]==0')" 1 \
      "fault: the proxy log names the injected 503"
    case $up_loc in "http://$PROXY_ADDR/v2/f/put/blobs/uploads/"*) ok "proxy: Location points at the proxy" ;;
      *) not_ok "proxy: Location points at the proxy" "$up_loc" ;; esac
    expect_eq "$(count "$PROXY_LOG" 'e["server"]=="proxy" and e["auth"] is None and e["method"] in ("POST","PUT")')" 6 \
      "proxy: logs method, status and Authorization of every request"

    registry_curl -s -o /dev/null -D "$tmp/h" -X POST "$PROXY_URL/v2/f/429/blobs/uploads/"
    loc=$(header "$tmp/h" Location)
    s1=$(registry_curl -s -o "$tmp/b429" -D "$tmp/h429" -w '%{http_code}' -X PATCH \
      -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/small" "$loc")
    s2=$(registry_curl -s -o /dev/null -D "$tmp/h" -w '%{http_code}' -X PATCH \
      -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/small" "$loc")
    expect_eq "$s1 $(header "$tmp/h429" Retry-After) $s2" "429 1 202" \
      "fault: the first blob PATCH gets 429 with Retry-After: 1, the retry 202"
    expect_in "$tmp/b429" TOOMANYREQUESTS "fault: the 429 has a registry-style error body"

    upload "$PROXY_URL" f/reset "$tmp/blob" "$blob_digest"
    s1=$up_put
    upload "$PROXY_URL" f/reset "$tmp/blob" "$blob_digest"
    expect_eq "$s1 $up_put" "000 201" "fault: connection reset during the 1st upload body, the next upload works"
    expect_eq "$(count "$PROXY_LOG" 'e["reset"] and e["req_bytes"]==1000 and e["method"]=="PUT"')" 1 \
      "fault: the reset came after 1000 body bytes (logged)"
    expect_eq "$(registry_curl -s -o /dev/null -w '%{http_code}' -I "$R/v2/f/reset/blobs/$blob_digest")" 200 \
      "fault: the retried blob is in the registry"

    registry_curl -s -o "$tmp/partial" "$PROXY_URL/v2/f/reset/blobs/$blob_digest" 2>/dev/null
    rc=$?
    expect_eq "$rc $(wc -c <"$tmp/partial" | tr -d ' ')" "56 5000" \
      "fault: download reset after 5000 bytes of the answer"
    registry_curl -s -o /dev/null "$PROXY_URL/v2/f/close/tags/list" 2>/dev/null
    expect_eq "$?" 52 "fault: close gives an empty reply"
    t0=$(date +%s%N)
    s=$(registry_curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/v2/f/delay/tags/list")
    t1=$(date +%s%N)
    if [ "$s" = 404 ] && [ $(((t1 - t0) / 1000000)) -ge 450 ]; then ok "fault: delay, then the answer"
    else not_ok "fault: delay, then the answer" "status $s after $(((t1 - t0) / 1000000)) ms"; fi

    # Chunked uploads pass through.
    registry_curl -s -o /dev/null -D "$tmp/h" -X POST "$PROXY_URL/v2/f/chunked/blobs/uploads/"
    loc=$(header "$tmp/h" Location)
    s1=$(registry_curl -s -o /dev/null -D "$tmp/h" -w '%{http_code}' -X PATCH -H 'Transfer-Encoding: chunked' \
      -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/blob" "$loc")
    loc=$(header "$tmp/h" Location)
    s2=$(registry_curl -s -o /dev/null -w '%{http_code}' -X PUT "$loc&digest=$blob_digest")
    got=$(registry_curl -s "$R/v2/f/chunked/blobs/$blob_digest" | sha256sum | cut -d' ' -f1)
    expect_eq "$s1 $s2 sha256:$got" "202 201 $blob_digest" "proxy: a chunked PATCH streams through intact"

    s=""
    for i in 1 2 3; do
      s="$s $(registry_curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/v2/f/down/tags/list")"
    done
    expect_eq "$s" " 503 503 503" "fault: a persistent 503"
    skopeo_fails "fault: skopeo push through the persistent 503 fails" 503 \
      copy --dest-tls-verify=false "oci:$image:v1" "docker://$PROXY_ADDR/f/down:v1"
  else
    not_ok "proxy_start (the anon plan)"
  fi
else
  not_ok "anon: registry started"
fi
registry_stop

# ---------------------------------------------------------------- htpasswd
if registry_start htpasswd; then
  ok "htpasswd: registry started on $REGISTRY_ADDR"
  htfile=$(sed -n 's/^ *path: //p' "$REGISTRY_CONFIG")
  case $(cut -d: -f2 "$htfile") in
    '$2'[aby]'$'*) ok "htpasswd: the password file is bcrypt" ;;
    *) not_ok "htpasswd: the password file is bcrypt" "$(cat "$htfile")" ;;
  esac
  registry_curl -s -o /dev/null -D "$tmp/h" "$REGISTRY_URL/v2/"
  expect_eq "$(status "$tmp/h") $(header "$tmp/h" Www-Authenticate)" '401 Basic realm="hoist-test"' \
    "htpasswd: /v2/ without credentials: 401 Basic"
  creds=$REGISTRY_USER:$REGISTRY_PASS
  skopeo_ok "htpasswd: skopeo push" copy --dest-tls-verify=false --dest-creds "$creds" \
    "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/basic:v1"
  skopeo_ok "htpasswd: skopeo pull" copy --src-tls-verify=false --src-creds "$creds" \
    "docker://$REGISTRY_ADDR/harness/basic:v1" "oci:$tmp/pull-basic:v1"
  expect_eq "$(pulled_digest "$tmp/pull-basic" v1)" "$want_digest" "htpasswd: the pulled manifest is the pushed one"
  skopeo_fails "htpasswd: push with a wrong password is refused" unauthorized \
    copy --dest-tls-verify=false --dest-creds "$REGISTRY_USER:wrong" "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/basic:v2"
  skopeo_fails "htpasswd: pull without credentials is refused" unauthorized \
    copy --src-tls-verify=false "docker://$REGISTRY_ADDR/harness/basic:v1" "oci:$tmp/pull-basic2:v1"
else
  not_ok "htpasswd: registry started"
fi
registry_stop

# ---------------------------------------------------------------- token
if registry_start token; then
  ok "token: registry started on $REGISTRY_ADDR (behind the enforcing proxy; registry $REGISTRY_BACKEND)"
  registry_curl -s -o /dev/null -D "$tmp/h" "$REGISTRY_URL/v2/"
  expect_eq "$(status "$tmp/h") $(header "$tmp/h" Www-Authenticate)" \
    "401 Bearer realm=\"$TOKEN_REALM\",service=\"hoist-test\"" "token: /v2/ challenges with the token realm"
  creds=$REGISTRY_USER:$REGISTRY_PASS
  skopeo_ok "token: skopeo push" copy --dest-tls-verify=false --dest-creds "$creds" \
    "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/token:v1"
  skopeo_ok "token: skopeo pull" copy --src-tls-verify=false --src-creds "$creds" \
    "docker://$REGISTRY_ADDR/harness/token:v1" "oci:$tmp/pull-token:v1"
  expect_eq "$(pulled_digest "$tmp/pull-token" v1)" "$want_digest" "token: the pulled manifest is the pushed one"
  skopeo_fails "token: push with a wrong password is refused" "invalid username/password" \
    copy --dest-tls-verify=false --dest-creds "$REGISTRY_USER:wrong" "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/token:v2"
  skopeo_fails "token: pull without credentials is refused" unauthorized \
    copy --src-tls-verify=false "docker://$REGISTRY_ADDR/harness/token:v1" "oci:$tmp/pull-token2:v1"
  expect_eq "$(count "$TOKEN_LOG" '"repository:harness/token:pull,push" in e["scopes"] and e["auth"]=="basic" and e["status"]==200')" 1 \
    "token: the server logged the push scope, asked with Basic credentials"
  expect_eq "$(count "$TOKEN_LOG" 'e["scopes"]==["repository:harness/token:pull"] and e["status"]==200')" 1 \
    "token: the server logged the pull scope"
  check "token: the server logged the wrong password as a 401" \
    test "$(count "$TOKEN_LOG" 'e["status"]==401 and e["user"]==e["account"] and e["auth"]=="basic"')" -gt 0
  expect_eq "$(count "$TOKEN_LOG" 'e["status"]==401 and e["auth"] is None')" 1 \
    "token: the server logged the anonymous request as a 401"

  registry_curl -s -o /dev/null -D "$tmp/h" -H 'Authorization: Bearer not-a-token' "$REGISTRY_URL/v2/harness/token/tags/list"
  case "$(status "$tmp/h") $(header "$tmp/h" Www-Authenticate)" in
    *'401 Bearer realm='*'scope="repository:harness/token:pull",error="invalid_token"') ok "token: a forged Bearer token is refused" ;;
    *) not_ok "token: a forged Bearer token is refused" "$(cat "$tmp/h")" ;;
  esac
  expect_eq "$(registry_curl -s -o /dev/null -w '%{http_code}' -u "$creds" "$REGISTRY_URL/v2/harness/token/tags/list")" 401 \
    "token: Basic credentials sent to the registry API are refused"
  expect_eq "$(registry_curl -s -o /dev/null -w '%{http_code}' -u "$creds" "http://$REGISTRY_BACKEND/v2/harness/token/tags/list")" 200 \
    "token: (the bare silly registry would take them: the proxy is needed)"
  pull_tok=$(registry_token repository:harness/token:pull)
  push_tok=$(registry_token repository:harness/token:pull,push)
  registry_curl -s -o /dev/null -D "$tmp/h" -X POST -H "Authorization: Bearer $pull_tok" "$REGISTRY_URL/v2/harness/token/blobs/uploads/"
  s2=$(registry_curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $push_tok" "$REGISTRY_URL/v2/harness/token/blobs/uploads/")
  case "$(status "$tmp/h") $s2 $(header "$tmp/h" Www-Authenticate)" in
    *'401 202 Bearer'*'error="insufficient_scope"') ok "token: a pull token cannot start an upload, a push token can" ;;
    *) not_ok "token: a pull token cannot start an upload, a push token can" "$s2" "$(cat "$tmp/h")" ;;
  esac
  s=$(registry_curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $push_tok" \
    "$REGISTRY_URL/v2/harness/token/blobs/uploads/?mount=$want_digest&from=harness/other")
  tok2=$(registry_token repository:harness/token:pull,push repository:harness/other:pull)
  s2=$(registry_curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok2" \
    "$REGISTRY_URL/v2/harness/token/blobs/uploads/?mount=$want_digest&from=harness/other")
  expect_eq "$s $s2" "401 202" "token: a mount needs pull on the source repository"

  # Token expiry mid-push (tokens older than 1 s are refused) and blobs
  # redirected to another host, as a CDN would (?reject=1: as S3 would,
  # refusing a request that carries Authorization).
  if proxy_start '[{"path": "/v2/harness/expiry/*", "action": "token_max_age", "seconds": 1},
                   {"method": "GET", "path": "/v2/*/blobs/sha256:*", "query": "*reject=1*",
                    "action": "redirect", "reject_auth": true},
                   {"method": "GET", "path": "/v2/*/blobs/sha256:*", "action": "redirect"}]'; then
    tok=$(registry_token repository:harness/expiry:pull,push)
    registry_curl -s -o /dev/null -D "$tmp/h" -X POST -H "Authorization: Bearer $tok" "$PROXY_URL/v2/harness/expiry/blobs/uploads/"
    s1=$(status "$tmp/h")
    loc=$(header "$tmp/h" Location)
    sleep 1.2
    registry_curl -s -o /dev/null -D "$tmp/h" -X PUT -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/small" "$loc&digest=$small_digest"
    s2=$(status "$tmp/h")
    chal=$(header "$tmp/h" Www-Authenticate)
    tok=$(registry_token repository:harness/expiry:pull,push)
    s3=$(registry_curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/small" "$loc&digest=$small_digest")
    expect_eq "$s1 $s2 $s3" "202 401 201" "fault: token expiry mid-push: 401, then a new token finishes the upload"
    case $chal in
      "Bearer realm=\"$TOKEN_REALM\",service=\"hoist-test\",scope=\"repository:harness/expiry:pull,push\",error=\"invalid_token\"")
        ok "fault: the expiry 401 carries the Bearer challenge" ;;
      *) not_ok "fault: the expiry 401 carries the Bearer challenge" "$chal" ;;
    esac

    case $PROXY_REDIRECT_ADDR in 127.0.0.*:[0-9]*) ok "redirect: the blob host is $PROXY_REDIRECT_ADDR" ;;
      *) not_ok "redirect: the blob host" "'$PROXY_REDIRECT_ADDR'" ;; esac
    tok=$(registry_token repository:harness/token:pull)
    layer=$(json "$image/blobs/sha256/${want_digest#sha256:}" "d['layers'][0]['digest']")
    registry_curl -s -o /dev/null -D "$tmp/h" -H "Authorization: Bearer $tok" "$PROXY_URL/v2/harness/token/blobs/$layer"
    loc=$(header "$tmp/h" Location)
    case "$(status "$tmp/h") $loc" in
      "307 http://$PROXY_REDIRECT_ADDR/blob/"*) ok "redirect: GET blob answers 307 to the other host" ;;
      *) not_ok "redirect: GET blob answers 307 to the other host" "$(cat "$tmp/h")" ;;
    esac
    got=$(registry_curl -s "$loc" | sha256sum | cut -d' ' -f1)
    expect_eq "sha256:$got" "$layer" "redirect: the other host serves the blob"
    expect_eq "$(registry_curl -s -r 10-19 -o /dev/null -w '%{http_code} %{size_download}' "$loc")" "206 10" \
      "redirect: the other host serves ranges"
    expect_eq "$(count "$PROXY_LOG" 'e["server"]=="redirect" and e["auth"] is None')" 2 \
      "redirect: the blob host logs that no Authorization came"
    registry_curl -s -o /dev/null -H "Authorization: Bearer $tok" "$loc"
    expect_eq "$(count "$PROXY_LOG" 'e["server"]=="redirect" and e["auth"]=="bearer"')" 1 \
      "redirect: the blob host logs an Authorization that came"
    before=$(count "$PROXY_LOG" 'e["server"]=="redirect" and e["auth"] is None and e["status"]==200')
    skopeo_ok "redirect: skopeo pull through the redirecting proxy" copy --src-tls-verify=false --src-creds "$creds" \
      "docker://$PROXY_ADDR/harness/token:v1" "oci:$tmp/pull-redirect:v1"
    expect_eq "$(($(count "$PROXY_LOG" 'e["server"]=="redirect" and e["auth"] is None and e["status"]==200') - before))" 3 \
      "redirect: skopeo sent no Authorization to the other host"

    registry_curl -s -o /dev/null -D "$tmp/h" -H "Authorization: Bearer $tok" "$PROXY_URL/v2/harness/token/blobs/$layer?reject=1"
    loc=$(header "$tmp/h" Location)
    expect_eq "$(registry_curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$loc") $(registry_curl -s -o /dev/null -w '%{http_code}' "$loc")" \
      "400 200" "redirect: reject_auth refuses a request that carries Authorization"
  else
    not_ok "proxy_start (the token plan)"
  fi
else
  not_ok "token: registry started"
fi
registry_stop

# ---------------------------------------------------------------- tls
if registry_start tls; then
  ok "tls: registry started on $REGISTRY_ADDR"
  if openssl x509 -in "$(dirname "$REGISTRY_CA")/server.pem" -noout -text 2>/dev/null |
     grep -q 'IP Address:127.0.0.1, DNS:localhost\|DNS:localhost, IP Address:127.0.0.1'; then
    ok "tls: the server certificate names 127.0.0.1 (IP SAN) and localhost"
  else
    not_ok "tls: the server certificate names 127.0.0.1 (IP SAN) and localhost"
  fi
  expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_CA" "https://$REGISTRY_ADDR/v2/")" 200 \
    "tls: curl --cacert \$REGISTRY_CA reaches /v2/"
  skopeo_ok "tls: skopeo push" copy --dest-cert-dir "$REGISTRY_CERT_DIR" \
    "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/tls:v1"
  skopeo_ok "tls: skopeo pull" copy --src-cert-dir "$REGISTRY_CERT_DIR" \
    "docker://$REGISTRY_ADDR/harness/tls:v1" "oci:$tmp/pull-tls:v1"
  expect_eq "$(pulled_digest "$tmp/pull-tls" v1)" "$want_digest" "tls: the pulled manifest is the pushed one"
  skopeo_fails "tls: a client without the CA is refused" "certificate" \
    copy "oci:$image:v1" "docker://$REGISTRY_ADDR/harness/tls:v2"
  if proxy_start ""; then
    expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_CA" "$PROXY_URL/v2/")" 200 \
      "tls: the proxy speaks TLS in front of it ($PROXY_URL)"
  else
    not_ok "proxy_start (tls)"
  fi
else
  not_ok "tls: registry started"
fi

# ---------------------------------------------------------------- cleanup
pids=$(registry_pids | tr '\n' ' ')
dir=$_rh_tmp
registry_stop
left=
for p in $pids; do
  if registry__alive "$p"; then left="$left $p"; fi
done
if [ -n "$pids" ] && [ -z "$left" ] && [ ! -e "$dir" ]; then
  ok "registry_stop ends every process ($pids) and removes $dir"
else
  not_ok "registry_stop ends every process and removes the temp dir" "pids: $pids" "left: $left" "dir: $(ls -d "$dir" 2>&1)"
fi

# child NAME MODE TAIL — a shell script that starts a MODE registry and a
# proxy, writes its pids, dir and addresses, then runs TAIL.
child () {
  cat >"$tmp/$1.sh" <<EOF
HOIST_SRCDIR='$HOIST_SRCDIR'
. "\$HOIST_SRCDIR/tests/registry/lib.sh"
registry_start $2 || exit 3
proxy_start '' || exit 3
registry_curl -s -o /dev/null -w '%{http_code}\n' "\$PROXY_URL/v2/" >'$tmp/$1.code'
registry_pids >'$tmp/$1.pids'
echo "\$_rh_tmp" >'$tmp/$1.dir'
echo \$REGISTRY_BACKEND \$REGISTRY_ADDR \${TOKEN_ADDR:-} \$PROXY_ADDR >'$tmp/$1.addr'
$3
EOF
}
# gone NAME [keepdir] — the child's processes are gone (within 5 s) and,
# unless keepdir, its temp dir.
gone () {
  i=0
  while :; do
    left=
    for p in $(cat "$tmp/$1.pids" 2>/dev/null); do
      if registry__alive "$p"; then left="$left $p"; fi
    done
    [ -z "$left" ] && break
    i=$((i + 1))
    [ $i -lt 100 ] || break
    sleep 0.05
  done
  d=$(cat "$tmp/$1.dir" 2>/dev/null)
  if [ -z "$left" ] && [ -s "$tmp/$1.pids" ] && { [ "${2:-}" = keepdir ] || [ ! -e "$d" ]; }; then
    return 0
  fi
  echo "# $1: pids $(cat "$tmp/$1.pids" 2>/dev/null | tr '\n' ' ') left:$left dir: $(ls -d "$d" 2>&1)"
  return 1
}
wait_for () {  # wait_for FILE — up to 20 s
  i=0
  while [ ! -s "$1" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$1" ]
}

# Four harnesses at once: one exits without registry_stop, one fails, one
# is killed by SIGTERM, one by SIGKILL.
child exit0 token "exit 0"
child fail1 anon "false; exit 1"
child term anon 'sleep 30 & echo $! >"'"$tmp"'/term.sleep"; wait $!'
child kill9 anon 'sleep 30 & echo $! >"'"$tmp"'/kill9.sleep"; wait $!'
sh "$tmp/exit0.sh" </dev/null >"$tmp/exit0.out" 2>&1 &
c_exit0=$!
sh "$tmp/fail1.sh" </dev/null >"$tmp/fail1.out" 2>&1 &
c_fail1=$!
sh "$tmp/term.sh" </dev/null >"$tmp/term.out" 2>&1 &
c_term=$!
sh "$tmp/kill9.sh" </dev/null >"$tmp/kill9.out" 2>&1 &
c_kill9=$!
wait_for "$tmp/term.addr" && kill -TERM "$c_term" 2>/dev/null
wait_for "$tmp/kill9.addr" && kill -KILL "$c_kill9" 2>/dev/null
codes=
for c in exit0 fail1 term kill9; do
  eval "cpid=\$c_$c"
  if wait_for "$tmp/$c.addr"; then :; else kill -KILL "$cpid" 2>/dev/null; fi
  wait "$cpid"
  codes="$codes $?"
done
expect_eq "$codes" " 0 1 143 137" "four harnesses at once: they exit as told"
check "a test that exits without registry_stop leaves nothing (EXIT trap)" gone exit0
check "a test that fails leaves nothing (EXIT trap)" gone fail1
check "a test killed by SIGTERM leaves nothing (trap)" gone term
check "a test killed by SIGKILL leaves no process (pdeathsig)" gone kill9 keepdir
d=$(cat "$tmp/kill9.dir" 2>/dev/null)
case $d in */hoist-registry.*) rm -rf "$d" ;; esac
for c in term kill9; do
  [ -s "$tmp/$c.sleep" ] && kill "$(cat "$tmp/$c.sleep")" 2>/dev/null
done
# Each child's own addresses (anon: REGISTRY_ADDR is the registry's), then all.
ports=0
for c in exit0 fail1 term kill9; do
  ports=$((ports + $(tr ' ' '\n' <"$tmp/$c.addr" 2>/dev/null | grep . | sort -u | wc -l)))
done
all=$(cat "$tmp/exit0.addr" "$tmp/fail1.addr" "$tmp/term.addr" "$tmp/kill9.addr" 2>/dev/null | tr ' ' '\n' | grep . | sort -u | wc -l)
expect_eq "$(cat "$tmp/exit0.code" "$tmp/fail1.code" "$tmp/term.code" "$tmp/kill9.code" 2>/dev/null | tr '\n' ' ')$ports $all" \
  "401 200 200 200 10 10" "four harnesses at once: each answers, on ports of its own"

echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
