# shellcheck shell=sh
# A real registry for hoist's tests: Debian's docker-registry (Distribution
# 2.8.2) on 127.0.0.1, a token server, an auth-enforcing proxy and a fault
# proxy.  POSIX sh (dash or bash): source it, then
#
#   registry_start MODE [OPTION...]   MODE: anon | htpasswd | token | tls
#       OPTIONs: tls (TLS with htpasswd/token too), relative (relative
#       Location URLs), readonly, expires=N (token lifetime, s),
#       anonymous-pull, deny-push=GLOB, deny=GLOB (token grants),
#       no-enforce (token mode: clients talk to the bare `silly` registry)
#     exports REGISTRY_ADDR (host:port clients use), REGISTRY_URL,
#       REGISTRY_SCHEME, REGISTRY_MODE, REGISTRY_BACKEND (the registry
#       itself: differs from REGISTRY_ADDR in token mode, where an enforcing
#       proxy sits in front), REGISTRY_LOG, REGISTRY_STORAGE, REGISTRY_CONFIG;
#       htpasswd/token: REGISTRY_USER, REGISTRY_PASS (taken from the
#       environment if set); tls: REGISTRY_CA (CA PEM), REGISTRY_CERT_DIR (a
#       dir with ca.crt, for skopeo --*-cert-dir); token: TOKEN_ADDR,
#       TOKEN_REALM, TOKEN_SERVICE, TOKEN_LOG, REGISTRY_AUTH_LOG (the
#       enforcing proxy's log)
#   proxy_start PLAN               PLAN: a file, inline JSON ('{...' or
#       '[...'), or "" (no faults; see fault_proxy.py for the format); a
#       fault proxy in front of the last REGISTRY_ADDR (in tls mode it speaks
#       TLS with the same certificate; in token mode it knows the realm for
#       its token_max_age challenges).  Can be called again: each call adds a
#       proxy and exports its values.
#     exports PROXY_ADDR, PROXY_URL, PROXY_LOG (JSON lines),
#       PROXY_REDIRECT_ADDR (the blob host, when the plan redirects)
#   registry_stop                  kills every process these functions
#       started (checked by pid and command line), removes the temp dirs;
#       idempotent.  Installed as an EXIT/INT/TERM/HUP trap at the first
#       start (bash: chained after an EXIT trap already set; dash cannot see
#       earlier traps: set yours after registry_start and call registry_stop
#       in it, or set REGISTRY_NO_TRAP=1 and call it yourself).
#   registry_make_image DIR TAG [mkimage.py options]  a tiny OCI layout
#   registry_token [SCOPE...]      prints a token from the token server
#   registry_curl ARGS...          curl -sS --max-time 20 [--cacert $REGISTRY_CA]
#   registry_log_count FILE 'PYEXPR'   lines of a JSON-lines log for which
#       the Python expression over `e` is true, e.g.
#       registry_log_count "$PROXY_LOG" 'e["method"]=="PUT" and e["status"]==503'
#   registry_pids                  the pids still running (for checks)
# registry_start can be called several times (several registries at once;
# the exports name the last); registry_stop ends them all.  Logs: REGISTRY_LOG
# (the registry's stderr: app and access log), TOKEN_LOG, REGISTRY_AUTH_LOG and
# PROXY_LOG (JSON lines, one per request).
#
# Call the functions from the main shell, not inside $(...) or a pipeline:
# they export variables and the servers die with the shell that started
# them (setpriv --pdeathsig).  Every wait is bounded (REGISTRY_WAIT, 20 s).
# Needs: docker-registry, python3, curl, openssl (tls), util-linux (setpriv).

REGISTRY_WAIT=${REGISTRY_WAIT:-20}

# The harness's own directory: REGISTRY_HARNESS_DIR, bash's BASH_SOURCE,
# $HOIST_SRCDIR/tests/registry, or the sourcing script's directory.
_rh_here=
if [ -n "${REGISTRY_HARNESS_DIR:-}" ]; then
  _rh_here=$REGISTRY_HARNESS_DIR
elif [ -n "${BASH_VERSION:-}" ]; then
  # shellcheck disable=SC3028,SC3054
  _rh_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fi
if [ -n "$_rh_here" ] && [ -f "$_rh_here/fault_proxy.py" ]; then
  :
elif [ -n "${HOIST_SRCDIR:-}" ] && [ -f "$HOIST_SRCDIR/tests/registry/fault_proxy.py" ]; then
  _rh_here=$HOIST_SRCDIR/tests/registry
else
  _rh_here=$(cd "$(dirname "$0")" && pwd)
fi
if [ ! -f "$_rh_here/fault_proxy.py" ]; then
  echo "tests/registry/lib.sh: cannot find the harness; set REGISTRY_HARNESS_DIR or HOIST_SRCDIR" >&2
  return 1 2>/dev/null || exit 1
fi
REGISTRY_HARNESS_DIR=$_rh_here

# Debian's python3 directly: a version manager's shim costs most of a second
# a call.
if [ -n "${REGISTRY_PYTHON:-}" ]; then
  _rh_py=$REGISTRY_PYTHON
elif [ -x /usr/bin/python3 ]; then
  _rh_py=/usr/bin/python3
else
  _rh_py=python3
fi

_rh_tmp=
_rh_n=0
_rh_setpriv=
if setpriv --pdeathsig KILL true >/dev/null 2>&1; then
  _rh_setpriv=1
fi

registry__say () { echo "registry harness: $*" >&2; }

registry__random () { od -An -N"${1:-12}" -tx1 /dev/urandom | tr -d ' \n'; }

# registry__init — the run's temp dir and the trap.
# shellcheck disable=SC2120
registry__init () {
  if [ -n "$_rh_tmp" ] && [ -d "$_rh_tmp" ]; then
    return 0
  fi
  _rh_tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-registry.XXXXXX") || return 1
  : >"$_rh_tmp/pids"
  if [ -z "${REGISTRY_NO_TRAP:-}" ] && [ -z "${_rh_trapped:-}" ]; then
    _rh_trapped=1
    _rh_prev_exit=
    if [ -n "${BASH_VERSION:-}" ]; then
      # shellcheck disable=SC3045
      _rh_prev_exit=$(trap -p EXIT)
      if [ -n "$_rh_prev_exit" ]; then
        eval "set -- $_rh_prev_exit"
        _rh_prev_exit=$3
      fi
    fi
    trap 'registry__on_exit' EXIT
    trap 'registry_stop; exit 129' HUP
    trap 'registry_stop; exit 130' INT
    trap 'registry_stop; exit 143' TERM
  fi
}

registry__on_exit () {
  _rh_rc=$?
  registry_stop
  if [ -n "${_rh_prev_exit:-}" ]; then
    eval "$_rh_prev_exit"
  fi
  return $_rh_rc
}

# registry__alive PID — running (not a zombie).
registry__alive () {
  _rh_st=
  { read -r _rh_st <"/proc/$1/stat"; } 2>/dev/null || return 1
  _rh_st=${_rh_st##*) }
  case $_rh_st in
    Z*|X*|x*) return 1 ;;
  esac
  return 0
}

# registry__ours PID — a process we started: alive, and its command line
# names our temp dir (so a reused pid is never killed).
registry__ours () {
  registry__alive "$1" || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$_rh_tmp"
}

# registry__spawn NAME CMD... — in the background, output in $_rh_tmp/NAME.out;
# sets _rh_pid.
registry__spawn () {
  _rh_name=$1
  shift
  if [ -n "$_rh_setpriv" ]; then
    setpriv --pdeathsig KILL "$@" </dev/null >"$_rh_tmp/$_rh_name.out" 2>&1 &
  else
    "$@" </dev/null >"$_rh_tmp/$_rh_name.out" 2>&1 &
  fi
  _rh_pid=$!
  echo "$_rh_pid" >>"$_rh_tmp/pids"
}

# registry__wait_file FILE PID — until FILE exists; 1 if PID died or time ran out.
registry__wait_file () {
  _rh_end=$(($(date +%s) + REGISTRY_WAIT))
  while [ ! -s "$1" ]; do
    registry__alive "$2" || return 1
    [ "$(date +%s)" -lt "$_rh_end" ] || return 1
    sleep 0.05
  done
  return 0
}

# registry__stop_pids PID... — TERM to those of ours, up to 5 s for them
# to end, then KILL; reaped.
registry__stop_pids () {
  _rh_live=
  for _rh_p in "$@"; do
    if registry__ours "$_rh_p"; then
      kill -TERM "$_rh_p" 2>/dev/null || :
      _rh_live="$_rh_live $_rh_p"
    fi
  done
  _rh_i=0
  while [ -n "$_rh_live" ] && [ "$_rh_i" -lt 100 ]; do
    _rh_still=
    for _rh_p in $_rh_live; do
      if registry__alive "$_rh_p"; then _rh_still="$_rh_still $_rh_p"; fi
    done
    _rh_live=$_rh_still
    [ -z "$_rh_live" ] || sleep 0.05
    _rh_i=$((_rh_i + 1))
  done
  for _rh_p in $_rh_live; do
    kill -KILL "$_rh_p" 2>/dev/null || :
  done
  for _rh_p in "$@"; do
    wait "$_rh_p" 2>/dev/null || :
  done
}

registry__python () { "$_rh_py" -B -W ignore::DeprecationWarning "$@"; }

registry__free_port () {
  registry__python -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# registry__bcrypt USER PASS — an htpasswd line, bcrypt (cost 4: the
# registry checks it on every request).
registry__bcrypt () {
  _rh_h=$(registry__python -c 'import crypt, sys
h = crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
assert h and h.startswith("$2")
print(h)' "$2" 2>/dev/null) ||
  _rh_h=$(registry__python -c 'import bcrypt, sys
print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())' "$2" 2>/dev/null) ||
  _rh_h=$(htpasswd -nbB -C 4 x "$2" 2>/dev/null | sed -n 's/^x://p') ||
  _rh_h=
  if [ -z "$_rh_h" ]; then
    registry__say "cannot make a bcrypt hash (python3 crypt/bcrypt, apache2-utils' htpasswd)"
    return 1
  fi
  printf '%s:%s\n' "$1" "$_rh_h"
}

# registry__tls DIR — a CA and a server certificate for 127.0.0.1/localhost.
registry__tls () {
  (
    cd "$1" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days 30 -subj "/CN=hoist test CA $(basename "$1")" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>openssl.err &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>>openssl.err &&
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" >server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -CAserial ca.srl -out server.pem -days 30 -extfile server.ext 2>>openssl.err &&
    mkdir certs &&
    cp ca.pem certs/ca.crt
  ) || {
    registry__say "openssl could not make the test certificates"
    registry__tail "$1/openssl.err"
    return 1
  }
}

# registry__health URL PID [curl options] — until URL/v2/ answers (any HTTP
# status); 1 if PID died or time ran out.
registry__health () {
  _rh_url=$1
  _rh_hp=$2
  shift 2
  _rh_end=$(($(date +%s) + REGISTRY_WAIT))
  while :; do
    registry__alive "$_rh_hp" || return 1
    _rh_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$_rh_url/v2/" 2>/dev/null) || _rh_code=000
    case $_rh_code in
      2??|401) return 0 ;;
    esac
    [ "$(date +%s)" -lt "$_rh_end" ] || return 1
    sleep 0.05
  done
}

registry__tail () {
  registry__say "--- $1"
  tail -n 15 "$1" >&2 2>/dev/null || :
}

# registry__python_server NAME DIR SCRIPT ARGS... — starts a harness python
# server with --port-file/--log in DIR; sets _rh_port, _rh_port2, _rh_pid.
registry__python_server () {
  _rh_sname=$1
  _rh_sdir=$2
  _rh_script=$3
  shift 3
  registry__spawn "$_rh_sname" "$_rh_py" -B -W ignore::DeprecationWarning "$REGISTRY_HARNESS_DIR/$_rh_script" \
    --port-file "$_rh_sdir/$_rh_sname.port" --log "$_rh_sdir/$_rh_sname.log" "$@"
  if ! registry__wait_file "$_rh_sdir/$_rh_sname.port" "$_rh_pid"; then
    registry__say "$_rh_script did not start"
    registry__tail "$_rh_tmp/$_rh_sname.out"
    return 1
  fi
  _rh_port=$(sed -n 1p "$_rh_sdir/$_rh_sname.port")
  _rh_port2=$(sed -n 2p "$_rh_sdir/$_rh_sname.port")
}

registry_start () {
  if [ $# -lt 1 ]; then
    registry__say "usage: registry_start anon|htpasswd|token|tls [OPTION...]"
    return 2
  fi
  for _rh_tool in docker-registry "$_rh_py" curl; do
    command -v "$_rh_tool" >/dev/null 2>&1 || { registry__say "$_rh_tool is not installed"; return 1; }
  done
  _rh_mode=$1
  shift
  _rh_auth=$_rh_mode
  _rh_tls=
  _rh_relative=false
  _rh_readonly=false
  _rh_expires=300
  _rh_enforce=1
  _rh_token_opts=
  case $_rh_mode in
    anon|htpasswd|token) ;;
    tls) _rh_auth=anon; _rh_tls=1 ;;
    *) registry__say "unknown mode $_rh_mode"; return 2 ;;
  esac
  for _rh_opt in "$@"; do
    case $_rh_opt in
      tls) _rh_tls=1 ;;
      relative) _rh_relative=true ;;
      readonly) _rh_readonly=true ;;
      expires=*) _rh_expires=${_rh_opt#expires=} ;;
      anonymous-pull) _rh_token_opts="$_rh_token_opts --anonymous-pull" ;;
      deny-push=*|deny=*) _rh_token_opts="$_rh_token_opts --${_rh_opt%%=*} ${_rh_opt#*=}" ;;
      no-enforce) _rh_enforce= ;;
      *) registry__say "unknown option $_rh_opt"; return 2 ;;
    esac
  done
  # shellcheck disable=SC2119
  registry__init || return 1
  _rh_n=$((_rh_n + 1))
  _rh_dir=$_rh_tmp/r$_rh_n
  mkdir -p "$_rh_dir/storage" || return 1

  _rh_auth_yaml=
  _rh_curl_opts=
  _rh_scheme=http
  if [ -n "$_rh_tls" ]; then
    command -v openssl >/dev/null 2>&1 || { registry__say "openssl is not installed"; return 1; }
    mkdir -p "$_rh_dir/tls"
    registry__tls "$_rh_dir/tls" || return 1
    _rh_scheme=https
    _rh_curl_opts="--cacert $_rh_dir/tls/ca.pem"
  fi
  if [ "$_rh_auth" != anon ]; then
    REGISTRY_USER=${REGISTRY_USER:-hoist-user}
    REGISTRY_PASS=${REGISTRY_PASS:-pw-$(registry__random 9)}
    export REGISTRY_USER REGISTRY_PASS
  fi
  case $_rh_auth in
    htpasswd)
      registry__bcrypt "$REGISTRY_USER" "$REGISTRY_PASS" >"$_rh_dir/htpasswd" || return 1
      _rh_auth_yaml="auth:
  htpasswd:
    realm: hoist-test
    path: $_rh_dir/htpasswd"
      ;;
    token)
      _rh_secret=$(registry__random 16)
      echo "$_rh_secret" >"$_rh_dir/token-secret"
      # $_rh_token_opts is split on blanks but must not be globbed.
      case $- in *f*) _rh_noglob=1 ;; *) _rh_noglob= ;; esac
      set -f
      # shellcheck disable=SC2086
      registry__python_server token "$_rh_dir" token_server.py \
        --user "$REGISTRY_USER" --password "$REGISTRY_PASS" --secret "$_rh_secret" \
        --service hoist-test --expires-in "$_rh_expires" $_rh_token_opts
      _rh_ok=$?
      [ -n "$_rh_noglob" ] || set +f
      [ "$_rh_ok" -eq 0 ] || return 1
      TOKEN_ADDR=127.0.0.1:$_rh_port
      TOKEN_REALM=http://$TOKEN_ADDR/token
      TOKEN_SERVICE=hoist-test
      TOKEN_LOG=$_rh_dir/token.log
      export TOKEN_ADDR TOKEN_REALM TOKEN_SERVICE TOKEN_LOG
      _rh_auth_yaml="auth:
  silly:
    realm: $TOKEN_REALM
    service: $TOKEN_SERVICE"
      ;;
  esac

  # The registry takes its port from the config, so it cannot be handed a
  # bound socket: pick a free port, and try another if it was taken meanwhile.
  _rh_try=0
  while :; do
    _rh_try=$((_rh_try + 1))
    _rh_rport=$(registry__free_port) || return 1
    {
      echo "version: 0.1"
      echo "log:"
      echo "  level: info"
      echo "  formatter: text"
      echo "  accesslog:"
      echo "    disabled: false"
      echo "storage:"
      echo "  filesystem:"
      echo "    rootdirectory: $_rh_dir/storage"
      echo "  delete:"
      echo "    enabled: true"
      echo "  redirect:"
      echo "    disable: true"
      echo "  maintenance:"
      echo "    uploadpurging:"
      echo "      enabled: false"
      echo "    readonly:"
      echo "      enabled: $_rh_readonly"
      echo "http:"
      echo "  addr: 127.0.0.1:$_rh_rport"
      echo "  secret: $(registry__random 16)"
      echo "  relativeurls: $_rh_relative"
      echo "  headers:"
      echo "    X-Content-Type-Options: [nosniff]"
      if [ -n "$_rh_tls" ]; then
        echo "  tls:"
        echo "    certificate: $_rh_dir/tls/server.pem"
        echo "    key: $_rh_dir/tls/server.key"
      fi
      if [ -n "$_rh_auth_yaml" ]; then
        echo "$_rh_auth_yaml"
      fi
    } >"$_rh_dir/config.yml"
    # REGISTRY_* variables of ours must not reach it: it reads its config
    # overrides from the environment.
    # shellcheck disable=SC2046
    registry__spawn "registry-r$_rh_n" env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') \
      docker-registry serve "$_rh_dir/config.yml"
    _rh_rpid=$_rh_pid
    # shellcheck disable=SC2086
    if registry__health "$_rh_scheme://127.0.0.1:$_rh_rport" "$_rh_rpid" $_rh_curl_opts &&
       grep -q "listening on 127.0.0.1:$_rh_rport" "$_rh_tmp/registry-r$_rh_n.out"; then
      break
    fi
    registry__stop_pids "$_rh_rpid"
    if grep -q "address already in use" "$_rh_tmp/registry-r$_rh_n.out" && [ "$_rh_try" -lt 5 ]; then
      continue
    fi
    registry__say "docker-registry did not start"
    registry__tail "$_rh_tmp/registry-r$_rh_n.out"
    return 1
  done

  REGISTRY_MODE=$_rh_mode
  REGISTRY_SCHEME=$_rh_scheme
  REGISTRY_BACKEND=127.0.0.1:$_rh_rport
  REGISTRY_ADDR=$REGISTRY_BACKEND
  REGISTRY_LOG=$_rh_tmp/registry-r$_rh_n.out
  REGISTRY_STORAGE=$_rh_dir/storage
  REGISTRY_CONFIG=$_rh_dir/config.yml
  export REGISTRY_MODE REGISTRY_SCHEME REGISTRY_BACKEND REGISTRY_LOG REGISTRY_STORAGE REGISTRY_CONFIG
  if [ -n "$_rh_tls" ]; then
    REGISTRY_CA=$_rh_dir/tls/ca.pem
    REGISTRY_CERT_DIR=$_rh_dir/tls/certs
    export REGISTRY_CA REGISTRY_CERT_DIR
  fi
  _rh_cur_dir=$_rh_dir
  _rh_cur_tls=$_rh_tls
  _rh_cur_auth=$_rh_auth
  if [ "$_rh_auth" = token ] && [ -n "$_rh_enforce" ]; then
    set -- --enforce-bearer --realm "$TOKEN_REALM" --service "$TOKEN_SERVICE" --secret "$_rh_secret"
    if [ -n "$_rh_tls" ]; then
      set -- "$@" --backend-ca "$_rh_dir/tls/ca.pem" \
        --tls-cert "$_rh_dir/tls/server.pem" --tls-key "$_rh_dir/tls/server.key"
    fi
    registry__python_server auth-proxy "$_rh_dir" fault_proxy.py \
      --backend "$_rh_scheme://$REGISTRY_BACKEND" --workdir "$_rh_dir" "$@" || return 1
    REGISTRY_ADDR=127.0.0.1:$_rh_port
    REGISTRY_AUTH_LOG=$_rh_dir/auth-proxy.log
    export REGISTRY_AUTH_LOG
  fi
  REGISTRY_URL=$_rh_scheme://$REGISTRY_ADDR
  export REGISTRY_ADDR REGISTRY_URL
  return 0
}

proxy_start () {
  if [ -z "${REGISTRY_ADDR:-}" ] || [ -z "$_rh_tmp" ]; then
    registry__say "proxy_start: start a registry first"
    return 1
  fi
  _rh_plan=${1:-}
  _rh_n=$((_rh_n + 1))
  _rh_pdir=$_rh_tmp/p$_rh_n
  mkdir -p "$_rh_pdir" || return 1
  case $_rh_plan in
    "") echo '{"faults": []}' >"$_rh_pdir/plan.json" ;;
    "{"*|"["*) printf '%s\n' "$_rh_plan" >"$_rh_pdir/plan.json" ;;
    *) cp "$_rh_plan" "$_rh_pdir/plan.json" || return 1 ;;
  esac
  set -- --backend "$REGISTRY_URL" --workdir "$_rh_pdir" --plan "$_rh_pdir/plan.json"
  if [ "$_rh_cur_auth" = token ]; then
    set -- "$@" --realm "$TOKEN_REALM" --service "$TOKEN_SERVICE"
  fi
  if [ -n "$_rh_cur_tls" ]; then
    set -- "$@" --backend-ca "$_rh_cur_dir/tls/ca.pem" \
      --tls-cert "$_rh_cur_dir/tls/server.pem" --tls-key "$_rh_cur_dir/tls/server.key"
  fi
  registry__python_server proxy "$_rh_pdir" fault_proxy.py "$@" || return 1
  PROXY_ADDR=127.0.0.1:$_rh_port
  PROXY_URL=$REGISTRY_SCHEME://$PROXY_ADDR
  PROXY_LOG=$_rh_pdir/proxy.log
  PROXY_REDIRECT_ADDR=$_rh_port2
  export PROXY_ADDR PROXY_URL PROXY_LOG PROXY_REDIRECT_ADDR
}

registry_stop () {
  if [ -z "$_rh_tmp" ]; then
    return 0
  fi
  if [ -f "$_rh_tmp/pids" ]; then
    # shellcheck disable=SC2046
    registry__stop_pids $(cat "$_rh_tmp/pids")
  fi
  rm -rf "$_rh_tmp"
  _rh_tmp=
  unset REGISTRY_ADDR REGISTRY_URL REGISTRY_SCHEME REGISTRY_MODE REGISTRY_BACKEND REGISTRY_LOG \
    REGISTRY_STORAGE REGISTRY_CONFIG REGISTRY_CA REGISTRY_CERT_DIR REGISTRY_AUTH_LOG \
    TOKEN_ADDR TOKEN_REALM TOKEN_SERVICE TOKEN_LOG \
    PROXY_ADDR PROXY_URL PROXY_LOG PROXY_REDIRECT_ADDR
  return 0
}

# registry_pids — pids of harness processes still running.
registry_pids () {
  [ -n "$_rh_tmp" ] && [ -f "$_rh_tmp/pids" ] || return 0
  for _rh_p in $(cat "$_rh_tmp/pids"); do
    if registry__ours "$_rh_p"; then
      echo "$_rh_p"
    fi
  done
}

registry_make_image () {
  registry__python "$REGISTRY_HARNESS_DIR/mkimage.py" "$@"
}

# registry_curl ARGS... — curl -sS with the mode's CA (tls).
registry_curl () {
  if [ -n "${REGISTRY_CA:-}" ]; then
    curl -sS --max-time 20 --cacert "$REGISTRY_CA" "$@"
  else
    curl -sS --max-time 20 "$@"
  fi
}

# registry_token [SCOPE...] — a token for the scopes, with REGISTRY_USER/PASS.
registry_token () {
  _rh_q="service=$TOKEN_SERVICE"
  for _rh_s in "$@"; do
    _rh_q="$_rh_q&scope=$_rh_s"
  done
  curl -sS --max-time 20 -f -u "$REGISTRY_USER:$REGISTRY_PASS" "$TOKEN_REALM?$_rh_q" |
    registry__python -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# registry_log_count FILE PYEXPR — how many JSON lines satisfy PYEXPR (over e).
registry_log_count () {
  registry__python -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    if line.strip():
        e = json.loads(line)
        if eval(sys.argv[2], {}, {"e": e}):
            n += 1
print(n)' "$1" "$2"
}
