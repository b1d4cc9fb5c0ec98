#!/bin/sh
# Creates or updates the douane-policies and douane-endpoints ConfigMaps
# from policies/ and config/endpoints.yaml (run from the repository root).
# Updating in place, not under a new name, lets running replicas see the
# change: the file watch reloads it (compile, check, the policy's tests) and
# the other replicas follow through the database.
#   NAMESPACE=douane deploy/kubernetes/configmaps.sh [POLICY_DIR] [ENDPOINTS_FILE]
# A new policy file must also be listed in deployment.yaml's policies items.
set -eu
policy_dir=${1:-policies}
endpoints=${2:-config/endpoints.yaml}
namespace=${NAMESPACE:-default}

args=""
for file in $(cd "$policy_dir" && find . -type f ! -name '.*' | sed 's|^\./||' | sort); do
    # ConfigMap keys cannot hold "/": douane/risk/risk.rego is douane__risk__risk.rego.
    args="$args --from-file=$(printf '%s' "$file" | sed 's|/|__|g')=$policy_dir/$file"
done
# shellcheck disable=SC2086
kubectl -n "$namespace" create configmap douane-policies $args --dry-run=client -o yaml | kubectl -n "$namespace" apply -f -
kubectl -n "$namespace" create configmap douane-endpoints --from-file=endpoints.yaml="$endpoints" --dry-run=client -o yaml \
    | kubectl -n "$namespace" apply -f -
