#!/bin/sh
# One-time Vault setup for tenantgate (run with an operator token).
# Kubernetes auth for the broker, its read-only policy, KV v2 at secret/.
set -eu
vault auth enable kubernetes 2>/dev/null || true
vault write auth/kubernetes/config kubernetes_host="https://kubernetes.default.svc"
vault policy write tenantgate-broker policies/tenantgate-broker.hcl
vault write auth/kubernetes/role/tenantgate-broker \
	bound_service_account_names=broker \
	bound_service_account_namespaces=tenantgate \
	token_policies=tenantgate-broker token_ttl=1h token_max_ttl=24h
vault secrets enable -path=secret -version=2 kv 2>/dev/null || true
# The grant signing key (EC P-256); rotate with docs/broker.md "Key rollover".
openssl ecparam -name prime256v1 -genkey -noout | \
	vault kv put secret/tenantgate/broker/signing kid=k1 private_pem=-
