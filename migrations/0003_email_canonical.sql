-- 0003_email_canonical: emails are compared exactly, in the one canonical
-- form of common/email.c (ASCII letters lower-cased, every other character
-- kept as it is and already in Unicode NFC), never through citext.
--
-- Why: citext compares lower() of both sides, which folds non-ASCII too:
-- 'alİce' (U+0130) and 'alice' were one user, and so were an address with
-- the Kelvin sign U+212A and the one with 'k'. With text columns, equality
-- is bytewise (the C collation is deterministic), and the check constraints
-- keep anything but the canonical form out, whoever writes the row.
--
-- Existing rows are lower-cased in their ASCII letters only. Two rows that
-- differed only in ASCII case cannot exist (citext kept them unique), but
-- rows that differed only in non-ASCII case now become two users: that is
-- the point, and the admin tool shows both.

create function tenantgate_email_canonical(e text) returns boolean
language sql immutable strict parallel safe as $$
	select octet_length(e) <= 254
	   and e ~ '^[^@]+@[^@]+$'
	   and e !~ '[[:cntrl:] ]'
	   and e !~ '[\u0080-\u009f\u00a0]'
	   and e = translate(e, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
	   and (e !~ '[^\u0001-\u007f]' or e is nfc normalized)
$$;

alter table users alter column email type text using
	translate(email::text, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
alter table users add constraint users_email_canonical
	check (tenantgate_email_canonical(email));

alter table user_revocations alter column email type text using
	translate(email::text, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
alter table user_revocations add constraint user_revocations_email_canonical
	check (tenantgate_email_canonical(email));
