#!/bin/sh
# The sandbox's Alertmanager entrypoint (sandbox/compose.yaml, service alertmanager).
#
#   start.sh [ALERTMANAGER FLAGS ...]   as root: hand the receivers' secret files to nobody, render
#                                       the config, then exec Alertmanager as nobody
#   start.sh refresh                    copy the secrets and render the config again (opsbook runs
#                                       it before POST /-/reload, so an edited file takes effect)
#
# The secret files come from sandbox/.state/<project>/notification-secrets (written by
# `opsbook sandbox up`, mode 0600, owned by whoever ran it), mounted read-only at $SECRETS_IN:
# only root can read them whatever the host user's uid, so they are copied, mode 0400, to a tmpfs
# that belongs to nobody. The config is rendered by monitoring/alertmanager/render-config.sh from
# this container's environment, the same script production runs.
set -eu
SECRETS_IN=/run/secrets/notifications
RUN_DIR=/run/alertmanager
CONFIG=$RUN_DIR/alertmanager.yml

render() {
  sh /etc/alertmanager/render-config.sh /etc/alertmanager/alertmanager.yml "$CONFIG"
}

copy_secrets() {
  mkdir -p "$RUN_DIR/secrets"
  chmod 0700 "$RUN_DIR/secrets"
  for name in smtp-auth-password slack-webhook-url pager-token; do
    if [ ! -s "$SECRETS_IN/$name" ]; then
      echo "alertmanager: no secret file $SECRETS_IN/$name: run \`opsbook sandbox up\`, which writes" \
           "sandbox/.state/<project>/notification-secrets/ from the generated env file" >&2
      exit 1
    fi
    install -m 0400 -o nobody -g nogroup "$SECRETS_IN/$name" "$RUN_DIR/secrets/$name"
  done
  chown nobody:nogroup "$RUN_DIR/secrets"
  chmod 0500 "$RUN_DIR/secrets"
}

copy_secrets
render
if [ "${1:-}" = refresh ]; then
  exit 0
fi
exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  /usr/bin/prometheus-alertmanager --config.file="$CONFIG" "$@"
