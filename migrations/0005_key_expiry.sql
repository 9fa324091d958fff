-- 0005_key_expiry: when each tenant key stops working (issue 17, item 2).
--
-- Atlassian's API tokens expire 1 to 365 days after they are made. The
-- operator enters the expiry at rotation or onboarding (tenantgate-admin
-- --expires 90d|YYYY-MM-DD); the admin keeps it inside the credential in
-- Vault (per key version) and, in the same transaction that records the
-- new cred_version, here, so the broker can read it without Vault:
--
--   - its periodic job exports tenantgate_key_expiry_days{tenant,integration}
--     and logs warnings at 30, 7 and 1 days left and an error once expired;
--   - a redeem of an expired key is refused (409 key_expired).
--
-- The value belongs to the key version in cred_version: a rotation without
-- --expires sets it back to NULL. NULL = unknown (no metric, never refused).
-- Not a secret.

alter table tenant_integrations
	add column key_expires_at timestamptz;
