#!/bin/sh
# Installs the Debian packages that building and testing scratchnet needs.
# As root it runs apt-get for whatever is missing; otherwise it names them.
PKGS="build-essential pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev check libcurl4-openssl-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "missing Debian packages:$missing"
    echo "install them with: sudo apt-get install$missing"
    exit 1
fi
