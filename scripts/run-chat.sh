#!/usr/bin/env bash
# make run: starts the chat app from the repository root on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/bin}"
exec "$bin/sio-chat" --host 127.0.0.1 --port "${PORT:-8080}" --static-dir examples/chat/client --db "${CHAT_DB:-chat.db}"
