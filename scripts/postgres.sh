# Start the Debian PostgreSQL cluster on localhost and make sure the "portal" role
# and database exist. Sourced by .ci/run and the bench; safe to run repeatedly.

ensure_postgres() {
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='portal'\"" | grep -q 1 \
    || su postgres -c "psql -q -c \"CREATE ROLE portal LOGIN SUPERUSER PASSWORD 'portal'\""
  su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='portal'\"" | grep -q 1 \
    || su postgres -c "createdb -O portal portal"
}
