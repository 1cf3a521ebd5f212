#!/usr/bin/env bash
# Offline checks of the deployment files: no Docker engine and no cluster needed.
#   bash k8s/check.sh
# Prints one line per check (PASS, FAIL or SKIP with the reason) and exits 1 when any check fails.
# Tools: docker-compose (v1.29, Debian package docker-compose), kubectl or kustomize, promtool
# (Debian package prometheus), python3 with PyYAML for the manifest invariants.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

prometheus_dir=k8s/monitoring/prometheus
failures=0
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

pass() { printf 'PASS  %s\n' "$1"; }
skip() { printf 'SKIP  %s: %s\n' "$1" "$2"; }
fail() {
  printf 'FAIL  %s\n' "$1"
  sed 's/^/      /' "$2"
  failures=$((failures + 1))
}

# Runs a command and prints PASS when it exits 0, or FAIL with its output.
check() {
  local name="$1"
  shift
  local log="$log_dir/check.log"
  if "$@" >"$log" 2>&1; then
    pass "$name"
  else
    fail "$name" "$log"
  fi
}

# ---- docker-compose ----
compose_checks() {
  if ! command -v docker-compose >/dev/null; then
    skip "docker-compose config" "docker-compose is not installed (apt-get install docker-compose)"
    return
  fi
  check "docker-compose config (env file .env.example)" \
    docker-compose -f docker-compose.yml --env-file .env.example config -q

  # Without credentials the file must fail validation and name the variable to set.
  local log="$log_dir/compose-noenv.log"
  local empty_env="$log_dir/empty.env"
  : >"$empty_env"
  if env -u RABBITMQ_PASSWORD -u GRAFANA_ADMIN_PASSWORD \
    docker-compose -f docker-compose.yml --env-file "$empty_env" config -q >"$log" 2>&1; then
    echo "docker-compose config succeeded without RABBITMQ_PASSWORD" >>"$log"
    fail "docker-compose config rejects missing passwords" "$log"
  elif grep -q 'Set RABBITMQ_PASSWORD in .env' "$log"; then
    pass "docker-compose config rejects missing passwords"
  else
    fail "docker-compose config rejects missing passwords" "$log"
  fi
}

# ---- kustomize ----
kustomize_command() {
  if command -v kubectl >/dev/null; then
    echo "kubectl kustomize"
  elif command -v kustomize >/dev/null; then
    echo "kustomize build"
  fi
}

kustomize_checks() {
  local tool
  tool="$(kustomize_command)"
  local dirs=(k8s/base)
  local overlay
  for overlay in k8s/overlays/*/; do
    dirs+=("${overlay%/}")
  done
  local dir
  for dir in "${dirs[@]}"; do
    if [[ -z "$tool" ]]; then
      skip "kustomize $dir" "neither kubectl nor kustomize is installed"
      continue
    fi
    # shellcheck disable=SC2086 # $tool is two words on purpose
    check "$tool $dir" sh -c "$tool $dir > $log_dir/$(basename "$dir").yaml"
  done
}

# ---- Prometheus configuration, rules and rule tests ----
prometheus_checks() {
  if ! command -v promtool >/dev/null; then
    skip "promtool" "promtool is not installed (apt-get install prometheus)"
    return
  fi
  local config
  for config in "$prometheus_dir"/prometheus-*.yml; do
    local log="$log_dir/promtool-config.log"
    if promtool check config "$config" >"$log" 2>&1; then
      pass "promtool check config $config"
    elif grep -q 'field kubernetes_sd_configs not found' "$log"; then
      # Debian builds promtool without Kubernetes service discovery.
      skip "promtool check config $config" \
        "this promtool build has no kubernetes_sd_configs; its rule file is checked below"
    else
      fail "promtool check config $config" "$log"
    fi
  done
  check "promtool check rules $prometheus_dir/alerts.yml" promtool check rules "$prometheus_dir/alerts.yml"
  check "promtool test rules $prometheus_dir/alerts_test.yml" promtool test rules "$prometheus_dir/alerts_test.yml"
}

# ---- Grafana dashboard: valid JSON, every query parses as PromQL ----
dashboard_checks() {
  local dashboard=k8s/monitoring/grafana/dashboards/loadlevel.json
  if ! command -v python3 >/dev/null || ! command -v promtool >/dev/null; then
    skip "dashboard queries" "needs python3 and promtool"
    return
  fi
  check "dashboard queries parse ($dashboard)" sh -c \
    "python3 k8s/tests/dashboard_rules.py $dashboard > $log_dir/dashboard-rules.yml \
      && promtool check rules $log_dir/dashboard-rules.yml"
}

# ---- Manifest invariants on the rendered output ----
manifest_checks() {
  if [[ -z "$(kustomize_command)" ]]; then
    skip "manifest invariants" "nothing rendered, neither kubectl nor kustomize is installed"
    return
  fi
  if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    skip "manifest invariants" "python3 with PyYAML is not installed (apt-get install python3-yaml)"
    return
  fi
  local rendered
  for rendered in "$log_dir"/*.yaml; do
    [[ -s "$rendered" ]] || continue
    check "manifest invariants $(basename "$rendered" .yaml)" \
      python3 k8s/tests/check_manifests.py "$rendered"
  done
}

compose_checks
kustomize_checks
prometheus_checks
dashboard_checks
manifest_checks

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed or skipped"
