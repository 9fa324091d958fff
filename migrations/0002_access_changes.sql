-- 0002_access_changes: the change feed (docs/broker.md "Change feed").
-- Every write that can change who may do what in which tenant leaves one
-- row in access_changes and one NOTIFY tenantgate_changes, from the same
-- trigger; brokers serve the rows to forwarders at GET /v1/changes and
-- prune rows older than changes_retention (at least 1 hour).
--
-- Ordering: a forwarder resumes "after seq N", which is only safe if no
-- row with a smaller seq can become visible after a row with a larger one.
-- bigserial alone does not promise that (two transactions take 10 and 11,
-- 11 commits first). So the trigger takes a transaction-scoped advisory
-- lock before it takes a seq: writers that change access commit one at a
-- time, in seq order. Admin writes are rare; the cost is nothing.

create table access_changes (
	seq		bigserial primary key,
	at		timestamptz not null default now(),
	kind		text not null check (kind in ('membership', 'group_mapping',
			    'user', 'user_revoked', 'grant_revoked', 'tenant',
			    'integration')),
	user_email	text,
	tenant		text,
	integration	text,
	jti		text
);
create index access_changes_at_idx on access_changes (at);

-- One event: the row, then the wake-up for every broker (NOTIFY is sent at
-- commit, so a woken broker always finds the row). The payload keeps the
-- keys of 0001's notification (table, op, tenant, email, jti) for the
-- brokers' cache flushes, and adds seq and kind.
create function access_changes_add(p_kind text, p_user text, p_tenant text,
    p_integration text, p_jti text, p_table text, p_op text) returns void
language plpgsql as $$
declare
	v_seq	bigint;
begin
	perform pg_advisory_xact_lock(7342001);
	insert into access_changes (kind, user_email, tenant, integration, jti)
		values (p_kind, p_user, p_tenant, p_integration, p_jti)
		returning seq into v_seq;
	perform pg_notify('tenantgate_changes', jsonb_strip_nulls(jsonb_build_object(
		'seq', v_seq, 'kind', p_kind, 'table', p_table, 'op', p_op,
		'tenant', p_tenant, 'email', p_user, 'integration', p_integration,
		'jti', p_jti))::text);
end
$$;

-- The event(s) one row change makes: for an UPDATE that moved the row to
-- another user or tenant, the old owner's too (they lost something).
create function access_changes_record() returns trigger
language plpgsql as $$
declare
	r	jsonb;
	o	jsonb;
	rows	jsonb[];
	x	jsonb;
	v_email	text;
	v_kind	text;
	seen	text[] := '{}';
	k	text;
begin
	if tg_op = 'UPDATE' and old is not distinct from new then
		return null;
	end if;
	-- A purged revocation is past its grant's expiry: nothing to tell.
	if tg_table_name = 'revoked_grants' and tg_op = 'DELETE' then
		return null;
	end if;
	if tg_op = 'DELETE' then
		rows := array[to_jsonb(old)];
	elsif tg_op = 'UPDATE' then
		rows := array[to_jsonb(new), to_jsonb(old)];
	else
		rows := array[to_jsonb(new)];
	end if;
	foreach x in array rows loop
		v_email := null;
		case tg_table_name
		when 'memberships' then
			v_kind := 'membership';
			select u.email::text into v_email from users u
				where u.id = (x->>'user_id')::bigint;
			-- The user row is gone (a cascaded delete): its own
			-- 'user' event already covers every tenant.
			if v_email is null then
				continue;
			end if;
		when 'group_mappings' then v_kind := 'group_mapping';
		when 'users' then v_kind := 'user'; v_email := x->>'email';
		when 'user_revocations' then v_kind := 'user_revoked'; v_email := x->>'email';
		when 'revoked_grants' then v_kind := 'grant_revoked';
		when 'tenants' then v_kind := 'tenant';
		when 'tenant_integrations' then v_kind := 'integration';
		end case;
		k := concat_ws('|', v_email, coalesce(x->>'tenant_id', x->>'id'), x->>'name', x->>'jti');
		if k = any (seen) then
			continue;	-- an UPDATE that kept its owner: one event
		end if;
		seen := seen || k;
		perform access_changes_add(v_kind,
			case when tg_table_name in ('memberships', 'users', 'user_revocations')
				then translate(v_email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
				    'abcdefghijklmnopqrstuvwxyz') end,
			case when tg_table_name = 'tenants' then x->>'id'
				when tg_table_name in ('memberships', 'group_mappings',
				    'tenant_integrations') then x->>'tenant_id' end,
			case when tg_table_name = 'tenant_integrations' then x->>'name' end,
			case when tg_table_name = 'revoked_grants' then x->>'jti' end,
			tg_table_name, tg_op);
	end loop;
	return null;
end
$$;

-- 0001's triggers sent a bare NOTIFY; these send the same wake-up with
-- the event's seq, so they replace them.
drop trigger tenants_notify on tenants;
drop trigger users_notify on users;
drop trigger memberships_notify on memberships;
drop trigger group_mappings_notify on group_mappings;
drop trigger tenant_integrations_notify on tenant_integrations;
drop trigger revoked_grants_notify on revoked_grants;
drop trigger user_revocations_notify on user_revocations;
drop function tenantgate_notify_change();

create trigger tenants_changes after insert or update or delete on tenants
	for each row execute function access_changes_record();
create trigger users_changes after insert or update or delete on users
	for each row execute function access_changes_record();
create trigger memberships_changes after insert or update or delete on memberships
	for each row execute function access_changes_record();
create trigger group_mappings_changes after insert or update or delete on group_mappings
	for each row execute function access_changes_record();
create trigger tenant_integrations_changes after insert or update or delete on tenant_integrations
	for each row execute function access_changes_record();
create trigger revoked_grants_changes after insert or update or delete on revoked_grants
	for each row execute function access_changes_record();
create trigger user_revocations_changes after insert or update or delete on user_revocations
	for each row execute function access_changes_record();
