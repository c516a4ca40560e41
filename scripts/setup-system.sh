#!/usr/bin/env bash
# System set-up shared by `make run` (argument: run) and `make test` / .ci/run (argument: test).
# Idempotent: installs only what is missing; without root or apt-get it only reports what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-test}"

need=()
command -v make >/dev/null 2>&1 || need+=(make)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
# WeasyPrint (the PDF report) needs Pango; the report's font is DejaVu
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "$what" = "test" ]; then
  # browser tests: the system Chromium (Playwright drives /usr/bin/chromium; no browser downloads) and npm for axe-core
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    # only what is named (no "recommended" extras: Chromium alone would pull ~125 packages), and quietly: the
    # apt/dpkg output goes to a log that is shown only if the install fails
    log="$(mktemp -t painpath-apt.XXXXXX)"
    echo "installing system packages: ${need[*]} (log: $log)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
             -o Dpkg::Use-Pty=0 "${need[@]}"; } >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "installing system packages failed (full log: $log)" >&2
      exit 1
    fi
    echo "installed $(grep -c '^Setting up ' "$log" || true) packages"
  else
    echo "missing system packages (install them with your package manager): ${need[*]}" >&2
  fi
fi

if [ "$what" = "test" ]; then
  # axe-core for the accessibility tests (npm ci from package-lock.json, into the git-ignored node_modules)
  if command -v npm >/dev/null 2>&1; then
    if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --silent
    fi
  else
    echo "npm not found: the accessibility tests will fail (install Node.js and npm)" >&2
  fi
  # PostgreSQL: the storage and API tests run on it as well as on SQLite
  if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
