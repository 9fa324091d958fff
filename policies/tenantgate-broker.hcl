# Vault policy "tenantgate-broker": the broker's Kubernetes-auth role.
#
# The broker only reads tenant keys (and their version metadata, to learn
# the current version); it never writes, deletes or lists them. Everything
# under the prefix is readable because a grant may name any tenant; who may
# get a grant is decided in PostgreSQL, not here.
#
#   bao policy write tenantgate-broker policies/tenantgate-broker.hcl
#   bao write auth/kubernetes/role/tenantgate-broker \
#       bound_service_account_names=broker \
#       bound_service_account_namespaces=tenantgate \
#       token_policies=tenantgate-broker token_ttl=1h

path "secret/data/tenantgate/*" {
  capabilities = ["read"]
}

path "secret/metadata/tenantgate/*" {
  capabilities = ["read"]
}
