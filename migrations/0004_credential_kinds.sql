-- 0004_credential_kinds: Atlassian has three kinds of credential, and each
-- goes to a different URL with a different header (DESIGN.md "Added
-- 2026-12-06", docs/atlassian.md):
--
--   classic          Basic email:api_token at the site (base_url)
--   scoped           Basic email:api_token at the API gateway,
--                    https://api.atlassian.com/ex/<jira|confluence>/<cloud_id>;
--                    the site answers 401 to such a token
--   service_account  Bearer api_key at the API gateway
--
-- base_url stays the site (links in results point there); api_url is where
-- requests go when it is set. cloud_id is what onboarding found at
-- <site>/_edge/tenant_info, kept so an operator can see where api_url
-- came from. No secret here: the key itself stays in Vault, shaped
-- {"email","api_token"} or, for a service account, {"api_key"}.
--
-- For an mcp integration (a tenant MCP server, or Atlassian's own Remote
-- MCP server) the kind picks the header the stored secret becomes:
-- classic with {"header","value"} as before, or Basic / Bearer for
-- Atlassian's API token / service-account key; api_url is not used.

alter table tenant_integrations
	add column cred_kind text not null default 'classic'
		check (cred_kind in ('classic', 'scoped', 'service_account')),
	add column cloud_id text
		check (cloud_id ~ '^[A-Za-z0-9-]{1,64}$'),
	add column api_url text
		check (api_url ~ '^https?://[^[:space:]]+$');

-- A gateway kind without its gateway URL could only send the key to the
-- site, which refuses it: say so at write time, not at the first call.
alter table tenant_integrations
	add constraint tenant_integrations_gateway_url check (
		kind = 'mcp' or cred_kind = 'classic' or api_url is not null);
