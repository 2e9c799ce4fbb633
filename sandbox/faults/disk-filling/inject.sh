#!/usr/bin/env bash
# A process in the worker container that fills its spool volume to 58%, then keeps appending
# 256 KiB a second; it stops growing at 80%, short of DiskSpaceLow (85%), and waits for heal.
source "$(dirname "$0")/../lib.sh"
worker=$(container worker)
writing() { process_alive "$worker" /tmp/disk-filling.pid; }
if writing; then
  note "already writing: pid $(docker exec "$worker" cat /tmp/disk-filling.pid) in the worker container"
  exit 0
fi
docker exec -d "$worker" sh -c '
  echo $$ >/tmp/disk-filling.pid
  spool=/var/spool/opsbook file=/var/spool/opsbook/export-stream.part
  pcent() { df --output=pcent "$spool" | tail -n 1 | tr -dc 0-9; }
  size=$(df --output=size -B1M "$spool" | tail -n 1 | tr -dc 0-9)
  used=$(df --output=used -B1M "$spool" | tail -n 1 | tr -dc 0-9)
  start=$(( size * 58 / 100 - used + 1 ))
  [ "$start" -gt 0 ] && dd if=/dev/zero of="$file" bs=1M count="$start" oflag=append conv=notrunc status=none
  while :; do
    [ "$(pcent)" -lt 80 ] && head -c 262144 /dev/zero >>"$file"
    sleep 1
  done'
for _ in $(seq 1 40); do
  writing && [ "$(docker exec "$worker" df --output=pcent /var/spool/opsbook | tail -n 1 | tr -dc 0-9)" -ge 58 ] && break
  sleep 0.25
done
note "writer running in the worker: $(docker exec "$worker" df -h /var/spool/opsbook | tail -n 1)"
