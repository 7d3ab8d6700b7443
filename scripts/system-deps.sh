#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing: chromium (browser tests),
# dataset-fashion-mnist (data tests), haproxy (`cnnviz app --replicas K` and its tests) and
# postgresql (the class store's tests start a server of their own) and bubblewrap (the sandbox
# of `cnnviz check --sandbox`). Needs root or sudo; says what to do otherwise.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "Please install the Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 0
fi
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
