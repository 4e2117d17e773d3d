#!/bin/sh
# Start one Celery worker (with the beat scheduler embedded) and the web server; Ctrl-C stops both.
# The worker's log and beat schedule go next to the database, in AIRPORTAL_VAR_DIR (default var/).
set -e
: "${BIN:=.venv/bin}" "${PORT:=8000}" "${AIRPORTAL_VAR_DIR:=var}"
mkdir -p "$AIRPORTAL_VAR_DIR"
"$BIN/celery" -A airportal worker --beat --loglevel=INFO --concurrency=2 \
    --schedule="$AIRPORTAL_VAR_DIR/celerybeat-schedule" --logfile="$AIRPORTAL_VAR_DIR/worker.log" &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null; exit 0' INT TERM EXIT
echo "Worker started (pid $WORKER, log $AIRPORTAL_VAR_DIR/worker.log). Open http://127.0.0.1:$PORT/ and sign in."
"$BIN/python" manage.py runserver "127.0.0.1:$PORT"
