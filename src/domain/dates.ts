/**
 * Bounds on the dates people type, where a date outside them can only be a typo (or an attack on
 * what reads it later): a pass for a birth year 1899 cannot be encoded at all (the EU DCC schema
 * takes birth years 1900–2099), and no SARS-CoV-2 test or vaccine existed before 2020.
 */
export const EARLIEST_BIRTH_DATE = '1900-01-01';

/** The virus was identified in January 2020: no test sample or dose can be older. */
export const PANDEMIC_START = '2020-01-01';
