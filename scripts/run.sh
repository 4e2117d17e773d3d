#!/bin/sh
# Start one Celery worker (with the beat scheduler embedded) and the web server; Ctrl-C stops both.
set -e
: "${BIN:=.venv/bin}" "${PORT:=8000}"
mkdir -p var
"$BIN/celery" -A airportal worker --beat --loglevel=INFO --concurrency=2 \
    --schedule=var/celerybeat-schedule --logfile=var/worker.log &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null; exit 0' INT TERM EXIT
echo "Worker started (pid $WORKER, log var/worker.log). Open http://127.0.0.1:$PORT/ and sign in."
"$BIN/python" manage.py runserver "127.0.0.1:$PORT"
