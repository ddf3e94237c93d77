# Start a throwaway Redis on 127.0.0.1:6399 (no persistence) for the two-node tests.
# Sourced by .ci/run; safe to run repeatedly.

ensure_redis() {
  if ! redis-cli -p 6399 ping >/dev/null 2>&1; then
    redis-server --port 6399 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      >/dev/null
  fi
  for _ in $(seq 1 30); do
    redis-cli -p 6399 ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "redis did not start" >&2
  return 1
}
