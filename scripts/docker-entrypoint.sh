#!/bin/sh
# Container entrypoint: migrate and create the first admin key (printed once, kept in
# $PATENTMATCH_VAR_DIR/admin-key), unless PATENTMATCH_MIGRATE=0 (replicas, where one
# `migrate` service does it); then `exec` the command so that it receives SIGTERM itself.
set -eu
if [ "${PATENTMATCH_MIGRATE:-1}" = "1" ]; then
    patentmatch db upgrade
    patentmatch keys ensure-admin
fi
exec patentmatch "$@"
