-- The rapid antigen test a pharmacy used (pages issue, point 13): its code in the EU common list,
-- named on the test pass (DCC t.ma) instead of one demo device for every antigen test. Sealed like
-- the test type (a device code tells an antigen test). Results recorded before have none: their
-- antigen test passes are refused (device-unknown) rather than naming a device nobody chose.
ALTER TABLE test_result ADD COLUMN device_enc text;
