# Sourced by .ci/run (as root, on a fresh Debian machine) before `make test`.
# Installs and starts PostgreSQL and Chromium (a headless JRE for Spark, Pango for PDF reports) from Debian's
# packages, creates a test database and exports OSTEOTARGET_TEST_POSTGRES_URL. Idempotent: a second run only checks.
# (Sourced: no `set -e` changes here beyond what .ci/run sets; functions keep names private.)

_ot_services() {
  local need=()
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # Spark (population --engine spark and its tests) needs a Java runtime: Debian's headless JRE.
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  # PDF reports (WeasyPrint) need Pango and a font.
  local lib
  for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
    dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi

  local version cluster_port
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    pg_createcluster "$version" main >/dev/null
  fi
  pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
  cluster_port="$(pg_lsclusters -h | awk 'NR==1 {print $3}')"
  local i
  for i in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$cluster_port" && break
    sleep 1
  done

  pushd / >/dev/null  # su keeps the cwd, which postgres may not be able to read
  local found
  found="$(su postgres -c "psql -qAt -p $cluster_port -c \"SELECT count(*) FROM pg_roles WHERE rolname='osteotarget'\"")"
  if [ "$found" != "1" ]; then
    su postgres -c "psql -q -p $cluster_port -c \"CREATE ROLE osteotarget LOGIN PASSWORD 'osteotarget' CREATEDB\""
  fi
  found="$(su postgres -c "psql -qAt -p $cluster_port -c \"SELECT count(*) FROM pg_database WHERE datname='osteotarget_test'\"")"
  if [ "$found" != "1" ]; then
    su postgres -c "createdb -p $cluster_port -O osteotarget osteotarget_test"
  fi
  popd >/dev/null

  export OSTEOTARGET_TEST_POSTGRES_URL="postgresql+psycopg://osteotarget:osteotarget@127.0.0.1:${cluster_port}/osteotarget_test"
}

_ot_services
unset -f _ot_services
