-- 005_registrar_flows: where a registered contact is reachable behind NAT (RFC 3261 §10.3, RFC 3581, RFC 5626
-- idea without outbound). Applied in one transaction by the migration runner; runs unchanged on PostgreSQL and PGlite.

-- Source port of the REGISTER (registrations.received already holds its source address): requests to the
-- contact go to received:received_port over `transport`, not to the private address written in Contact.
ALTER TABLE registrations ADD COLUMN received_port integer CHECK (received_port BETWEEN 1 AND 65535);
-- TCP/TLS: the connection the REGISTER arrived on, meaningful only on `instance_id` (the instance holding it).
ALTER TABLE registrations ADD COLUMN connection_id integer;
-- Contact as the UA sent it (display name and header parameters such as +sip.instance), echoed in 200 OK.
ALTER TABLE registrations ADD COLUMN contact_header text;
