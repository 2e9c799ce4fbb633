#!/bin/sh
# Render the config with the live slot recorded in /var/lib/proxy/live (blue when none is),
# then run haproxy in the foreground. (No reloads: a reload would render the slot recorded at
# start; `slot switch` changes haproxy at run time and records the new live slot here.)
set -eu
live=$(cat /var/lib/proxy/live 2>/dev/null || echo blue)
case "$live" in blue|green) ;; *) echo "proxy: unknown live slot '$live' in /var/lib/proxy/live; using blue" >&2; live=blue ;; esac
if [ "$live" = blue ]; then blue=""; green=disabled; else blue=disabled; green=""; fi
sed -e "s/@BLUE_STATE@/$blue/" -e "s/@GREEN_STATE@/$green/" /etc/haproxy/haproxy.cfg.in > /run/haproxy/haproxy.cfg
echo "$live" > /var/lib/proxy/live
echo "proxy: live slot $live"
exec haproxy -W -db -f /run/haproxy/haproxy.cfg
