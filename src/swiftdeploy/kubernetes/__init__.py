"""Kubernetes manifests from the same manifest.yaml: plain YAML, no cluster needed.

Everything is built as Python data and dumped by a yaml.SafeDumper (so no manifest value can
become a key or a document), deterministically (sorted keys, a fixed object order, the
manifest's sha256 in every header). The nginx.conf in the ConfigMap is the same
render_nginx() output as the other targets, pointed at the two Services' cluster DNS names.

Rendered objects (namespace `--namespace`, default "swiftdeploy"):

    Namespace              Pod Security "restricted" enforced
    ConfigMaps             nginx.conf (nginx traffic only), the OPA policies
    Services               <name>-stable, <name>-canary, <name>-nginx, <name>-opa
    Deployments            stable, canary (0 replicas unless services.mode is canary), nginx, opa
    PodDisruptionBudget    stable
    NetworkPolicies        default deny; OPA only from the control namespace; app only from nginx
    HTTPRoute              with `traffic="gateway"`, instead of the nginx Deployment
"""
