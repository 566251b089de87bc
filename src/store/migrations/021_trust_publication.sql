-- The signed trust bundle, built and signed once per change of its content (finding 3). It used to be
-- signed again at every request, so its ETag never matched and every verifier downloaded it in full
-- every few minutes; ECDSA signatures differ each time, so processes behind one load balancer must
-- share the one they serve. A bundle is re-signed when its content changes, or when it has aged
-- enough that verifiers would keep too little of its validity.
CREATE TABLE trust_publication (
  -- SHA-256 of the bundle's content (trust list and revocation list), not of its signature
  content_hash text PRIMARY KEY,
  jws text NOT NULL,
  signed_at timestamptz NOT NULL
);
