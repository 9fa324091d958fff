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

path "secret/metadata/tenantgate/tenants/*" {
  capabilities = ["create", "read", "update", "list"]
}
