#!/bin/sh
# Uninstalls what `kubectl apply -k deploy/` installed, in the order the finalizers need:
#   1. every Sandbox, while the controller still runs (it stops each sandbox, then releases the
#      finalizer sandbox.fast.io/cleanup), waiting until they are gone;
#   2. every SandboxPool (their agent Pods go with them), waiting until they are gone;
#   3. the rest of the kustomization (controller, janitor, RBAC, namespace, Secrets);
#   4. the CRDs, last: deleting a CRD deletes its objects at once, with no controller left to clean up.
# (`kubectl delete -k deploy/` deletes the CRDs first, and then fails with NotFound on default-pool.)
#
# Usage: deploy/uninstall.sh [KUSTOMIZATION_DIR]   (default: the directory of this script)
# FSB_UNINSTALL_TIMEOUT (default 120s) bounds each wait. Needs only kubectl (and a POSIX shell).
set -eu

dir=${1:-$(dirname "$0")}
timeout=${FSB_UNINSTALL_TIMEOUT:-120s}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Render first, so a kustomization that does not build (say, its token files are gone) stops the
# uninstall before anything is deleted.
kubectl kustomize "$dir" >"$tmp/all.yaml"
# kubectl kustomize writes one object per document, separated by lines of `---`, with `kind:` at the
# start of a line: split the CRDs from the rest.
awk -v crds="$tmp/crds.yaml" -v rest="$tmp/rest.yaml" '
  function flush() {
    if (doc != "") {
      if (crd) printf "%s---\n", doc >>crds
      else printf "%s---\n", doc >>rest
    }
    doc = ""
    crd = 0
  }
  /^---$/ { flush(); next }
  /^kind: CustomResourceDefinition$/ { crd = 1 }
  { doc = doc $0 "\n" }
  END { flush() }
' "$tmp/all.yaml"

# Deletes every object of a custom resource in all namespaces and waits until they are gone; on a
# timeout, lists those left and stops the uninstall with nothing else deleted.
delete_all() {
  resource=$1
  hint=$2
  if [ -z "$(kubectl get crd "$resource" -o name --ignore-not-found)" ]; then
    echo "uninstall: no CRD $resource, so none to delete"
    return
  fi
  echo "uninstall: deleting every $resource (waiting up to $timeout)"
  if ! kubectl delete "$resource" --all --all-namespaces --ignore-not-found --wait=true --timeout="$timeout"; then
    echo "uninstall: these $resource are still there after $timeout:" >&2
    kubectl get "$resource" --all-namespaces \
      -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,DELETING-SINCE:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers >&2 || true
    echo "uninstall: $hint" >&2
    echo "uninstall: stopped; nothing else was deleted. Run it again once they are gone." >&2
    exit 1
  fi
}

delete_all sandboxes.sandbox.fast.io "the controller releases a Sandbox's finalizer once it has stopped the sandbox: \
is it running (kubectl -n fast-sandbox-system get pods; kubectl -n fast-sandbox-system logs deploy/fsb-controller)? \
To give up on a sandbox's containers instead: kubectl -n NAMESPACE patch sandboxes.sandbox.fast.io NAME --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"
delete_all sandboxpools.sandbox.fast.io "a SandboxPool has no finalizer of ours; see FINALIZERS for whose it is."

# --ignore-not-found: objects already gone (default-pool, deleted above) are fine.
if [ -s "$tmp/rest.yaml" ]; then
  echo "uninstall: deleting the rest of $dir"
  kubectl delete -f "$tmp/rest.yaml" --ignore-not-found --wait=true --timeout="$timeout"
fi
if [ -s "$tmp/crds.yaml" ]; then
  echo "uninstall: deleting the CRDs"
  kubectl delete -f "$tmp/crds.yaml" --ignore-not-found --wait=true --timeout="$timeout"
fi
echo "uninstall: done"
