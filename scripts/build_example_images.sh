#!/usr/bin/env bash
# Builds the images of the stacks in examples/ offline, from the busybox-static binary
# (/bin/busybox, Debian's busybox-static package), into a stack state root with
# `stack image import -c …`. No registry, no network.
#
#   scripts/build_example_images.sh [ROOT]     (default: $STACK_ROOT, else /var/lib/stack)
#
# The stack binary is $STACK, else `stack` on the PATH, else $STACK_BUILD_DIR/cmd/stack (default
# build/). Images (all linux/amd64, one layer each, re-importing replaces the tag):
#   stack-examples/busybox:1   every busybox applet in /bin, /etc/passwd and /etc/group (root,
#                              nobody), /tmp (1777), /www/index.html; CMD ["sh"]
#   stack-examples/web:1       busybox:1 + a static page and /www/cgi-bin/api, a CGI script that
#                              asks the backend ($BACKEND_URL) over HTTP; CMD httpd on $PORT
#   stack-examples/backend:1   busybox:1 + /srv/backend with cgi-bin/hello and /health;
#                              CMD httpd on $PORT
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-${STACK_ROOT:-/var/lib/stack}}
stack=${STACK:-$(command -v stack || echo "${STACK_BUILD_DIR:-$here/build}/cmd/stack")}
[ -x "$stack" ] || { echo "build_example_images: no stack binary (set STACK=…)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "build_example_images: needs busybox-static (/bin/busybox)" >&2; exit 1; }

work=$(mktemp -d /tmp/stack-example-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- stack-examples/busybox:1 --------------------------------------------------------------------
base=$work/base
mkdir -p "$base/bin" "$base/etc" "$base/www" "$base/root" "$base/tmp"
chmod 1777 "$base/tmp"
cp /bin/busybox "$base/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$base/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' \
  >"$base/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$base/etc/group"
echo 'hello from stack-examples/busybox' >"$base/www/index.html"

path='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
import() {  # import DIR REF CHANGE…
  local dir=$1 ref=$2 changes=()
  shift 2
  for c in "$path" "$@"; do changes+=(-c "$c"); done
  "$stack" --root "$root" image import "${changes[@]}" -m "scripts/build_example_images.sh" \
    "$dir" "$ref" >/dev/null
  echo "built $ref"
}
import "$base" stack-examples/busybox:1 'CMD ["sh"]'

# httpd as a container's pid 1 would ignore SIGTERM (the kernel drops signals to a namespace's
# init that has no handler), so every stop would wait out the grace period: the shell traps
# TERM and exits, and the namespace's end takes httpd with it.
# shellcheck disable=SC2016  # $PORT is for the container's shell
serve() { printf 'CMD ["sh", "-c", "trap \\"exit 0\\" TERM; httpd -f -v -p \\"$PORT\\" -h %s & wait"]' "$1"; }

# --- stack-examples/web:1 ------------------------------------------------------------------------
web=$work/web
cp -a "$base" "$web"
mkdir -p "$web/www/cgi-bin"
cat >"$web/www/index.html" <<'EOF'
<!doctype html>
<title>stack example: web</title>
<p>This page is served by busybox httpd in the <code>web</code> service.
<p><a href="/cgi-bin/api">/cgi-bin/api</a> asks the <code>backend</code> service.
EOF
# CGI children inherit httpd's environment, so BACKEND_URL comes from the service.
cat >"$web/www/cgi-bin/api" <<'EOF'
#!/bin/sh
echo 'Content-Type: text/plain'
echo
echo "web $(hostname) asked ${BACKEND_URL}:"
# (busybox 1.35-static wget -T crashes; timeout bounds the wait instead)
timeout 5 wget -q -O - "${BACKEND_URL}/cgi-bin/hello" || echo "backend unreachable"
EOF
chmod 755 "$web/www/cgi-bin/api"
import "$web" stack-examples/web:1 'ENV PORT=8080 BACKEND_URL=http://backend:8081' \
  "$(serve /www)"

# --- stack-examples/backend:1 --------------------------------------------------------------------
backend=$work/backend
cp -a "$base" "$backend"
mkdir -p "$backend/srv/backend/cgi-bin"
echo ok >"$backend/srv/backend/health"
cat >"$backend/srv/backend/cgi-bin/hello" <<'EOF'
#!/bin/sh
echo 'Content-Type: text/plain'
echo
echo "hello from backend $(hostname), request ${REQUEST_METHOD} ${REQUEST_URI}"
EOF
chmod 755 "$backend/srv/backend/cgi-bin/hello"
import "$backend" stack-examples/backend:1 'ENV PORT=8081' \
  "$(serve /srv/backend)"
