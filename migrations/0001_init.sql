-- 0001_init: the tenantgate data model (docs: DESIGN.md "Data model").
-- Applied by tui/migrate.c inside one transaction together with its
-- schema_migrations row, so this file holds no BEGIN/COMMIT and does not
-- create schema_migrations itself. No table here holds a secret: tenant
-- credentials live in Vault, rows only name their path.

create extension if not exists citext;

create table tenants (
	id		text primary key
			check (id ~ '^[a-z][a-z0-9-]{1,30}$'),
	display_name	text not null default '',
	status		text not null default 'active'
			check (status in ('active', 'disabled')),
	created_at	timestamptz not null default now()
);

-- The principal is the verified email (or an IdP `sub` mapped to one).
create table users (
	id		bigserial primary key,
	email		citext not null unique,
	display_name	text not null default '',
	status		text not null default 'active'
			check (status in ('active', 'disabled')),
	created_at	timestamptz not null default now()
);

create table memberships (
	user_id		bigint not null references users (id) on delete cascade,
	tenant_id	text not null references tenants (id) on delete cascade,
	role		text not null
			check (role in ('viewer', 'editor', 'admin')),
	granted_by	text,
	granted_at	timestamptz not null default now(),
	primary key (user_id, tenant_id)
);
create index memberships_tenant_idx on memberships (tenant_id);

-- Optional: an IdP group claim grants a role in a tenant.
create table group_mappings (
	idp_group	text not null,
	tenant_id	text not null references tenants (id) on delete cascade,
	role		text not null
			check (role in ('viewer', 'editor', 'admin')),
	primary key (idp_group, tenant_id)
);
create index group_mappings_tenant_idx on group_mappings (tenant_id);

-- One row per tenant backend. `name` defaults to `kind` (trigger below),
-- so a tenant with one Jira needs no name; a second one needs its own.
create table tenant_integrations (
	tenant_id	text not null references tenants (id) on delete cascade,
	name		text not null
			check (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
	kind		text not null
			check (kind in ('jira', 'confluence', 'mcp')),
	base_url	text not null check (base_url ~ '^https?://'),
	vault_path	text not null check (vault_path <> ''),
	enabled_tools	text[],		-- NULL = every tool of the kind
	cred_version	integer not null default 0 check (cred_version >= 0),
	rotated_at	timestamptz,
	rotated_by	text,
	enabled		boolean not null default true,
	primary key (tenant_id, name)
);

create function tenant_integrations_default_name() returns trigger
language plpgsql as $$
begin
	if new.name is null then
		new.name := new.kind;
	end if;
	return new;
end
$$;

create trigger tenant_integrations_default_name
	before insert or update on tenant_integrations
	for each row execute function tenant_integrations_default_name();

-- Append-only. tenant_id has no foreign key: the audit outlives tenants.
create table audit_log (
	id		bigserial primary key,
	at		timestamptz not null default now(),
	actor		text not null,
	action		text not null,
	tenant_id	text,
	subject		text,
	detail		jsonb not null default '{}'
);
create index audit_log_at_idx on audit_log (at desc);
create index audit_log_tenant_at_idx on audit_log (tenant_id, at desc);
create index audit_log_actor_at_idx on audit_log (actor, at desc);

create function audit_log_append_only() returns trigger
language plpgsql as $$
begin
	raise exception 'audit_log is append-only (% refused)', tg_op
		using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_no_update_delete
	before update or delete on audit_log
	for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate
	before truncate on audit_log
	for each statement execute function audit_log_append_only();

-- A single grant revoked before it expires; rows past expires_at are purged.
create table revoked_grants (
	jti		text primary key,
	expires_at	timestamptz not null,
	revoked_at	timestamptz not null default now(),
	revoked_by	text
);
create index revoked_grants_expires_idx on revoked_grants (expires_at);

-- Every grant of this user issued before revoked_before is revoked.
create table user_revocations (
	email		citext primary key,
	revoked_before	timestamptz not null,
	revoked_by	text
);

-- Brokers cache memberships, integrations and revocations; this tells them
-- what changed: NOTIFY tenantgate_changes with
-- {"table":..,"op":..,"tenant":..,"email":..} (plus "jti" for revocations).
create function tenantgate_notify_change() returns trigger
language plpgsql as $$
declare
	r	jsonb;
	o	jsonb;
	v_email		text;
	v_oemail	text;
begin
	if tg_op = 'DELETE' then
		r := to_jsonb(old);
	else
		r := to_jsonb(new);
	end if;
	if tg_table_name = 'memberships' then
		select u.email into v_email from users u where u.id = (r->>'user_id')::bigint;
	else
		v_email := r->>'email';
	end if;
	perform pg_notify('tenantgate_changes', (jsonb_build_object(
		'table', tg_table_name,
		'op', tg_op,
		'tenant', case when tg_table_name = 'tenants' then r->>'id'
			else r->>'tenant_id' end,
		'email', v_email) ||
		case when r ? 'jti' then jsonb_build_object('jti', r->>'jti')
			else '{}'::jsonb end)::text);

	-- An update that moved a row to another tenant or user also changes
	-- what the old one may do.
	if tg_op = 'UPDATE' then
		o := to_jsonb(old);
		if tg_table_name = 'memberships' then
			select u.email into v_oemail from users u where u.id = (o->>'user_id')::bigint;
		else
			v_oemail := o->>'email';
		end if;
		if (o->>'tenant_id') is distinct from (r->>'tenant_id') or
		    (o->>'id') is distinct from (r->>'id') or
		    v_oemail is distinct from v_email then
			perform pg_notify('tenantgate_changes', jsonb_build_object(
				'table', tg_table_name,
				'op', tg_op,
				'tenant', case when tg_table_name = 'tenants' then o->>'id'
					else o->>'tenant_id' end,
				'email', v_oemail)::text);
		end if;
	end if;
	return null;
end
$$;

create trigger tenants_notify after insert or update or delete on tenants
	for each row execute function tenantgate_notify_change();
create trigger users_notify after insert or update or delete on users
	for each row execute function tenantgate_notify_change();
create trigger memberships_notify after insert or update or delete on memberships
	for each row execute function tenantgate_notify_change();
create trigger group_mappings_notify after insert or update or delete on group_mappings
	for each row execute function tenantgate_notify_change();
create trigger tenant_integrations_notify after insert or update or delete on tenant_integrations
	for each row execute function tenantgate_notify_change();
create trigger revoked_grants_notify after insert or update or delete on revoked_grants
	for each row execute function tenantgate_notify_change();
create trigger user_revocations_notify after insert or update or delete on user_revocations
	for each row execute function tenantgate_notify_change();
