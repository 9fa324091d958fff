# Vault policy "tenantgate-onboarding": the platform operators who run
# `tenantgate-admin onboard`.
#
# Onboarding writes the per-tenant admin policies (tenantgate-tenant-*),
# binds them to Kubernetes-auth roles of the same name, stores each new
# tenant's first keys and marks them check-and-set only. Whoever holds this
# policy can define what tenant admins may do, so give it only to the
# people who may already reach every tenant's keys.

path "sys/policies/acl/tenantgate-tenant-*" {
  capabilities = ["create", "read", "update"]
}

path "auth/kubernetes/role/tenantgate-tenant-*" {
  capabilities = ["create", "read", "update"]
}

path "secret/data/tenantgate/tenants/*" {
  capabilities = ["create", "read", "update"]
}

# Metadata: only cas_required, and only to turn it on. Without this limit
# the holder could set max_versions = 1 or delete_version_after and so
# drop a key's version history (test_ship_policies.py).
path "secret/metadata/tenantgate/tenants/*" {
  capabilities = ["create", "read", "update", "list"]
  allowed_parameters = {
    "cas_required" = [true]
  }
}
