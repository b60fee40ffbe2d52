#!/usr/bin/env bash
# Starts the example broker with its pid in $BROKER_PIDFILE, so that
# kafka-streams.sh can send it SIGUSR1 (coordinator moves) while the shared
# e2e script runs it. exec keeps the pid.
set -eu
echo $$ > "${BROKER_PIDFILE:?BROKER_PIDFILE is not set}"
exec "${BROKER_BIN:?BROKER_BIN is not set}" "$@"
